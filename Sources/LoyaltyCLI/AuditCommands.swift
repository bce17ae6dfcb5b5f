import ArgumentParser
import Glibc
import Foundation
import LedgerJSON
import LedgerStore
import LoyaltyAudit
import Projections
import LoyaltyDomain
import LoyaltyLedger

/// `text` as a time (nil stays nil); the error names the option.
private func optionalTime(_ text: String?, _ option: String) throws -> Timestamp? {
    guard let text else { return nil }
    guard let t = Timestamp(rfc3339: text) else { throw ValidationError("\(option): '\(text)' is not an RFC 3339 time or YYYY-MM-DD date") }
    return t
}

private func milliseconds(_ d: Duration) -> Int64 { d.components.seconds * 1_000 + d.components.attoseconds / 1_000_000_000_000_000 }

private func writeOut(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }

/// Writes `bytes` to standard output with write(2), without copying them into a `Data` first
/// (a fresh 1 MiB `Data` per flush cost a page fault per 4 KiB). Retries short writes and
/// EINTR; a closed pipe (EPIPE) ends the output silently, as `head` expects.
func writeStandardOutput(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let n = Glibc.write(1, buffer.baseAddress! + offset, buffer.count - offset)
            if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { return }
        }
    }
}

private func jsonLine(_ value: JSONValue) -> String { String(decoding: JSONCanonical.encode(value), as: UTF8.self) }

struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "Every event of a member in log order, with both times and the running balance.",
        discussion: "Reads the member's stream and the program stream only. Running figures after each event are evaluated at the latest business time of the member's events so far. JSON: one object per line (schemas/audit.md).")
    @OptionGroup var options: LedgerOptions
    @Argument var member: String
    @Option(help: "Only rows from this business time (earlier events still count in the figures).") var from: String?
    @Option(help: "Only rows up to this business time.") var to: String?
    @Option(help: "table or json") var format: OutputFormat = .table

    func run() throws {
        let (from, to) = (try optionalTime(from, "--from"), try optionalTime(to, "--to"))
        let log = try options.open(writable: false)
        defer { log.close() }
        // Rows are written straight into bytes (a 10,000-event history is ~4 MB of JSON; building
        // Strings or JSONValue trees per row was half of its time), decoding, folding and output
        // each on their own thread.
        let json = format == .json
        do {
            try History.write(member: member, log: log, from: from, to: to,
                              header: format == .table ? Array(HistoryRow.tableHeader.utf8) : [], flushBytes: Self.flushBytes, format: { r, out in
                if json {
                    r.writeJSON(into: &out)
                    out.append(0x0A)
                } else {
                    r.writeTableLine(into: &out)
                }
            }, flush: { writeStandardOutput($0) })
        } catch let e as AuditError { throw CLIError(e.description) }
        // The member's neutralised events (no fold applies them, so they have no row) and the
        // correcting events that neutralised them, after the rows.
        for (n, m) in try log.neutralisedPositions().sorted(by: { $0.key < $1.key }) {
            guard let correcting = try log.event(at: m), correcting.member == member else { continue }
            print(json ? jsonLine(NeutraliseText.json((position: n, by: m, data: correcting.data)))
                       : NeutraliseText.line((position: n, by: m, data: correcting.data)))
        }
    }

    static let flushBytes = 1 << 20
}

struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain", abstract: "Where a member's points came from and went: open lots, spending, returns, expiry, adjustments.")
    @OptionGroup var options: LedgerOptions
    @Argument var member: String
    @Option(help: "Evaluation time (default: now).") var at: String?
    @Option(help: "table or json") var format: OutputFormat = .table

    func run() throws {
        let t = try optionalTime(at, "--at") ?? .now()
        let log = try options.open(writable: false)
        defer { log.close() }
        let x: Explanation
        do { x = try Explanation.explain(member: member, log: log, at: t) } catch let e as AuditError { throw CLIError(e.description) }
        switch format {
        case .json: print(jsonLine(x.json))
        case .table: print(x.lines.joined(separator: "\n"))
        }
    }
}

/// `balance MEMBER --as-of T [--known-at T2]`: a view of the member's events (schemas/domain.md,
/// "Disputes: as-of and known-at").
func asOfBalance(member: String, log: EventLog, filter: ViewFilter, at t: Timestamp) throws -> (Balance?, [Exclusion]) {
    let view: AsOfView
    do { view = try AsOfView.load(member: member, log: log, filter: filter) } catch let e as AuditError { throw CLIError(e.description) }
    return (view.balance(at: t), view.exclusions)
}

/// Writes a JSON report; a file that cannot be written is an error, not a silent loss.
private func writeReport(_ value: JSONValue, to path: String) throws {
    guard FileManager.default.createFile(atPath: path, contents: Data(JSONCanonical.encode(value) + [0x0A])) else {
        throw CLIError("cannot write the report to \(path)")
    }
}

/// `reconcile-20261201T184800Z.json` for the current time.
private func defaultReportName(_ prefix: String) -> String {
    let compact = Timestamp.now().rfc3339.prefix(19).filter { $0 != "-" && $0 != ":" }
    return "\(prefix)-\(compact)Z.json"
}

struct ReconcileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile", abstract: "Check the balances against an independent fold of the log, or a purchase export against the ledger.",
        subcommands: [Balances.self, Purchases.self], defaultSubcommand: Balances.self)

    struct Balances: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "balances",
            abstract: "Replay the whole log with a deliberately simple fold and compare every member with the balances; exit 1 on any mismatch.",
            discussion: "Writes a JSON report (schemas/audit.md) and prints a summary. Checks, per member and program-wide: earned + transferredIn + adjusted - redeemed - expired - clawedBack - transferredOut = available + pending + held - debt.")
        @OptionGroup var options: LedgerOptions
        @Option(help: "The JSON report (default: reconcile-<time>.json).") var report: String?
        @Option(help: "Evaluation time (default: now).") var at: String?
        @Option(help: "Worker threads for the fold (members are partitioned among them).") var partitions = 2

        func validate() throws {
            guard (1...64).contains(partitions) else { throw ValidationError("--partitions must be 1 to 64") }
        }

        func run() throws {
            let t = try optionalTime(at, "--at") ?? .now()
            let clock = ContinuousClock()
            let start = clock.now
            // What is checked: the balances projection, caught up, as one consistent snapshot.
            let projections = try openProjections(options, names: [Projections.Balances.name])
            defer { projections.log.close() }
            let source = try ProjectionBalanceSource(projections, at: t)
            let opened = clock.now
            var result: ReconcileReport
            let fold: Reconciler.Fold
            do {
                (result, fold) = try Reconciler(evaluatedAt: t, partitions: partitions).runKeepingFold(log: projections.log, source: source)
            } catch let e as AuditError { throw CLIError(e.description) }
            // The projection stopped before an event it cannot apply: the fold went as far.
            result.faults += try projections.stops().filter { $0.projection == Projections.Balances.name }.map(\.description)
            result.neutralisations = try projections.log.neutralisedPositions().filter { $0.value <= result.headPosition }
                .sorted { $0.key < $1.key }.map { (position: $0.key, by: $0.value) }
            let folded = clock.now
            let path = report ?? defaultReportName("reconcile")
            try writeReport(result.json, to: path)
            print(result.summary().joined(separator: "\n"))
            print("report: \(path)")
            print("time: balance source ready in \(milliseconds(opened - start)) ms, independent fold and comparison in \(milliseconds(folded - opened)) ms")
            // The fold's millions of lots are not torn down one by one: the process ends here
            // (the log is closed first; `exit` flushes standard output).
            withExtendedLifetime(fold) { projections.log.close() }
            Foundation.exit(result.matched ? EXIT_SUCCESS : EXIT_FAILURE)
        }
    }

    struct Purchases: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "purchases", abstract: "Match a till or e-commerce export (the import's purchases CSV) against the ledger; exit 1 unless all match.",
            discussion: "Finds purchases missing from the ledger, ledger purchases missing from the export (within the export's period, or --from/--to), amount and field mismatches, points that disagree with the rules in force, returns without purchases, and bad lines (line number and reason).")
        @OptionGroup var options: LedgerOptions
        @Option(help: "The export: member_id,purchase_id,occurred_at,amount,currency,store_id") var source: String
        @Option(help: "The JSON report (default: reconcile-purchases-<time>.json).") var report: String?
        @Option(help: "Period start (default: the earliest purchase of the export).") var from: String?
        @Option(help: "Period end (default: the latest purchase of the export).") var to: String?

        func run() throws {
            let (from, to) = (try optionalTime(from, "--from"), try optionalTime(to, "--to"))
            let (purchases, bad) = try readExport()
            let log = try options.open(writable: false)
            defer { log.close() }
            var period: (from: Timestamp, to: Timestamp)?
            if from != nil || to != nil {
                let times = purchases.map(\.purchase.at)
                period = (from ?? times.min() ?? .init(microseconds: Int64.min), to ?? times.max() ?? .init(microseconds: Int64.max))
            }
            let result: PurchaseReconcileReport
            do { result = try PurchaseReconciler.run(source: purchases, badLines: bad, log: log, period: period) } catch let e as AuditError { throw CLIError(e.description) }
            let path = report ?? defaultReportName("reconcile-purchases")
            try writeReport(result.json, to: path)
            print("\(result.sourcePurchases) purchases in the export, \(result.ledgerPurchases) in the ledger in the period, \(result.matched) matched, \(result.pointsChecked) accruals recomputed")
            for f in result.findings.prefix(30) {
                print("\(f.kind.rawValue): \(f.purchaseId.isEmpty ? "" : "purchase \(f.purchaseId) ")\(f.line.map { "(line \($0)) " } ?? "")\(f.position.map { "(position \($0)) " } ?? "")\(f.detail)")
            }
            if result.findings.count > 30 { print("... \(result.findings.count - 30) more in the report") }
            print(result.allMatched ? "OK: all matched" : "MISMATCH: " + PurchaseFinding.Kind.allCases.filter { result.count($0) > 0 }.map { "\(result.count($0)) \($0.rawValue)" }.joined(separator: ", "))
            print("report: \(path)")
            if !result.allMatched { throw ExitCode.failure }
        }

        /// The export's purchases and its bad lines, with the import's own CSV parsing.
        func readExport() throws -> ([SourcePurchase], [(line: Int, reason: String)]) {
            let fd = open(source, O_RDONLY)
            guard fd >= 0 else { throw CLIError("cannot open \(source): \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            var reader = LineReader(fd: fd)
            var purchases: [SourcePurchase] = [], bad: [(line: Int, reason: String)] = []
            var lineNumber = 0
            while let read = try reader.nextLine() {
                lineNumber += 1
                guard case .bytes(let line) = read else {
                    if case .tooLong(let n) = read { bad.append((lineNumber, InputText.tooLongReason(byteCount: n))) }
                    continue
                }
                if lineNumber == 1 {
                    guard String(validating: line, as: UTF8.self).map({ CSV.split($0).map { $0.lowercased() } }) == ImportCommand.purchaseHeader else {
                        throw CLIError("\(source): line 1: expected the header \(ImportCommand.purchaseHeader.joined(separator: ","))")
                    }
                    continue
                }
                if InputText.isBlank(line) { continue }
                do { purchases.append(SourcePurchase(line: lineNumber, purchase: try ImportCommand.purchase(csvLine: line))) } catch { bad.append((lineNumber, "\(error)")) }
            }
            return (purchases, bad)
        }
    }
}

/// The balances projection as reconciliation's source: every member's figures at one time, read
/// with the projection's checkpoint in one transaction (a consistent snapshot).
struct ProjectionBalanceSource: BalanceSource {
    let checkpoint: UInt64
    let evaluatedAt: Timestamp
    let members: [String: MemberFigures]

    init(_ projections: LedgerProjections, at t: Timestamp) throws {
        var members: [String: MemberFigures] = [:]
        let checkpoint = try projections.store.snapshot(Projections.Balances.self) { member, record in
            members[member] = MemberFigures(record.balance(member, at: t))
        }
        guard let checkpoint else { throw CLIError("the balances projection is not built (run `loyalty projections catch-up`)") }
        (self.checkpoint, self.evaluatedAt, self.members) = (checkpoint, t, members)
    }

    func position() throws -> UInt64 { checkpoint }
    /// Members by id; an id too long to be a key (`ProjectionKey`) is found when the fold asks
    /// for it by its full id.
    func allMembers() throws -> [String] { members.keys.filter { !ProjectionKey.isHashed($0) } }

    func figures(member: String, at: Timestamp) throws -> MemberFigures? {
        guard at == evaluatedAt else { throw CLIError("the balances snapshot was evaluated at \(evaluatedAt.rfc3339), asked at \(at.rfc3339)") }
        return members[ProjectionKey.component(member)]
    }
}

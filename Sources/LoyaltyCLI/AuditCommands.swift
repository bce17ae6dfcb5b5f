import ArgumentParser
import Foundation
import LedgerJSON
import LedgerStore
import LoyaltyAudit
import LoyaltyDomain
import LoyaltyLedger
import Projections

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

struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "Every event of a member in log order, with both times and the running balance.",
        discussion: "Reads the member's stream and the program stream only. Running figures after each event are evaluated at the latest business time of the member's events so far. JSON: one object per line (schemas/audit.md).")
    @OptionGroup var options: LedgerOptions
    @OptionGroup var who: MemberArgument
    @Option(help: "Only rows from this business time (earlier events still count in the figures).", transform: TimeArgument.parse)
    var from: RequestedTime?
    @Option(help: "Only rows up to this business time.", transform: TimeArgument.parse) var to: RequestedTime?
    @Option(help: "table or json") var format: OutputFormat = .table

    func run() throws {
        let app = try options.open()
        defer { app.close() }
        let member = try who.resolveForLookup(app)
        let (from, to) = (try from.map { try app.resolve($0) }, try to.map { try app.resolve($0) })
        // Rows are written straight into bytes (a 10,000-event history is ~4 MB of JSON),
        // decoding, folding and output each on their own thread.
        let json = format == .json
        let neutralised = try app.history(member: member, from: from, to: to, header: format == .table ? Array(HistoryRow.tableHeader.utf8) : [],
                                          flushBytes: Self.flushBytes, format: { r, out in
            if json {
                r.writeJSON(into: &out)
                out.append(0x0A)
            } else {
                r.writeTableLine(into: &out)
            }
        }, flush: { writeStandardOutput($0) })
        // The member's neutralised events (no fold applies them, so they have no row) and the
        // correcting events that neutralised them, after the rows.
        for n in neutralised { print(json ? jsonLine(n.json) : n.line) }
    }

    static let flushBytes = 1 << 20
}

struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain", abstract: "Where a member's points came from and went: open lots, spending, returns, expiry, adjustments.")
    @OptionGroup var options: LedgerOptions
    @OptionGroup var who: MemberArgument
    @Option(help: "Evaluation time (default: now).", transform: TimeArgument.parse) var at: RequestedTime?
    @Option(help: "table or json") var format: OutputFormat = .table

    func run() throws {
        let app = try options.open()
        defer { app.close() }
        let member = try who.resolveForLookup(app)
        let x = try app.explain(member: member, at: try app.resolve(at))
        switch format {
        case .json: print(jsonLine(x.json))
        case .table: print(x.lines.joined(separator: "\n"))
        }
    }
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
        @Option(help: "Evaluation time (default: now).", transform: TimeArgument.parse) var at: RequestedTime?
        @Option(help: "Worker threads for the fold (members are partitioned among them).") var partitions = 2

        func validate() throws {
            guard (1...64).contains(partitions) else { throw ValidationError("--partitions must be 1 to 64") }
        }

        func run() throws {
            // What is checked: the balances projection, caught up, as one consistent snapshot.
            let app = try options.openCaughtUp([Projections.Balances.name], always: true)
            let outcome = try app.reconcile(at: try app.resolve(at), partitions: partitions)
            let path = report ?? defaultReportName("reconcile")
            try writeReport(outcome.report.json, to: path)
            print(outcome.report.summary().joined(separator: "\n"))
            print("report: \(path)")
            print("time: balance source ready in \(outcome.sourceMilliseconds) ms, independent fold and comparison in \(outcome.foldMilliseconds) ms")
            // The fold's millions of lots are not torn down one by one: the process ends here
            // (the log is closed first; `exit` flushes standard output).
            withExtendedLifetime(outcome) { app.close() }
            Foundation.exit(outcome.report.matched ? EXIT_SUCCESS : EXIT_FAILURE)
        }
    }

    struct Purchases: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "purchases", abstract: "Match a till or e-commerce export (the import's purchases CSV) against the ledger; exit 1 unless all match.",
            discussion: "Finds purchases missing from the ledger, ledger purchases missing from the export (within the export's period, or --from/--to), amount and field mismatches, points that disagree with the rules in force, returns without purchases, and bad lines (line number and reason).")
        @OptionGroup var options: LedgerOptions
        @Option(help: "The export: member_id,purchase_id,occurred_at,amount,currency,store_id") var source: String
        @Option(help: "The JSON report (default: reconcile-purchases-<time>.json).") var report: String?
        @Option(help: "Period start (default: the earliest purchase of the export).", transform: TimeArgument.parse) var from: RequestedTime?
        @Option(help: "Period end (default: the latest purchase of the export).", transform: TimeArgument.parse) var to: RequestedTime?

        func run() throws {
            let app = try options.open()
            defer { app.close() }
            let result = try app.reconcilePurchases(exportPath: source, from: try from.map { try app.resolve($0) }, to: try to.map { try app.resolve($0) })
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
    }
}

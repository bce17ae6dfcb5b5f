import ArgumentParser
import Foundation
import LedgerJSON
import LedgerStore
import LoyaltyAudit
import LoyaltyDomain
import LoyaltyLedger
import Projections

/// Output of data commands that also speak CSV and JSON Lines.
enum DataFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, csv, jsonl
}

/// What read-model commands share: the ledger, the evaluation time, the lifecycle thresholds.
struct ReadModelOptions: ParsableArguments {
    @OptionGroup var ledger: LedgerOptions
    @Option(name: .customLong("at"), help: "A time (RFC 3339 or YYYY-MM-DD; default: now). member show, members export: as of it, only the events that occurred by then (members, purchases, points), as `balance --as-of`. balance: the lots evaluated at it.")
    var at: String?
    @Option(help: "Days after the first purchase a member counts as new.") var newDays: Int64 = 90
    @Option(help: "Days without a purchase after which an active member is defecting.") var defectingDays: Int64 = 90
    @Option(help: "Days without a purchase after which a member is inactive.") var inactiveDays: Int64 = 365

    func validate() throws {
        guard newDays >= 0, defectingDays >= 0, inactiveDays >= defectingDays else {
            throw ValidationError("--new-days and --defecting-days must not be negative, and --inactive-days must be at least --defecting-days")
        }
    }

    var thresholds: LifecycleThresholds { LifecycleThresholds(newDays: newDays, defectingDays: defectingDays, inactiveDays: inactiveDays) }

    func time() throws -> Timestamp {
        guard let at else { return .now() }
        guard let t = Timestamp(rfc3339: at) else { throw ValidationError("--at: '\(at)' is not an RFC 3339 time or YYYY-MM-DD date") }
        return t
    }

    /// Opens the projections and brings them up to the log's head, saying on standard error how
    /// far behind they were (until `loyalty serve` keeps them current).
    func projections() throws -> LedgerProjections {
        try openProjections(ledger)
    }
}

/// Opens the log for reading and the projections beside it, and catches them up.
func openProjections(_ options: LedgerOptions, names: [String]? = nil) throws -> LedgerProjections {
    guard FileManager.default.fileExists(atPath: options.path + "/data.mdb") else {
        throw CLIError("no ledger at \(options.path): create one with `loyalty init --ledger \(options.path)`")
    }
    let projections = try LedgerProjections(log: try options.open(writable: false))
    let started = ContinuousClock.now
    let progress = TerminalProgress(verb: "catching up")
    var applied: [String: UInt64] = [:]
    do {
        applied = try projections.catchUp(names, progress: progress.report)
    } catch ProjectionError.stopped(let stops) {
        // The other projections, and every member but the stopped event's, still answer from
        // what was committed; commands that need the stopped state refuse (`refuseIfStopped`).
        progress.finish()
        for s in stops { printError("warning: \(s)") }
    }
    progress.finish()
    let behind = applied.values.max() ?? 0
    let ms = (ContinuousClock.now - started).components
    let elapsed = ms.seconds * 1000 + ms.attoseconds / 1_000_000_000_000_000
    printError("projections at position \(try projections.log.headPosition()): were \(behind) events behind, caught up in \(elapsed) ms")
    return projections
}

/// Refuses an answer that depends on a projection of `names` that stopped before an event it
/// cannot apply: any such stop for a whole-program answer (`member` nil), or one at the member's
/// own event (or an event whose member is unknown) for a member's answer.
func refuseIfStopped(_ projections: LedgerProjections, _ names: [String], member: String?) throws {
    for stop in try projections.stops() where names.contains(stop.projection) {
        if let member, !stop.member.isEmpty, stop.member != member { continue }
        throw CLIError("\(stop); this answer would leave it out (the log keeps the event; see `loyalty projections status`)")
    }
}

/// A one-line progress display on standard error, only when it is a terminal.
final class TerminalProgress: @unchecked Sendable {
    // @unchecked: used from the one thread that runs the command.
    let verb: String
    let isTerminal = isatty(2) == 1
    private var lastPrint = ContinuousClock.now
    private var printed = false

    init(verb: String) { self.verb = verb }

    var report: ProjectionProgress {
        { [self] name, done, total in
            guard isTerminal, ContinuousClock.now - lastPrint > .milliseconds(200) || done == total else { return }
            lastPrint = .now
            printed = true
            let pct = total == 0 ? 100 : done * 100 / total
            FileHandle.standardError.write(Data("\r\(verb) \(name): \(done) of \(total) events (\(pct)%)\u{1B}[K".utf8))
        }
    }

    func finish() {
        if printed { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

func printJSON(_ value: JSONValue) {
    print(String(decoding: JSONCanonical.encode(value), as: UTF8.self))
}

struct BalanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "balance", abstract: "A member's points, from the balances projection (or as of a time).",
        discussion: """
            --at T evaluates the member's lots at time T (which points are pending, expired or held then); it is not a replay of history up to T.
            --as-of T is: only the events whose business time is at or before T, evaluated at T (the balance at T as the ledger knows it now, late purchases included). --known-at T2 adds: only the events recorded by T2 (as the ledger knew it then). See schemas/domain.md.
            """)
    @OptionGroup var options: ReadModelOptions
    @Option(help: "table or json") var format: OutputFormat = .table
    @Argument var member: String
    @Option(name: .customLong("as-of"), help: "Business time: only events that occurred by then, evaluated then.") var asOf: String?
    @Option(name: .customLong("known-at"), help: "Ledger time: only events recorded by then.") var knownAt: String?

    func validate() throws {
        if asOf != nil && options.at != nil { throw ValidationError("--as-of and --at: give one (--as-of T is evaluated at T)") }
    }

    /// The current balance comes from the ledger's decision state (checkpointed at every
    /// writer's close: the open folds only what was written since, never the whole log). When
    /// the log holds an event the model cannot fold, from the balances projection, which stops
    /// only for the members such an event names. As of a time, from a fold of the member's own
    /// stream.
    func run() throws {
        if asOf != nil || knownAt != nil { return try print(balance: try historicalBalance()) }
        guard FileManager.default.fileExists(atPath: options.ledger.path + "/data.mdb") else {
            throw CLIError("no ledger at \(options.ledger.path): create one with `loyalty init --ledger \(options.ledger.path)`")
        }
        let ledger: Ledger
        do {
            ledger = try Ledger.open(path: options.ledger.path, writable: false)
        } catch is StoredEventError {
            return try print(balance: try projectedBalance())
        }
        defer { ledger.close() }
        guard let b = try ledger.balance(member, at: try options.time()) else { throw CLIError("unknown member '\(member)'") }
        try print(balance: b)
    }

    private func projectedBalance() throws -> Balance {
        let projections = try options.projections()
        try refuseIfStopped(projections, [Balances.name], member: member)
        guard let b = try projections.balance(member, at: try options.time()) else {
            guard try projections.memberView(member) != nil else { throw CLIError("unknown member '\(member)'") }
            return Balance(MemberState(member: member), at: try options.time())
        }
        return b
    }

    /// As of a business time (and known at a ledger time): a fold of the member's own stream.
    private func historicalBalance() throws -> Balance {
        func parse(_ text: String, _ option: String) throws -> Timestamp {
            guard let t = Timestamp(rfc3339: text) else { throw ValidationError("\(option): '\(text)' is not an RFC 3339 time or YYYY-MM-DD date") }
            return t
        }
        let filter = ViewFilter(asOf: try asOf.map { try parse($0, "--as-of") }, knownAt: try knownAt.map { try parse($0, "--known-at") })
        let log = try options.ledger.open(writable: false)
        defer { log.close() }
        let evaluatedAt = try filter.asOf ?? options.time()
        let (balance, exclusions) = try asOfBalance(member: member, log: log, filter: filter, at: evaluatedAt)
        for x in exclusions { printError("note: position \(x.position) is left out of this view: \(x.reason)") }
        if balance == nil { printError("note: member '\(member)' has no events in this view") }
        return balance ?? Balance(MemberState(member: member), at: evaluatedAt)
    }

    private func print(balance b: Balance) throws {
        switch format {
        case .json: printJSON(b.json)
        case .table:
            for (k, v) in [("available", b.available), ("pending", b.pending), ("held", b.held), ("debt", b.debt),
                           ("earned", b.earned), ("redeemed", b.redeemed), ("expired", b.expired), ("adjusted", b.adjusted),
                           ("clawed back", b.clawedBack), ("transferred in", b.transferredIn), ("transferred out", b.transferredOut)] {
                Swift.print(k.padding(toLength: 16, withPad: " ", startingAt: 0) + String(v))
            }
            for lot in b.lots {
                Swift.print("  lot \(lot.lotId): \(lot.remaining) of \(lot.points), available \(lot.availableAt.rfc3339), expires \(lot.expiresAt?.rfc3339 ?? "never")")
            }
        }
    }
}

/// The columns of a member view in CSV and table output (JSON has them all, and the profile).
let memberColumns = [
    "member", "enrolledAt", "enrollmentStore", "brand", "channel", "birthDate", "gender", "closed", "tier", "tierSince",
    "purchaseCount", "returnCount", "totalSpend", "firstPurchaseAt", "lastPurchaseAt", "lastActivityAt", "lifecycleStage",
    "available", "pending", "held", "debt", "earned", "redeemed", "expired", "adjusted", "clawedBack", "transferredIn", "transferredOut",
]
let memberTableColumns = ["member", "enrollmentStore", "tier", "purchaseCount", "totalSpend", "lastPurchaseAt", "lifecycleStage", "available", "pending", "debt"]

/// A scalar JSON value as plain text (CSV cells, table cells).
func plainText(_ v: JSONValue?) -> String {
    switch v {
    case .string(let s)?: return s
    case .integer(let i)?: return i
    case .bool(let b)?: return b ? "true" : "false"
    case .null?, nil: return ""
    case let other?: return String(decoding: JSONCanonical.encode(other), as: UTF8.self)
    }
}

/// A member view as one CSV line, in `memberColumns` order.
func csvRow(_ json: JSONValue) -> String {
    memberColumns.map { CSVCell.json(json[$0]) }.joined(separator: ",")
}

struct MemberCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "member", abstract: "Member views.", subcommands: [Show.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One member's view: profile, tier, purchases, lifecycle stage and balance.")
        @OptionGroup var options: ReadModelOptions
        @Option(help: "table, json or csv") var format: DataFormat = .table
        @Flag(help: "CSV for Excel: starts with a UTF-8 byte order mark.") var excel = false
        @Argument var member: String

        func run() throws {
            let t = try options.time()
            let json: JSONValue
            if options.at != nil {
                // As of a time: a fold of the member's events that occurred by then.
                let log = try options.ledger.open(writable: false)
                defer { log.close() }
                let views = try AsOfViews.fold(log, asOf: t, member: member)
                for x in views.exclusions { printError("note: position \(x.position) is left out of this view: \(x.reason)") }
                guard let view = views.view(member) else { throw CLIError("unknown member '\(member)' at \(t.rfc3339) (no events by then)") }
                json = view.json(member: member, balance: views.balance(member), at: t, thresholds: options.thresholds)
            } else {
                let projections = try options.projections()
                try refuseIfStopped(projections, [MemberViews.name, Balances.name], member: member)
                guard let view = try projections.memberView(member) else { throw CLIError("unknown member '\(member)'") }
                json = view.json(member: member, balance: try projections.balance(member, at: t), at: t, thresholds: options.thresholds)
            }
            switch format {
            case .json, .jsonl: printJSON(json)
            case .csv:
                print((excel ? CSVCell.excelByteOrderMark : "") + memberColumns.joined(separator: ","))
                print(csvRow(json))
            case .table:
                for c in memberColumns { print(c.padding(toLength: 18, withPad: " ", startingAt: 0) + plainText(json[c])) }
                if case .object(let profile)? = json["profile"], !profile.isEmpty {
                    print("profile".padding(toLength: 18, withPad: " ", startingAt: 0) + profile.map { "\($0.key)=\(plainText($0.value))" }.joined(separator: " "))
                }
            }
        }
    }
}

struct MembersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "members", abstract: "Every member's view.", subcommands: [Export.self])

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Export member views (segments: filter by stage, store, tier).")
        @OptionGroup var options: ReadModelOptions
        @Option(help: "table, json (an array), jsonl (one object a line) or csv") var format: DataFormat = .table
        @Flag(help: "CSV for Excel: starts with a UTF-8 byte order mark.") var excel = false
        @Option(help: "Only members in this lifecycle stage (lead, new, active, defecting, inactive).") var stage: String?
        @Option(help: "Only members enrolled at this store.") var store: String?
        @Option(help: "Only members in this tier.") var tier: String?

        func validate() throws {
            if let stage, !["lead", "new", "active", "defecting", "inactive"].contains(stage) {
                throw ValidationError("--stage: '\(stage)' is not one of lead, new, active, defecting, inactive")
            }
        }

        func run() throws {
            let t = try options.time()
            var out = OutputBuffer()
            var first = true
            switch format {
            case .csv: out.line((excel ? CSVCell.excelByteOrderMark : "") + memberColumns.joined(separator: ","))
            case .table: out.line(memberTableColumns.map { $0.padding(toLength: 16, withPad: " ", startingAt: 0) }.joined())
            case .json: out.write("[")
            case .jsonl: break
            }
            var count = 0
            try forEachMember(at: t) { member, view, balance in
                if let store, view.enrollmentStore != store { return }
                if let tier, view.tier != tier { return }
                if let stage, view.stage(at: t, options.thresholds) != stage { return }
                let json = view.json(member: member, balance: balance, at: t, thresholds: options.thresholds)
                count += 1
                switch format {
                case .csv: out.line(csvRow(json))
                case .table: out.line(memberTableColumns.map { plainText(json[$0]).padding(toLength: 16, withPad: " ", startingAt: 0) }.joined())
                case .jsonl: out.line(String(decoding: JSONCanonical.encode(json), as: UTF8.self))
                case .json:
                    out.write((first ? "\n" : ",\n") + String(decoding: JSONCanonical.encode(json), as: UTF8.self))
                    first = false
                }
            }
            if format == .json { out.line("\n]") }
            out.flush()
            printError("\(count) members")
        }

        /// Every member view with its balance: as of `--at` (a fold of the events that occurred by
        /// then), else from the projections now.
        private func forEachMember(at t: Timestamp, _ body: (String, MemberView, Balance?) throws -> Void) throws {
            guard options.at != nil else {
                let projections = try options.projections()
                try refuseIfStopped(projections, [MemberViews.name, Balances.name], member: nil)
                return try projections.forEachMember(at: t, body)
            }
            let log = try options.ledger.open(writable: false)
            defer { log.close() }
            let views = try AsOfViews.fold(log, asOf: t)
            for x in views.exclusions { printError("note: position \(x.position) is left out of this view: \(x.reason)") }
            for (member, view) in views.views.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
                try body(member, view, views.balance(member))
            }
        }
    }
}

/// Buffers standard output in large writes (an export prints a line per member).
struct OutputBuffer {
    private var text = ""
    mutating func write(_ s: String) {
        text += s
        if text.utf8.count > 1 << 16 { flush() }
    }
    mutating func line(_ s: String) { write(s + "\n") }
    mutating func flush() {
        FileHandle.standardOutput.write(Data(text.utf8))
        text = ""
    }
}

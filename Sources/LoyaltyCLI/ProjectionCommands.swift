import ArgumentParser
import Foundation
import LedgerJSON
import LoyaltyAudit
import LoyaltyDomain
import LoyaltyLedger
import Projections

/// What read-model commands share: the ledger, the evaluation time, the lifecycle thresholds.
struct ReadModelOptions: ParsableArguments {
    @OptionGroup var ledger: LedgerOptions
    @Option(name: .customLong("at"), help: "A time (RFC 3339, or YYYY-MM-DD: local midnight in the program's time zone; default: now). member show, members export: as of it, only the events that occurred by then (members, purchases, points), as `balance --as-of`. balance: the lots evaluated at it.",
            transform: TimeArgument.parse)
    var at: RequestedTime?
    @Option(help: "Days after the first purchase a member counts as new.") var newDays: Int64 = 90
    @Option(help: "Days without a purchase after which an active member is defecting.") var defectingDays: Int64 = 90
    @Option(help: "Days without a purchase after which a member is inactive.") var inactiveDays: Int64 = 365

    func validate() throws {
        guard newDays >= 0, defectingDays >= 0, inactiveDays >= defectingDays else {
            throw ValidationError("--new-days and --defecting-days must not be negative, and --inactive-days must be at least --defecting-days")
        }
    }

    var thresholds: LifecycleThresholds { LifecycleThresholds(newDays: newDays, defectingDays: defectingDays, inactiveDays: inactiveDays) }
}

/// Prints what a fold at a time left out.
func printExclusions(_ exclusions: [ExcludedEvent]) {
    for x in exclusions { printError("note: position \(x.position) is left out of this view: \(x.reason)") }
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
    @OptionGroup var who: MemberArgument
    @Option(name: .customLong("as-of"), help: "Business time: only events that occurred by then, evaluated then.", transform: TimeArgument.parse)
    var asOf: RequestedTime?
    @Option(name: .customLong("known-at"), help: "Ledger time: only events recorded by then.", transform: TimeArgument.parse)
    var knownAt: RequestedTime?

    func validate() throws {
        if asOf != nil && options.at != nil { throw ValidationError("--as-of and --at: give one (--as-of T is evaluated at T)") }
    }

    func run() throws {
        let balance: Balance
        if asOf != nil || knownAt != nil {
            let app = try options.ledger.open()
            defer { app.close() }
            let member = try who.resolveForLookup(app)
            let filter = ViewFilter(asOf: try asOf.map { try app.resolve($0) }, knownAt: try knownAt.map { try app.resolve($0) })
            let folded = try app.historicalBalance(member: member, filter: filter, at: try filter.asOf ?? app.resolve(options.at))
            printExclusions(folded.exclusions)
            if !folded.value.hasEvents { printError("note: member '\(member)' has no events in this view") }
            balance = folded.value.balance
        } else {
            // From the decision state: no projection catch-up on this path.
            let app = try options.ledger.open()
            defer { app.close() }
            let member = try who.resolveForLookup(app)
            balance = try app.balance(member: member, at: try app.resolve(options.at))
        }
        switch format {
        case .json: printJSON(balance.json)
        case .table:
            printPairs([("available", balance.available), ("pending", balance.pending), ("held", balance.held), ("debt", balance.debt),
                        ("earned", balance.earned), ("redeemed", balance.redeemed), ("expired", balance.expired), ("adjusted", balance.adjusted),
                        ("clawed back", balance.clawedBack), ("transferred in", balance.transferredIn),
                        ("transferred out", balance.transferredOut)].map { ($0.0, String($0.1)) }, width: 16)
            for lot in balance.lots {
                print("  lot \(lot.lotId): \(lot.remaining) of \(lot.points), available \(lot.availableAt.rfc3339), expires \(lot.expiresAt?.rfc3339 ?? "never")")
            }
        }
    }
}

struct MemberCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "member", abstract: "Member views.", subcommands: [Show.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One member's view: profile, tier, purchases, lifecycle stage and balance.")
        @OptionGroup var options: ReadModelOptions
        @Option(help: "table, json or csv") var format: DataFormat = .table
        @Flag(help: "CSV for Excel: starts with a UTF-8 byte order mark.") var excel = false
        @OptionGroup var who: MemberArgument

        func run() throws {
            let record: MemberRecord
            if let at = options.at {
                // As of a time: a fold of the member's events that occurred by then.
                let app = try options.ledger.open()
                defer { app.close() }
                let member = try who.resolveForLookup(app)
                let folded = try app.member(member, asOf: try app.resolve(at), thresholds: options.thresholds)
                printExclusions(folded.exclusions)
                record = folded.value
            } else {
                let app = try options.ledger.openCaughtUp([MemberViews.name, Balances.name])
                defer { app.close() }
                let member = try who.resolveForLookup(app)
                record = try app.member(member, at: .now(), thresholds: options.thresholds)
            }
            let json = record.json
            switch format {
            case .json, .jsonl: printJSON(json)
            case .csv:
                print((excel ? CSVCell.excelByteOrderMark : "") + MemberColumns.csv.joined(separator: ","))
                print(MemberColumns.csvRow(json))
            case .table:
                var rows = MemberColumns.csv.map { ($0, plainText(json[$0])) }
                if case .object(let profile)? = json["profile"], !profile.isEmpty {
                    rows.append(("profile", profile.map { "\($0.key)=\(plainText($0.value))" }.joined(separator: " ")))
                }
                printPairs(rows, width: 18)
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
        @Option(help: "Only members in this lifecycle stage (\(MemberFilter.stages.joined(separator: ", "))).") var stage: String?
        @Option(help: "Only members enrolled at this store.") var store: String?
        @Option(help: "Only members in this tier (one the program's rules name).") var tier: String?

        func validate() throws {
            if let stage, !MemberFilter.stages.contains(stage) {
                throw ValidationError("--stage: '\(stage)' is not a lifecycle stage (stages: \(MemberFilter.stages.joined(separator: ", ")))")
            }
        }

        func run() throws {
            let asOf = options.at != nil
            let app = try asOf ? options.ledger.open() : options.ledger.openCaughtUp([MemberViews.name, Balances.name])
            defer { app.close() }
            let t = try app.resolve(options.at)
            let filter = MemberFilter(stage: stage, store: store, tier: tier)
            do { try app.validate(filter, at: t) } catch let e as ApplicationError {
                throw CLIError("--tier: \(e.description)")
            }
            var out = OutputBuffer()
            var first = true
            switch format {
            case .csv: out.line((excel ? CSVCell.excelByteOrderMark : "") + MemberColumns.csv.joined(separator: ","))
            case .table: out.line(MemberColumns.table.map { $0.padding(toLength: 16, withPad: " ", startingAt: 0) }.joined())
            case .json: out.write("[")
            case .jsonl: break
            }
            var count = 0
            let exclusions = try app.members(filter, at: t, asOf: asOf, thresholds: options.thresholds) { record in
                let json = record.json
                count += 1
                switch format {
                case .csv: out.line(MemberColumns.csvRow(json))
                case .table: out.line(MemberColumns.table.map { plainText(json[$0]).padding(toLength: 16, withPad: " ", startingAt: 0) }.joined())
                case .jsonl: out.line(jsonLine(json))
                case .json:
                    out.write((first ? "\n" : ",\n") + jsonLine(json))
                    first = false
                }
            }
            printExclusions(exclusions)
            if format == .json { out.line("\n]") }
            out.flush()
            printError("\(count) members")
        }
    }
}

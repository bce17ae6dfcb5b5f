import ArgumentParser
import Foundation
import LedgerJSON
import LedgerStore
import LoyaltyDomain
import LoyaltyAudit
import LoyaltyLedger

/// Options every domain command shares: the ledger and the business time.
struct DomainOptions: ParsableArguments {
    @OptionGroup var ledger: LedgerOptions
    @Option(name: .customLong("at"), help: "Business time (RFC 3339, or YYYY-MM-DD: local midnight in the program's time zone; default: now).",
            transform: TimeArgument.parse)
    var at: RequestedTime?
    @Option(help: "table or json") var format: OutputFormat = .table
    @Flag(name: .customLong("allow-future"), help: "Accept a business time more than the program's futureToleranceSeconds after now.")
    var allowFuture = false

    /// Opens the ledger for writing, builds the command (resolving its times against the
    /// program), carries it out and prints what it did.
    func run(_ command: (LedgerApplication) throws -> Command) async throws {
        let app = try ledger.open(writable: true)
        defer { app.close() }
        let outcome = try await CommandRun.execute(app, try command(app), allowFuture: allowFuture)
        CommandRun.print(outcome, format: format)
    }
}

/// Carrying out one command and printing its outcome, for every command that writes.
enum CommandRun {
    static func execute(_ app: LedgerApplication, _ command: Command, allowFuture: Bool) async throws -> CommandOutcome {
        do {
            return try await app.ledger.execute(command, allowFuture: allowFuture)
        } catch let error as DomainError {
            throw CLIError("refused: \(RefusalText.describe(error))")
        }
    }

    static func print(_ outcome: CommandOutcome, format: OutputFormat) {
        switch format {
        case .json:
            let events: [JSONValue] = outcome.events.map { .object(["position": .int(Int64($0.position)), "type": .string($0.event.type), "data": $0.event.json]) }
            printJSON(.object(["replayed": .bool(outcome.replayed), "originalPosition": outcome.originalPosition.map { .int(Int64($0)) },
                               "events": .array(events)]))
        case .table:
            if outcome.replayed {
                Swift.print("already done: the same command was carried out before (position \(outcome.originalPosition ?? 0)); nothing written")
            } else if outcome.events.isEmpty {
                Swift.print("nothing to do")
            } else {
                for (position, event) in outcome.events { Swift.print(readable(position, event)) }
            }
        }
    }

    /// "position 5  points.earned  member M1, points 42, ...": the event's fields as text (nested
    /// values as JSON), or for published rules the facts a person checks.
    static func readable(_ position: UInt64, _ event: DomainEvent) -> String {
        if case .programPublished(let rules) = event {
            return "position \(position)  program.published  version \(rules.version): currency \(rules.currency), time zone \(rules.timeZone), "
                + "\(rules.tiers.count) tier(s), \(rules.campaigns.count) campaign(s)"
        }
        guard case .object(let fields) = event.json else { return "position \(position)  \(event.type)" }
        let text = fields.map { key, value -> String in
            switch value {
            case .string, .integer, .bool, .null: return "\(key) \(plainText(value))"
            default: return "\(key) \(jsonLine(value))"
            }
        }
        return "position \(position)  \(event.type)  " + text.joined(separator: ", ")
    }
}

/// Every time argument: RFC 3339, or a date `YYYY-MM-DD` meaning local midnight in the program's
/// time zone (`RequestedTime`, resolved by `LedgerApplication.resolve`).
enum TimeArgument {
    static func parse(_ text: String) throws -> RequestedTime {
        guard let time = RequestedTime(text) else {
            throw ValidationError("'\(text)' is not an RFC 3339 time (2026-11-03T10:15:00Z) or a date (2026-11-03)")
        }
        return time
    }

    /// A local date `YYYY-MM-DD` (figures' days).
    static func date(_ text: String) throws -> String {
        guard text.utf8.count == 10, case .date? = RequestedTime(text) else { throw ValidationError("'\(text)' is not a date (YYYY-MM-DD)") }
        return text
    }
}

/// A whole number of points as written canonically, as in JSON: no `+`, no leading zeros, no
/// `-0` (one value, one spelling: the ledger records what the operator typed as that value).
func parsePoints(_ text: String, _ name: String) throws -> Points {
    guard let n = Int64(text) else { throw ValidationError("\(name): '\(text)' is not a whole number of points") }
    guard String(n) == text else {
        throw ValidationError("\(name): '\(text)' is not a whole number written plainly (no '+', no leading zeros, no '-0'); did you mean \(n)?")
    }
    return n
}

struct ProgramCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "program", abstract: "Publish or show the program rules.",
                                                    subcommands: [Publish.self, Show.self])

    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Publish a rules document (schemas/program-rules.schema.json), effective --at.")
        @OptionGroup var options: DomainOptions
        @Argument(help: "The rules JSON file.") var file: String

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read \(file)") }
            try await options.run { app in
                let at = try app.resolve(options.at)
                let (rules, note): (ProgramRules, String?)
                do { (rules, note) = try LedgerApplication.rules(document: [UInt8](data), effectiveAt: at) } catch { throw CLIError("\(file): \(error)") }
                if let note { printError("note: \(note)") }
                return .publishProgram(rules, at: at)
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the rules in force at --at.")
        @OptionGroup var options: DomainOptions
        func run() throws {
            let app = try options.ledger.open()
            defer { app.close() }
            printJSON(try app.programRules(at: try app.resolve(options.at)).json)
        }
    }
}

struct EnrollCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "enroll", abstract: "Enroll a member.")
    @OptionGroup var options: DomainOptions
    @Argument var member: String
    @Option var store: String
    @Option var brand = "main"
    @Option var channel = "store"
    @Option(name: .customLong("birth-date")) var birthDate: String?
    @Option var gender: String?
    func run() async throws {
        try await options.run { app in .enroll(member: member, store: store, brand: brand, channel: channel, birthDate: birthDate,
                                      gender: gender, profile: [:], at: try app.resolve(options.at)) }
    }
}

struct PurchaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "purchase", abstract: "Record a purchase (and its points).")
    @OptionGroup var options: DomainOptions
    @OptionGroup var who: MemberArgument
    @Option(name: .customLong("id")) var purchaseId: String
    @Option(help: "Decimal amount, e.g. 12.50") var amount: String
    @Option var store: String
    @Option var currency: String?
    @Option(name: .customLong("paid-with-points"), help: "Decimal part paid with points (earns nothing).") var paidWithPoints: String?
    @Option(name: .customLong("line"), help: "category=amount (repeatable)") var lines: [String] = []
    func run() async throws {
        let parsed = try lines.map { line -> (category: String, amount: String) in
            let parts = line.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { throw ValidationError("--line '\(line)' must be category=amount") }
            return (String(parts[0]), String(parts[1]))
        }
        try await options.run { app in .purchase(.init(member: try who.resolve(app), purchaseId: purchaseId, amount: amount, currency: currency, store: store,
                                              lines: parsed, paidWithPoints: paidWithPoints, at: try app.resolve(options.at))) }
    }
}

struct ReturnCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "return", abstract: "Return a purchase (fully, or --amount of it).")
    @OptionGroup var options: DomainOptions
    @Argument var purchaseId: String
    @Option(name: .customLong("id")) var returnId: String
    @Option var amount: String?
    func run() async throws {
        try await options.run { app in .returnPurchase(purchaseId: purchaseId, returnId: returnId, amount: amount, at: try app.resolve(options.at)) }
    }
}

struct RedeemCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "redeem", abstract: "Redeem points (or a reward).")
    @OptionGroup var options: DomainOptions
    @OptionGroup var who: MemberArgument
    @Option var points: String?
    @Option(name: .customLong("id")) var redemptionId: String
    @Option var reward: String?
    func run() async throws {
        try await options.run { app in .redeem(member: try who.resolve(app), points: try points.map { try parsePoints($0, "--points") },
                                      redemptionId: redemptionId, reward: reward, at: try app.resolve(options.at)) }
    }
}

struct ReverseRedemptionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reverse-redemption", abstract: "Reverse a redemption (restores its lots).")
    @OptionGroup var options: DomainOptions
    @Argument var redemptionId: String
    func run() async throws { try await options.run { app in .reverseRedemption(redemptionId: redemptionId, at: try app.resolve(options.at)) } }
}

struct AdjustCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "adjust", abstract: "Adjust a balance (signed points).")
    @OptionGroup var options: DomainOptions
    @OptionGroup var who: MemberArgument
    @Option(parsing: .unconditional) var points: String
    @Option var reason: String
    @Option(name: .customLong("id")) var key: String
    @Option(name: .customLong("operator")) var operatorId = ProcessInfo.processInfo.environment["USER"] ?? "unknown"
    func run() async throws {
        try await options.run { app in .adjust(member: try who.resolve(app), points: try parsePoints(points, "--points"), reason: reason,
                                      operatorId: operatorId, key: key, at: try app.resolve(options.at)) }
    }
}

struct TransferCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "transfer", abstract: "Transfer points between members.")
    @OptionGroup var options: DomainOptions
    @Argument(help: "The sending member (or give --from-card).") var from: String?
    @Argument(help: "The receiving member (or give --to-card).") var to: String?
    @Option(name: .customLong("from-card"), help: "The sender's card number instead of its id.") var fromCard: String?
    @Option(name: .customLong("to-card"), help: "The receiver's card number instead of its id.") var toCard: String?
    @Option var points: String
    @Option(name: .customLong("id")) var key: String
    func run() async throws {
        // Positional ids fill the sender first: with --from-card, a single id is the receiver.
        let (fromId, toId) = fromCard != nil && to == nil ? (nil, from) : (from, to)
        try await options.run { app in
            .transfer(from: try MemberArgument.resolve(member: fromId, card: fromCard, app, what: "sending member"),
                      to: try MemberArgument.resolve(member: toId, card: toCard, app, what: "receiving member"),
                      points: try parsePoints(points, "--points"), key: key, at: try app.resolve(options.at))
        }
    }
}

struct HoldCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hold", abstract: "Hold points until a time.")
    @OptionGroup var options: DomainOptions
    @OptionGroup var who: MemberArgument
    @Option var points: String
    @Option(name: .customLong("id")) var holdId: String
    @Option(help: "When the hold lapses (RFC 3339, or YYYY-MM-DD).", transform: TimeArgument.parse) var until: RequestedTime
    func run() async throws {
        try await options.run { app in .hold(member: try who.resolve(app), points: try parsePoints(points, "--points"), holdId: holdId,
                                    expiresAt: try app.resolve(until), at: try app.resolve(options.at)) }
    }
}

struct ReleaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "release", abstract: "Release a hold.")
    @OptionGroup var options: DomainOptions
    @Argument var holdId: String
    func run() async throws { try await options.run { app in .release(holdId: holdId, at: try app.resolve(options.at)) } }
}

struct RewardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reward", abstract: "Rewards catalogue.", subcommands: [Define.self])
    struct Define: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Define or update a reward.")
        @OptionGroup var options: DomainOptions
        @Argument var rewardId: String
        @Option var name: String?
        @Option var cost: String
        @Option var stock: Int64?
        @Option(help: "Total points that may be spent on it.") var budget: Int64?
        func run() async throws {
            try await options.run { app in .defineReward(rewardId: rewardId, name: name ?? rewardId, cost: try parsePoints(cost, "--cost"),
                                                stock: stock, budget: budget, at: try app.resolve(options.at)) }
        }
    }
}

struct ExpireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "expire", abstract: "Write an expiry event per lot past its expiry.")
    @OptionGroup var options: DomainOptions
    @Option(name: .customLong("as-of"), help: "Expire what is past its expiry at this time (default: --at, or now).", transform: TimeArgument.parse)
    var asOf: RequestedTime?
    func run() async throws {
        try await options.run { app in .expire(asOf: try app.resolve(asOf ?? options.at)) }
    }
}

struct TiersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tiers", abstract: "Tier evaluation.", subcommands: [Evaluate.self])
    struct Evaluate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Upgrade and downgrade tiers as of a time.")
        @OptionGroup var options: DomainOptions
        @Option(name: .customLong("as-of"), help: "Evaluate tiers as of this time (default: --at, or now).", transform: TimeArgument.parse)
        var asOf: RequestedTime?
        func run() async throws {
            try await options.run { app in .evaluateTiers(asOf: try app.resolve(asOf ?? options.at)) }
        }
    }
}

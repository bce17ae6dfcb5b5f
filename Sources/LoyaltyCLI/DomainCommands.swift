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
    @Option(name: .customLong("at"), help: "Business time (RFC 3339 or YYYY-MM-DD; default: now).")
    var at: String?
    @Option(help: "table or json") var format: OutputFormat = .table
    @Flag(name: .customLong("allow-future"), help: "Accept a business time more than the program's futureToleranceSeconds after now.")
    var allowFuture = false

    func time() throws -> Timestamp { try parseTime(at, option: "--at") }

    /// `text` as a time (nil: now); the error names the option.
    func parseTime(_ text: String?, option: String) throws -> Timestamp {
        guard let text else { return .now() }
        guard let t = Timestamp(rfc3339: text) else { throw ValidationError("\(option): '\(text)' is not an RFC 3339 time or YYYY-MM-DD date") }
        return t
    }

    /// Opens an existing ledger: only `loyalty init` creates one, so a mistyped `--ledger` fails
    /// naming the path instead of starting an empty ledger there.
    func open(writable: Bool = true) throws -> Ledger {
        try Ledger.open(path: ledger.path, create: false, writable: writable) { o in
            o.writerLockWaitMilliseconds = ledger.waitForWriter * 1000
        }
    }

    /// Runs one command and prints what it did.
    func run(_ command: Command) async throws {
        let ledger = try open()
        defer { ledger.close() }
        let outcome: CommandOutcome
        do {
            outcome = try await ledger.execute(command, allowFuture: allowFuture)
        } catch let error as DomainError {
            throw CLIError("refused: \(error)")
        }
        switch format {
        case .json:
            let events: [JSONValue] = outcome.events.map { .object(["position": .int(Int64($0.position)), "type": .string($0.event.type), "data": $0.event.json]) }
            print(String(decoding: JSONCanonical.encode(.object([
                "replayed": .bool(outcome.replayed), "originalPosition": outcome.originalPosition.map { .int(Int64($0)) },
                "events": .array(events)])), as: UTF8.self))
        case .table:
            if outcome.replayed {
                print("already done: the same command was carried out before (position \(outcome.originalPosition ?? 0)); nothing written")
            } else if outcome.events.isEmpty {
                print("nothing to do")
            } else {
                for (position, event) in outcome.events {
                    print("\(position)  \(event.type)  \(String(decoding: JSONCanonical.encode(event.json), as: UTF8.self))")
                }
            }
        }
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
            let rules: ProgramRules
            do {
                rules = try ProgramRules(json: try JSONCanonical.parse(utf8: Array([UInt8](data).trimmingPrefix(InputText.byteOrderMark))))
            } catch {
                throw CLIError("\(file): \(error)")
            }
            try await options.run(.publishProgram(rules, at: try options.time()))
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the rules in force at --at.")
        @OptionGroup var options: DomainOptions
        func run() throws {
            let ledger = try options.open(writable: false)
            print(String(decoding: JSONCanonical.encode(try ledger.rules(at: try options.time()).json), as: UTF8.self))
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
        try await options.run(.enroll(member: member, store: store, brand: brand, channel: channel, birthDate: birthDate,
                                      gender: gender, profile: [:], at: try options.time()))
    }
}

struct PurchaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "purchase", abstract: "Record a purchase (and its points).")
    @OptionGroup var options: DomainOptions
    @Argument var member: String
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
        try await options.run(.purchase(.init(member: member, purchaseId: purchaseId, amount: amount, currency: currency, store: store,
                                              lines: parsed, paidWithPoints: paidWithPoints, at: try options.time())))
    }
}

struct ReturnCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "return", abstract: "Return a purchase (fully, or --amount of it).")
    @OptionGroup var options: DomainOptions
    @Argument var purchaseId: String
    @Option(name: .customLong("id")) var returnId: String
    @Option var amount: String?
    func run() async throws {
        try await options.run(.returnPurchase(purchaseId: purchaseId, returnId: returnId, amount: amount, at: try options.time()))
    }
}

struct RedeemCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "redeem", abstract: "Redeem points (or a reward).")
    @OptionGroup var options: DomainOptions
    @Argument var member: String
    @Option var points: String?
    @Option(name: .customLong("id")) var redemptionId: String
    @Option var reward: String?
    func run() async throws {
        try await options.run(.redeem(member: member, points: try points.map { try parsePoints($0, "--points") },
                                      redemptionId: redemptionId, reward: reward, at: try options.time()))
    }
}

struct ReverseRedemptionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reverse-redemption", abstract: "Reverse a redemption (restores its lots).")
    @OptionGroup var options: DomainOptions
    @Argument var redemptionId: String
    func run() async throws { try await options.run(.reverseRedemption(redemptionId: redemptionId, at: try options.time())) }
}

struct AdjustCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "adjust", abstract: "Adjust a balance (signed points).")
    @OptionGroup var options: DomainOptions
    @Argument var member: String
    @Option(parsing: .unconditional) var points: String
    @Option var reason: String
    @Option(name: .customLong("id")) var key: String
    @Option(name: .customLong("operator")) var operatorId = ProcessInfo.processInfo.environment["USER"] ?? "unknown"
    func run() async throws {
        try await options.run(.adjust(member: member, points: try parsePoints(points, "--points"), reason: reason,
                                      operatorId: operatorId, key: key, at: try options.time()))
    }
}

struct TransferCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "transfer", abstract: "Transfer points between members.")
    @OptionGroup var options: DomainOptions
    @Argument var from: String
    @Argument var to: String
    @Option var points: String
    @Option(name: .customLong("id")) var key: String
    func run() async throws {
        try await options.run(.transfer(from: from, to: to, points: try parsePoints(points, "--points"), key: key, at: try options.time()))
    }
}

struct HoldCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hold", abstract: "Hold points until a time.")
    @OptionGroup var options: DomainOptions
    @Argument var member: String
    @Option var points: String
    @Option(name: .customLong("id")) var holdId: String
    @Option(help: "When the hold lapses (RFC 3339).") var until: String
    func run() async throws {
        guard let expiresAt = Timestamp(rfc3339: until) else { throw ValidationError("--until: '\(until)' is not an RFC 3339 time") }
        try await options.run(.hold(member: member, points: try parsePoints(points, "--points"), holdId: holdId,
                                    expiresAt: expiresAt, at: try options.time()))
    }
}

struct ReleaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "release", abstract: "Release a hold.")
    @OptionGroup var options: DomainOptions
    @Argument var holdId: String
    func run() async throws { try await options.run(.release(holdId: holdId, at: try options.time())) }
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
            try await options.run(.defineReward(rewardId: rewardId, name: name ?? rewardId, cost: try parsePoints(cost, "--cost"),
                                                stock: stock, budget: budget, at: try options.time()))
        }
    }
}

struct ExpireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "expire", abstract: "Write an expiry event per lot past its expiry.")
    @OptionGroup var options: DomainOptions
    @Option(name: .customLong("as-of")) var asOf: String?
    func run() async throws {
        try await options.run(.expire(asOf: try options.parseTime(asOf ?? options.at, option: "--as-of")))
    }
}

struct TiersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tiers", abstract: "Tier evaluation.", subcommands: [Evaluate.self])
    struct Evaluate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Upgrade and downgrade tiers as of a time.")
        @OptionGroup var options: DomainOptions
        @Option(name: .customLong("as-of")) var asOf: String?
        func run() async throws {
            try await options.run(.evaluateTiers(asOf: try options.parseTime(asOf ?? options.at, option: "--as-of")))
        }
    }
}

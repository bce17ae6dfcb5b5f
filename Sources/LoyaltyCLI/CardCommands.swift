import ArgumentParser
import LoyaltyDomain
import LoyaltyLedger

/// The member a command is about: the member id, or `--card N` (the member the card is issued
/// to). Every command that takes a member reads it through this group, so a card works wherever
/// a member id does.
struct MemberArgument: ParsableArguments {
    @Argument(help: "The member id (or give --card).") var member: String?
    @Option(help: "A membership card number instead of the member id.") var card: String?

    func validate() throws {
        switch (member, card) {
        case (nil, nil): throw ValidationError("give a member id or --card NUMBER")
        case (.some, .some): throw ValidationError("give a member id or --card NUMBER, not both")
        default: break
        }
    }

    /// The member id; a card is looked up (unknown and blocked cards are refused).
    func resolve(_ app: LedgerApplication) throws -> String {
        try MemberArgument.resolve(member: member, card: card, app)
    }

    /// For lookups: a blocked card still names its member (with a note on standard error).
    func resolveForLookup(_ app: LedgerApplication) throws -> String {
        guard let card, member == nil else { return try resolve(app) }
        guard let found = try app.card(card) else { throw CLIError("refused: \(RefusalText.describe(DomainError.unknownCard(CardNumber.nfc(card))))") }
        if found.card.blocked {
            printError("note: card '\(found.number)' is blocked" + (found.card.replacedBy.map { " (replaced by card '\($0)')" } ?? ""))
        }
        return found.card.member
    }

    static func resolve(member: String?, card: String?, _ app: LedgerApplication, what: String = "member") throws -> String {
        if let member, card == nil { return member }
        guard let card, member == nil else { throw ValidationError("give a \(what) id or a card number, not both or neither") }
        do {
            return try app.member(card: card)
        } catch let error as DomainError {
            throw CLIError("refused: \(RefusalText.describe(error))")
        }
    }
}

struct CardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "card", abstract: "Membership cards: issue, block, replace (numbers are unique in the program).",
        subcommands: [Issue.self, Block.self, Replace.self, Show.self])

    struct Issue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Issue a card number to a member (event card.issued).")
        @OptionGroup var options: DomainOptions
        @Argument var member: String
        @Option(help: "The card number (any script; stored in Unicode NFC, at most 64 bytes).") var number: String
        @Option(name: .customLong("id"), help: "Idempotency key.") var key: String
        func run() async throws {
            try await options.run { app in .issueCard(member: member, number: number, key: key, at: try app.resolve(options.at)) }
        }
    }

    struct Block: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Block a card (event card.blocked): it is refused from then on.")
        @OptionGroup var options: DomainOptions
        @Argument var number: String
        @Option var reason = "blocked"
        func run() async throws {
            try await options.run { app in .blockCard(number: number, reason: reason, at: try app.resolve(options.at)) }
        }
    }

    struct Replace: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace a card by a new number (event card.issued with replaces): same member, the old card refused.")
        @OptionGroup var options: DomainOptions
        @Argument var old: String
        @Option(help: "The new card number.") var number: String
        func run() async throws {
            try await options.run { app in .replaceCard(old: old, new: number, at: try app.resolve(options.at)) }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A card: its member and status.")
        @OptionGroup var options: LedgerOptions
        @Argument var number: String
        @Option(help: "table or json") var format: OutputFormat = .table
        func run() throws {
            let app = try options.open()
            defer { app.close() }
            guard let found = try app.card(number) else {
                throw CLIError("refused: \(RefusalText.describe(DomainError.unknownCard(CardNumber.nfc(number))))")
            }
            let c = found.card
            let status = c.replacedBy != nil ? "replaced" : c.blocked ? "blocked" : "active"
            switch format {
            case .json:
                printJSON(.object(["number": .string(found.number), "member": .string(c.member), "status": .string(status),
                                   "replacedBy": c.replacedBy.map { .string($0) }, "replaces": c.replaces.map { .string($0) }]))
            case .table:
                var rows = [("number", found.number), ("member", c.member), ("status", status)]
                if let r = c.replacedBy { rows.append(("replaced by", r)) }
                if let r = c.replaces { rows.append(("replaces", r)) }
                printPairs(rows, width: 12)
            }
        }
    }
}

import ArgumentParser
import Foundation
import LoyaltyDomain
import LoyaltyLedger

struct TierCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tier", abstract: "Operators' tiers.", subcommands: [Set.self])

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a member's tier (event tier.set), audited like an adjustment.",
            discussion: "With --floor, tier evaluation never goes below the tier until --until (no --until: no end); without, the tier counts as held from now, and evaluation downgrades it only after a whole window plus the grace days.")
        @OptionGroup var options: DomainOptions
        @OptionGroup var who: MemberArgument
        @Option(help: "A tier of the rules in force.") var tier: String
        @Option var reason: String
        @Option(name: .customLong("id"), help: "Idempotency key.") var key: String
        @Option(name: .customLong("operator")) var operatorId = ProcessInfo.processInfo.environment["USER"] ?? "unknown"
        @Option(help: "The floor's end (RFC 3339, or YYYY-MM-DD); goes with --floor.", transform: TimeArgument.parse) var until: RequestedTime?
        @Flag(help: "Evaluation never goes below this tier until --until.") var floor = false
        func run() async throws {
            try await options.run { app in
                .setTier(.init(member: try who.resolve(app), tier: tier, reason: reason, operatorId: operatorId, key: key,
                               until: try until.map { try app.resolve($0) }, floor: floor, at: try app.resolve(options.at)))
            }
        }
    }
}

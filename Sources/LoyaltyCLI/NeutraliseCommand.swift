import ArgumentParser
import LedgerStore
import LoyaltyLedger
import LedgerJSON
import LoyaltyDomain

/// `loyalty neutralise`: the audited recovery from a stored event that cannot be applied
/// (schemas/domain.md, "Recovery from an event that cannot be applied").
struct NeutraliseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "neutralise",
        abstract: "Record that every fold skips a stored event that cannot be applied (audited: operator and reason).",
        discussion: """
            Appends a 'ledger.neutralised' event naming the position, its type, why it cannot be applied, the operator and \
            the reason, and records the position in the log's neutralised table, in one transaction. Refused (nothing \
            written) for position 0 or past the head, a non-domain event, one neutralised already, an empty reason or \
            operator, and an event the domain model applies cleanly (correct valid business with `loyalty adjust`).
            """)

    @OptionGroup var options: LedgerOptions
    @Option(help: "The position of the event that cannot be applied.") var position: UInt64
    @Option(help: "Why it is neutralised (recorded in the log).") var reason: String
    @Option(name: .customLong("operator"), help: "Who neutralises it (recorded in the log).") var operatorName: String

    func run() async throws {
        let outcome: NeutraliseOutcome
        do {
            outcome = try await Ledger.neutralise(path: options.path, position: position, reason: reason, operator: operatorName) { o in
                o.writerLockWaitMilliseconds = options.waitForWriter * 1000
            }
        } catch let refusal as NeutraliseRefusal {
            throw CLIError("refused, nothing written: \(refusal)")
        }
        print("position \(outcome.position) (\(outcome.type), member \(outcome.member)) neutralised by position \(outcome.correctingPosition): every fold skips it (it could not be applied: \(outcome.fault))")
    }
}

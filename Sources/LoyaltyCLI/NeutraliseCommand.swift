import ArgumentParser
import LedgerStore
import LoyaltyLedger
import LedgerJSON

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

enum NeutraliseText {
    /// The fields of the correcting event's data that say what was neutralised and why.
    static let fields = ["operator", "reason", "type", "fault"]

    /// "position N neutralised by M (operator OP, reason TEXT)", from the correcting event's data.
    static func line(_ n: (position: UInt64, by: UInt64, data: [UInt8])) -> String {
        let text = texts(n.data)
        return "position \(n.position) neutralised by position \(n.by) (operator \(text["operator"] ?? "?"), reason: \(text["reason"] ?? "?"); type \(text["type"] ?? "?"), fault: \(text["fault"] ?? "?"))"
    }

    /// `{"neutralised": {position, by, operator, reason, type, fault}}`: the same as `line`, as a
    /// JSON line (schemas/audit.md, history).
    static func json(_ n: (position: UInt64, by: UInt64, data: [UInt8])) -> JSONValue {
        let text = texts(n.data)
        var object: [(key: String, value: JSONValue)] = [("position", .int(Int64(clamping: n.position))), ("by", .int(Int64(clamping: n.by)))]
        for key in fields { if let value = text[key] { object.append((key, .string(value))) } }
        return .object([("neutralised", .object(object))])
    }

    private static func texts(_ data: [UInt8]) -> [String: String] {
        let parsed = try? JSONCanonical.parse(utf8: data)
        var out: [String: String] = [:]
        for key in fields { if case let .string(s)? = parsed?[key] { out[key] = s } }
        return out
    }
}

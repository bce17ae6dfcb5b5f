import Foundation
public import LedgerStore
import LedgerJSON
import LoyaltyDomain

/// A refusal of `Ledger.neutralise`: nothing was written.
public struct NeutraliseRefusal: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// What `Ledger.neutralise` wrote.
public struct NeutraliseOutcome: Sendable {
    /// The neutralised position and the position of its correcting `ledger.neutralised` event.
    public let position: UInt64
    public let correctingPosition: UInt64
    public let type: String
    public let member: String
    /// Why the event cannot be applied (as the domain model says it).
    public let fault: String
}

extension Ledger {
    /// Neutralises the stored event at `position`: appends a `ledger.neutralised` event (member:
    /// the neutralised event's; data: position, type, reason, operator, fault) and records the
    /// position in the log's `neutralised` table, in one transaction; from then on every fold
    /// skips that event. Opens the log itself (`Ledger.open` refuses a log the model cannot fold).
    ///
    /// Refused, nothing written: position 0 or past the head; an event that is not a domain
    /// event; one neutralised already; an empty reason or operator (or one with control
    /// characters, or over `DomainLimits.textBytesMax` bytes); an earlier event that cannot be
    /// applied either (neutralise that one first); and an event the domain model applies cleanly
    /// (valid business is corrected with an adjustment, not neutralised).
    public static func neutralise(path: String, position: UInt64, reason: String, operator op: String,
                                  configure: (inout EventLogOptions) -> Void = { _ in }) async throws -> NeutraliseOutcome {
        for (field, value) in [("reason", reason), ("operator", op)] {
            if let problem = textProblem(value) { throw NeutraliseRefusal("--\(field): \(problem)") }
        }
        var options = EventLogOptions()
        options.writable = true
        configure(&options)
        let log = try EventLog.open(path: path, options: options)
        defer { log.close() }
        let head = try log.headPosition()
        guard position >= 1, position <= head else {
            throw NeutraliseRefusal("position \(position) is not in the log (it holds positions 1...\(head))")
        }
        guard let target = try log.event(at: position) else { throw NeutraliseRefusal("position \(position) is not in the log") }
        if let by = target.neutralisedBy {
            throw NeutraliseRefusal("position \(position) is neutralised already (by position \(by))")
        }
        guard DomainEvent.isDomainType(target.type) else {
            throw NeutraliseRefusal("position \(position) is a '\(target.type)' event, not a domain event: no fold applies it, so there is nothing to neutralise")
        }
        let fault = try foldFault(log, through: position)
        var data: [UInt8] = []
        JSONCanonical.write(.object([
            (key: "fault", value: .string(fault)),
            (key: "operator", value: .string(op)),
            (key: "position", value: .integer(String(position))),
            (key: "reason", value: .string(reason)),
            (key: "type", value: .string(target.type)),
        ]), into: &data)
        let draft = EventDraft(type: Neutralisation.eventType, member: target.member,
                               occurredAt: Int64(Date().timeIntervalSince1970 * 1_000_000), data: data,
                               idempotencyKey: Neutralisation.idempotencyKey(neutralising: position))
        let written = try await log.appendNeutralisation(draft, neutralising: position)
        return NeutraliseOutcome(position: position, correctingPosition: written.position, type: target.type,
                                 member: target.member, fault: fault)
    }

    /// Folds the model from the start through `position` (neutralised events skipped) and returns
    /// why the event at `position` cannot be applied; refuses when an earlier event cannot be
    /// applied, or when this one applies cleanly.
    private static func foldFault(_ log: EventLog, through position: UInt64) throws -> String {
        var model = LedgerModel(), book = ModelKeeper.Book()
        var after: UInt64 = 0
        while after < position {
            let batch = try log.events(after: after, limit: Int(min(position - after, 4_096)))
            guard let last = batch.last else { break }
            for e in batch {
                do {
                    try ModelKeeper.apply(e, model: &model, book: &book)
                } catch {
                    guard e.position == position else {
                        throw NeutraliseRefusal("position \(e.position), before \(position), cannot be applied either (\(error.reason)): neutralise it first")
                    }
                    return error.reason
                }
            }
            after = last.position
        }
        throw NeutraliseRefusal("position \(position) applies cleanly in the domain model: neutralising is only for an event that cannot be applied (correct valid business with an adjustment)")
    }

    /// Why an operator or reason text is refused, or nil.
    static func textProblem(_ text: String) -> String? {
        if text.allSatisfy(\.isWhitespace) { return "must not be empty" }
        if text.utf8.count > DomainLimits.textBytesMax { return "\(text.utf8.count) bytes, at most \(DomainLimits.textBytesMax)" }
        if text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) { return "contains a control character" }
        return nil
    }
}

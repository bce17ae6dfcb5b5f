import LedgerJSON
import LedgerStore
import LoyaltyDomain

/// Refusals an import remembers, so that re-running it writes nothing new whatever was refused
/// the first time. A domain refusal of a command with an idempotency key K is recorded as a
/// `command.refused` event on the reserved stream `$refused`, with the log key `refused:K` and
/// data `{"command": K, "input": <the line>, "reason": ...}`. A later import finds the key in the
/// log's key table and, for the same line, reports it as refused before, without deciding it
/// again (a corrected line is a new request, decided as usual): a decision can depend on what
/// the ledger holds (a redemption refused for want of points could pass once later lines added
/// them), so only the remembered refusal is stable. Not a domain type: every fold skips it.
///
/// Idempotency conflicts are not recorded (the key belongs to the command that was accepted).
enum RefusalMemory {
    static let eventType = "command.refused"
    static let stream = "$refused"

    static func logKey(_ commandKey: String) -> String { "refused:" + commandKey }

    /// The earlier refusal of `command` read from the same `input` line, as a reason naming its
    /// position, or nil.
    static func earlier(_ command: Command, input: String, log: EventLog) throws -> String? {
        guard let key = command.idempotencyKey, let position = try log.position(ofKey: logKey(key)),
              let event = try log.event(at: position), let json = try? JSONCanonical.parse(utf8: event.data),
              json["input"] == .string(input) else { return nil }
        var reason = "refused"
        if case .string(let text)? = json["reason"] { reason = text }
        return "refused by an earlier import (position \(position)): \(reason)"
    }

    /// The event recording that `command` was refused for `reason`, or nil when there is nothing
    /// to remember (no key, a conflict, a key the log could not store).
    static func draft(_ command: Command, input: String, error: any Error, actor: String? = nil) -> EventDraft? {
        guard let key = command.idempotencyKey, let domainError = error as? DomainError else { return nil }
        if case .idempotencyConflict = domainError { return nil }
        let logKey = logKey(key)
        guard logKey.utf8.count <= LogLimits.idempotencyKeyBytesMax, logKey.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        let data = JSONCanonical.encode(.object(["command": .string(key), "input": .string(input), "reason": .string(domainError.description)]))
        guard data.count <= LogLimits.dataBytesMax else { return nil }
        return EventDraft(type: eventType, member: stream, occurredAt: command.at.microseconds, data: data, idempotencyKey: logKey, actor: actor)
    }

    /// Records `drafts` (one per key: a key refused twice in one import is remembered once).
    static func record(_ drafts: [EventDraft], log: EventLog) async throws {
        var seen = Set<String>()
        var fresh: [EventDraft] = []
        for d in drafts {
            guard let key = d.idempotencyKey, seen.insert(key).inserted, try log.position(ofKey: key) == nil else { continue }
            fresh.append(d)
        }
        guard !fresh.isEmpty else { return }
        _ = try await log.append(fresh)
    }
}

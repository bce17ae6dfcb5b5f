public import LedgerStore
public import LoyaltyDomain
import LedgerJSON

/// An audit refusal or a fault found in the log: one line, naming the position or input line.
public struct AuditError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One domain event of the log with both of its times.
public struct LoggedEvent: Sendable {
    public var position: UInt64
    public var recordedAt: Timestamp
    public var occurredAt: Timestamp
    public var event: DomainEvent
}

public enum AuditEvents {
    /// Decodes one stored event with the domain's public decode entry point (the one place audits
    /// decode, so a faster decoder is picked up here). Nil for raw events that are not domain
    /// events (written with `loyalty append`) and for neutralised events (every fold skips
    /// them); a domain event that does not decode is a fault.
    public static func decode(_ e: RecordedEvent) throws(AuditError) -> DomainEvent? {
        guard DomainEvent.isDomainType(e.type), e.neutralisedBy == nil else { return nil }
        do {
            return try DomainEvent.decode(type: e.type, schemaVersion: e.schemaVersion, bytes: e.data)
        } catch {
            throw AuditError("position \(e.position) (\(e.type)): does not decode: \(error)")
        }
    }

    /// `decode` for an event's parts (read in place by `EventLog.forEachEvent`, or copied out
    /// of it): the same checks and errors.
    package static func decode(type: String, schemaVersion: UInt32, data: UnsafeBufferPointer<UInt8>, position: UInt64) throws(AuditError) -> DomainEvent? {
        guard DomainEvent.isDomainType(type) else { return nil }
        do {
            return try DomainEvent.decode(type: type, schemaVersion: schemaVersion, bytes: data)
        } catch {
            throw AuditError("position \(position) (\(type)): does not decode: \(error)")
        }
    }

    static func logged(_ e: RecordedEvent) throws(AuditError) -> LoggedEvent? {
        guard let event = try decode(e) else { return nil }
        return LoggedEvent(position: e.position, recordedAt: Timestamp(microseconds: e.recordedAt),
                           occurredAt: Timestamp(microseconds: e.occurredAt), event: event)
    }

    /// The member's stream and the program stream (rules, rewards), decoded and merged in log
    /// order. Reads only those two streams, never the whole log.
    public static func timeline(member: String, log: EventLog) throws -> (member: [LoggedEvent], program: [LoggedEvent]) {
        try checkMember(member)
        return (try log.stream(member: member).compactMap { try logged($0) }, try program(log))
    }

    static func checkMember(_ member: String) throws(AuditError) {
        guard member != DomainEvent.programStream else { throw AuditError("'\(member)' is the program stream, not a member") }
    }

    /// The program stream (rules, rewards), decoded.
    static func program(_ log: EventLog) throws -> [LoggedEvent] {
        try log.stream(member: DomainEvent.programStream).compactMap { try logged($0) }
    }
}

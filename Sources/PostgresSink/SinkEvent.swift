public import LedgerStore
import LedgerJSON
public import LedgerTailClient
import LoyaltyDomain
import Projections

/// One event of the log as the sink stores it, from a local log (`RecordedEvent`) or from a
/// remote tail's line (`EventJSON`).
public struct SinkEvent: Sendable, Equatable {
    public var position: UInt64
    public var recordedAt: Int64
    public var occurredAt: Int64
    public var type: String
    public var schemaVersion: UInt32
    public var member: String
    public var version: UInt64
    public var idempotencyKey: String?
    public var actor: String?
    public var data: [UInt8]
    /// The chain hash after this event, in hex.
    public var hash: String?
    /// Neutralised (every fold skips it); known for a local log only.
    public var neutralised: Bool

    public init(_ e: RecordedEvent) {
        (position, recordedAt, occurredAt, type, schemaVersion, member, version) =
            (e.position, e.recordedAt, e.occurredAt, e.type, e.schemaVersion, e.member, e.version)
        (idempotencyKey, actor, data, hash, neutralised) = (e.idempotencyKey, e.actor, e.data, e.hash?.hex, e.neutralisedBy != nil)
    }

    /// Reads a tail's line (`EventJSON`: the fields `loyalty tail` prints). `data` is kept in
    /// its canonical encoding.
    public init(line: TailEvent) throws {
        let where_ = "the event at position \(line.position) from the tail"
        guard let value = try? JSONCanonical.parse(utf8: Array(line.line.utf8)) else { throw SinkError("\(where_) is not JSON") }
        func text(_ key: String) throws -> String {
            guard case .string(let s)? = value[key] else { throw SinkError("\(where_): '\(key)' is missing or not a string") }
            return s
        }
        func integer(_ key: String) throws -> UInt64? {
            guard let field = value[key] else { return nil }
            guard case .integer(let literal) = field, let n = UInt64(literal) else { throw SinkError("\(where_): '\(key)' is not a count") }
            return n
        }
        func time(_ key: String) throws -> Int64 {
            let s = try text(key)
            guard let t = Timestamp(rfc3339: s) else { throw SinkError("\(where_): '\(key)' is not an RFC 3339 time: \(s)") }
            return t.microseconds
        }
        guard let position = try integer("position"), position == line.position else {
            throw SinkError("\(where_): its 'position' is not \(line.position)")
        }
        self.position = position
        (recordedAt, occurredAt) = (try time("recordedAt"), try time("occurredAt"))
        (type, member) = (try text("type"), try text("member"))
        let schema = try integer("schemaVersion") ?? 1
        guard schema <= UInt64(UInt32.max) else { throw SinkError("\(where_): 'schemaVersion' \(schema) is out of range") }
        schemaVersion = UInt32(schema)
        guard let version = try integer("version") else { throw SinkError("\(where_): 'version' is missing") }
        self.version = version
        idempotencyKey = value["idempotencyKey"] == nil ? nil : try text("idempotencyKey")
        actor = value["actor"] == nil ? nil : try text("actor")
        hash = value["hash"] == nil ? nil : try text("hash")
        guard let payload = value["data"] else { throw SinkError("\(where_): 'data' is missing") }
        data = payload == .null ? [] : JSONCanonical.encode(payload)
        neutralised = false
    }

    /// The domain event as the projections see it; nil for an event that is not a domain event
    /// or is neutralised (no fold applies it).
    func projectionEvent() throws -> ProjectionEvent? {
        guard !neutralised, DomainEvent.isDomainType(type) else { return nil }
        do {
            let event = try DomainEvent.decode(type: type, schemaVersion: schemaVersion, bytes: data)
            return ProjectionEvent(position: position, recordedAt: Timestamp(microseconds: recordedAt),
                                      occurredAt: Timestamp(microseconds: occurredAt), member: member, event: event)
        } catch {
            throw SinkError("position \(position) (\(type), member \(member)) does not decode: \(error)")
        }
    }
}

import LedgerStore
import LedgerJSON
import LoyaltyDomain

/// Parses one JSON Lines input event:
/// `{"type", "member", "occurredAt", "data", "idempotencyKey"?, "expectedVersion"?, "schemaVersion"?, "actor"?}`.
/// Errors name the field and the value; the caller adds the line number.
enum EventLine {
    static let fields: Set<String> = ["type", "member", "occurredAt", "data", "idempotencyKey", "expectedVersion", "schemaVersion", "actor"]

    static func parse(_ line: [UInt8]) throws -> EventDraft {
        let value: JSONValue
        do {
            value = try JSONCanonical.parse(utf8: line)
        } catch {
            throw CLIError("malformed JSON at \(error)")
        }
        guard case let .object(members) = value else { throw CLIError("expected a JSON object") }
        for member in members where !fields.contains(member.key) {
            throw CLIError("unknown field '\(member.key)' (expected \(fields.sorted().joined(separator: ", ")))")
        }
        let type = try string(value, "type")
        let member = try string(value, "member")
        let occurredText = try string(value, "occurredAt")
        guard let occurredAt = Timestamp(rfc3339: occurredText) else {
            throw CLIError("field 'occurredAt': '\(occurredText)' is not an RFC 3339 time (e.g. 2026-11-24T10:15:00Z)")
        }
        guard let data = value["data"] else { throw CLIError("missing field 'data'") }
        guard case .object = data else { throw CLIError("field 'data' must be a JSON object") }
        var key: String?
        if value["idempotencyKey"] != nil { key = try string(value, "idempotencyKey") }
        let actor = value["actor"] != nil ? try string(value, "actor") : nil
        let expected = try integer(value, "expectedVersion")
        let schemaVersion = try integer(value, "schemaVersion") ?? 1
        guard schemaVersion >= 1, schemaVersion <= UInt64(UInt32.max) else {
            throw CLIError("field 'schemaVersion': \(schemaVersion) is out of range 1...\(UInt32.max)")
        }
        return EventDraft(type: type, schemaVersion: UInt32(schemaVersion), member: member,
                          occurredAt: occurredAt.microseconds, data: JSONCanonical.encode(data),
                          idempotencyKey: key, expectedVersion: expected, actor: actor)
    }

    private static func string(_ object: JSONValue, _ field: String) throws -> String {
        guard let value = object[field] else { throw CLIError("missing field '\(field)'") }
        guard case let .string(s) = value else {
            throw CLIError("field '\(field)' must be a string, got \(String(decoding: JSONCanonical.encode(value), as: UTF8.self))")
        }
        return s
    }

    private static func integer(_ object: JSONValue, _ field: String) throws -> UInt64? {
        guard let value = object[field] else { return nil }
        guard case let .integer(literal) = value, let n = UInt64(literal) else {
            throw CLIError("field '\(field)' must be a non-negative integer, got \(String(decoding: JSONCanonical.encode(value), as: UTF8.self))")
        }
        return n
    }
}

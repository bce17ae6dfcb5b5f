public import LedgerStore
import LedgerJSON
import LoyaltyDomain

/// One event of the log as one line of JSON: what `loyalty events`, `loyalty tail`, the long poll
/// (`GET /v1/events`) and the event stream (`GET /v1/events/stream`) all print, so a consumer
/// reads the same bytes from each.
///
/// Fields in this order: `position, recordedAt, occurredAt, type, schemaVersion (when not 1),
/// member, version, idempotencyKey and actor (when set), hash (when read in log order), data`. Times are
/// RFC 3339 in UTC; `data` is the stored payload as it is (canonical JSON by convention).
public enum EventJSON {
    /// The line, without a line break.
    public static func line(_ event: RecordedEvent) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(event.data.count + 256)
        write(event, into: &out)
        return out
    }

    /// Appends the line (without a line break) to `out`.
    public static func write(_ event: RecordedEvent, into out: inout [UInt8]) {
        func field(_ name: String, first: Bool = false) {
            if !first { out.append(UInt8(ascii: ",")) }
            JSONCanonical.writeString(name, into: &out)
            out.append(UInt8(ascii: ":"))
        }
        func time(_ microseconds: Int64) {
            out.append(UInt8(ascii: "\""))
            Timestamp(microseconds: microseconds).appendRFC3339(to: &out)
            out.append(UInt8(ascii: "\""))
        }
        out.append(UInt8(ascii: "{"))
        field("position", first: true); out.append(contentsOf: String(event.position).utf8)
        field("recordedAt"); time(event.recordedAt)
        field("occurredAt"); time(event.occurredAt)
        field("type"); JSONCanonical.writeString(event.type, into: &out)
        if event.schemaVersion != 1 { field("schemaVersion"); out.append(contentsOf: String(event.schemaVersion).utf8) }
        field("member"); JSONCanonical.writeString(event.member, into: &out)
        field("version"); out.append(contentsOf: String(event.version).utf8)
        if let key = event.idempotencyKey { field("idempotencyKey"); JSONCanonical.writeString(key, into: &out) }
        if let actor = event.actor { field("actor"); JSONCanonical.writeString(actor, into: &out) }
        if let hash = event.hash { field("hash"); JSONCanonical.writeString(hash.hex, into: &out) }
        field("data"); out.append(contentsOf: event.data.isEmpty ? Array("null".utf8) : event.data)
        out.append(UInt8(ascii: "}"))
    }
}

/// One stored event read in place from its LMDB page, for full-log scans that must not copy
/// every event (`reconcile`): the fields of `RecordedEvent` a fold needs, with the text and data
/// as borrowed bytes. Valid only inside the `forEachEvent` call that passed it.
public struct EventView {
    public let position: UInt64
    public let recordedAt: Int64
    public let occurredAt: Int64
    public let schemaVersion: UInt32
    /// UTF-8 of the type, the member id and the event's data (schemas/ledger-format.md).
    public let type: UnsafeRawBufferPointer
    public let member: UnsafeRawBufferPointer
    public let data: UnsafeRawBufferPointer
}

extension EventLog {
    /// Calls `body` with each of at most `limit` events after `position`, in order, inside one
    /// short read transaction (at most `LogLimits.readBatchEventsMax` events), without copying
    /// them. Every field is checked as `events(after:limit:)` checks it, except that text is
    /// not re-validated (it is handed over as bytes). Returns the number of events visited.
    /// Throws `corrupt` naming the position on a gap or a bad record.
    @discardableResult
    public func forEachEvent(after position: UInt64, limit: Int, _ body: (EventView) throws -> Void) throws -> Int {
        try forEachRecord(after: position, limit: limit) { at, bytes in
            let view: EventView
            do {
                view = try EventRecord.view(position: at, bytes)
            } catch {
                throw LedgerError.corrupt(position: at, reason: "\(error)")
            }
            try body(view)
        }
    }
}

extension EventRecord {
    /// `decode` without the copies: the same reads and limits, borrowed text and data.
    static func view(position: UInt64, _ bytes: UnsafeRawBufferPointer) throws(RecordDecodingError) -> EventView {
        var r = ByteReader(bytes)
        let (flags, schemaVersion, recordedAt, occurredAt, version, delta) = try header(position: position, &r)
        let type = try r.lengthPrefixed("type", max: LogLimits.typeBytesMax)
        let member = try r.lengthPrefixed("member", max: LogLimits.memberBytesMax)
        if flags & flagIdempotencyKey != 0 { _ = try r.lengthPrefixed("idempotencyKey", max: LogLimits.idempotencyKeyBytesMax) }
        let data = try r.lengthPrefixed("data", max: LogLimits.dataBytesMax)
        guard r.isAtEnd else { throw RecordDecodingError(field: "data", reason: "\(bytes.count - r.offset) trailing bytes") }
        return EventView(position: position, recordedAt: recordedAt, occurredAt: occurredAt, schemaVersion: schemaVersion,
                         type: type, member: member, data: data)
    }
}

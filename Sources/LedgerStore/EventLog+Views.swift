import ByteCodec

/// One stored event read in place from its LMDB page, for full-log scans that must not copy
/// every event (`reconcile`): the fields of `RecordedEvent` a fold needs, with the text and data
/// as borrowed bytes. Valid only inside the `forEachEvent` call that passed it. A fast path for
/// the package's own folds; other readers take `events(after:limit:)` (`RecordedEvent`, copied).
package struct EventView {
    package let position: UInt64
    package let recordedAt: Int64
    package let occurredAt: Int64
    package let schemaVersion: UInt32
    /// UTF-8 of the type, the member id and the event's data (schemas/ledger-format.md).
    package let type: UnsafeRawBufferPointer
    package let member: UnsafeRawBufferPointer
    package let data: UnsafeRawBufferPointer
    /// The position of the event that neutralises this one (every fold skips it), or nil.
    package internal(set) var neutralisedBy: UInt64? = nil
}

extension EventLog {
    /// Calls `body` with each of at most `limit` events after `position`, in order, inside one
    /// short read transaction (at most `LogLimits.readBatchEventsMax` events), without copying
    /// them. Every field is checked as `events(after:limit:)` checks it, except that text is
    /// not re-validated (it is handed over as bytes). Returns the number of events visited.
    /// Throws `corrupt` naming the position on a gap or a bad record.
    @discardableResult
    package func forEachEvent(after position: UInt64, limit: Int, _ body: (EventView) throws -> Void) throws -> Int {
        try forEachRecord(after: position, limit: limit) { at, bytes, neutralised in
            var view = try EventRecord.checkedView(position: at, bytes)
            view.neutralisedBy = neutralised[at]
            try body(view)
        }
    }

    /// `forEachEvent` for a reader that wants only some members' events (a partitioned
    /// projection run, where every thread walks every record): `wanted` sees each record's
    /// member id, found by a lean read of the header (`EventRecord.peek`); only the records it
    /// accepts are checked in full and passed to `body`. The ones it passes over are left to be
    /// checked by the reader that accepts them. Returns the records walked and when the last
    /// one was recorded.
    package func forEachEvent(after position: UInt64, limit: Int, where wanted: (_ member: UnsafeRawBufferPointer) -> Bool,
                             _ body: (EventView) throws -> Void) throws -> (count: Int, lastRecordedAt: Int64) {
        var lastRecordedAt: Int64 = 0
        let count = try forEachRecord(after: position, limit: limit) { at, bytes, neutralised in
            let peeked = EventRecord.peek(bytes)
            if let (recordedAt, member) = peeked {
                lastRecordedAt = recordedAt
                guard wanted(member) else { return }
            }
            // A record the lean read could not follow is read in full, which says what is wrong.
            var view = try EventRecord.checkedView(position: at, bytes)
            view.neutralisedBy = neutralised[at]
            lastRecordedAt = view.recordedAt
            if peeked == nil { guard wanted(view.member) else { return } }
            try body(view)
        }
        return (count, lastRecordedAt)
    }
}

extension EventRecord {
    /// When a record was recorded and its member id, read without checking the rest (bounds
    /// only): nil if the bytes do not reach the member id. `view` checks the record in full.
    static func peek(_ bytes: UnsafeRawBufferPointer) -> (recordedAt: Int64, member: UnsafeRawBufferPointer)? {
        var r = ByteReader(bytes)
        do {
            _ = try r.take(2)  // format, flags
            _ = try r.varint()  // schemaVersion
            let recordedAt = Int64(bitPattern: try r.uint64BE())
            _ = try r.take(8)  // occurredAt
            _ = try r.varint()  // version
            _ = try r.varint()  // previousDelta
            _ = try r.take(Int(clamping: try r.varint()))  // type
            return (recordedAt, try r.take(Int(clamping: try r.varint())))
        } catch {
            return nil
        }
    }

    /// `view`, a bad record reported as `LedgerError.corrupt` at its position.
    static func checkedView(position: UInt64, _ bytes: UnsafeRawBufferPointer) throws -> EventView {
        do {
            return try view(position: position, bytes)
        } catch {
            throw LedgerError.corrupt(position: position, reason: "\(error)")
        }
    }

    /// `decode` without the copies: the same reads and limits, borrowed text and data.
    static func view(position: UInt64, _ bytes: UnsafeRawBufferPointer) throws(RecordDecodingError) -> EventView {
        var r = ByteReader(bytes)
        let (flags, schemaVersion, recordedAt, occurredAt, _, _) = try header(position: position, &r)
        let type = try r.lengthPrefixed("type", max: LogLimits.typeBytesMax)
        let member = try r.lengthPrefixed("member", max: LogLimits.memberBytesMax)
        if flags & flagIdempotencyKey != 0 { _ = try r.lengthPrefixed("idempotencyKey", max: LogLimits.idempotencyKeyBytesMax) }
        if flags & flagActor != 0 { _ = try r.lengthPrefixed("actor", max: LogLimits.actorBytesMax) }
        let data = try r.lengthPrefixed("data", max: LogLimits.dataBytesMax)
        guard r.isAtEnd else { throw RecordDecodingError(field: "data", reason: "\(bytes.count - r.offset) trailing bytes") }
        return EventView(position: position, recordedAt: recordedAt, occurredAt: occurredAt, schemaVersion: schemaVersion,
                         type: type, member: member, data: data)
    }
}

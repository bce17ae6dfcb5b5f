import ByteCodec

/// An event as the caller hands it to `append`.
public struct EventDraft: Sendable, Hashable {
    /// The idempotency comparison between two drafts: everything but `expectedVersion` and
    /// `actor` (who sends a request is not part of it: a retry by another caller gets the
    /// original outcome, and the stored event keeps the original actor).
    func isSameRequest(_ other: EventDraft) -> Bool {
        type == other.type && schemaVersion == other.schemaVersion && member == other.member
            && occurredAt == other.occurredAt && data == other.data && idempotencyKey == other.idempotencyKey
    }

    public var type: String
    public var schemaVersion: UInt32
    /// The stream: a member id (or a reserved stream name of the caller's choosing).
    public var member: String
    /// Business time from the caller (till, web shop), microseconds since the Unix epoch.
    public var occurredAt: Int64
    /// The payload (by convention canonical JSON); the log treats it as opaque bytes.
    public var data: [UInt8]
    /// Permanent de-duplication key: the same key with the same event returns the original outcome.
    public var idempotencyKey: String?
    /// Version of the member's last event before this one (0: the stream must be empty).
    public var expectedVersion: UInt64?
    /// Who recorded the event (an API key's name); stored and hashed with the record.
    public var actor: String?

    public init(type: String, schemaVersion: UInt32 = 1, member: String, occurredAt: Int64, data: [UInt8],
                idempotencyKey: String? = nil, expectedVersion: UInt64? = nil, actor: String? = nil) {
        self.actor = actor
        self.type = type
        self.schemaVersion = schemaVersion
        self.member = member
        self.occurredAt = occurredAt
        self.data = data
        self.idempotencyKey = idempotencyKey
        self.expectedVersion = expectedVersion
    }
}

/// An event as stored in the log.
public struct RecordedEvent: Sendable, Hashable {
    /// Gapless global position, starting at 1.
    public var position: UInt64
    /// Ledger time of the commit; never decreases along the log.
    public var recordedAt: Int64
    public var occurredAt: Int64
    public var type: String
    public var schemaVersion: UInt32
    public var member: String
    /// Version within the member's stream, starting at 1, contiguous.
    public var version: UInt64
    /// Position of the member's previous event (nil for version 1).
    public var previousPosition: UInt64?
    public var idempotencyKey: String?
    /// Who recorded the event (an API key's name), when the writer said.
    public var actor: String? = nil
    public var data: [UInt8]
    /// Chain hash after this event, when it was read in log order (see `ChainHash`).
    public var hash: ChainHash?
    /// The position of the `ledger.neutralised` event that neutralises this one (every fold
    /// skips it), as of the read that returned it; nil when it is not neutralised.
    public var neutralisedBy: UInt64? = nil

    /// True when `draft` is the same request as this event (the idempotency comparison; the
    /// actor is not compared, see `EventDraft.isSameRequest`). Text fields are NFC (validated),
    /// so String equality is byte equality.
    func isSameRequest(as draft: EventDraft) -> Bool {
        type == draft.type && schemaVersion == draft.schemaVersion && member == draft.member
            && occurredAt == draft.occurredAt && data == draft.data && idempotencyKey == draft.idempotencyKey
    }
}

/// The binary record stored as the value of `events` (format in schemas/ledger-format.md).
enum EventRecord {
    static let formatByte: UInt8 = 1
    static let flagIdempotencyKey: UInt8 = 0x01
    static let flagActor: UInt8 = 0x02
    static let flagsKnown: UInt8 = flagIdempotencyKey | flagActor

    /// Encodes the record bytes (the value; the key is the position).
    static func encode(_ draft: EventDraft, recordedAt: Int64, version: UInt64, previousDelta: UInt64,
                       into out: inout [UInt8]) {
        var w = ByteWriter(appendingTo: [])
        swap(&w.bytes, &out)  // appended in place: `out` keeps its capacity
        defer { swap(&w.bytes, &out) }
        w.uint8(formatByte)
        w.uint8((draft.idempotencyKey == nil ? 0 : flagIdempotencyKey) | (draft.actor == nil ? 0 : flagActor))
        w.varint(UInt64(draft.schemaVersion))
        w.uint64BE(UInt64(bitPattern: recordedAt))
        w.uint64BE(UInt64(bitPattern: draft.occurredAt))
        w.varint(version)
        w.varint(previousDelta)
        appendString(draft.type, to: &w)
        appendString(draft.member, to: &w)
        if let key = draft.idempotencyKey { appendString(key, to: &w) }
        if let actor = draft.actor { appendString(actor, to: &w) }
        w.varint(UInt64(draft.data.count))
        w.append(draft.data)
    }

    private static func appendString(_ s: String, to w: inout ByteWriter) {
        var s = s
        s.withUTF8 { utf8 in
            w.varint(UInt64(utf8.count))
            w.append(utf8)
        }
    }

    /// Fields 1..7 of a record (format, flags, schemaVersion, both times, version, previousDelta),
    /// checked: the part every reader of a record shares.
    static func header(position: UInt64, _ r: inout ByteReader) throws(RecordDecodingError)
        -> (flags: UInt8, schemaVersion: UInt32, recordedAt: Int64, occurredAt: Int64, version: UInt64, previousDelta: UInt64) {
        let format = try r.uint8("format")
        guard format == formatByte else { throw RecordDecodingError(field: "format", reason: "unknown record format \(format)") }
        let flags = try r.uint8("flags")
        guard flags & ~flagsKnown == 0 else { throw RecordDecodingError(field: "flags", reason: "unknown flags \(flags)") }
        let schemaVersion = try r.varint("schemaVersion")
        guard schemaVersion >= 1, schemaVersion <= UInt64(UInt32.max) else {
            throw RecordDecodingError(field: "schemaVersion", reason: "\(schemaVersion) is outside 1...\(UInt32.max)")
        }
        let recordedAt = Int64(bitPattern: try r.uint64BE("recordedAt"))
        let occurredAt = Int64(bitPattern: try r.uint64BE("occurredAt"))
        let version = try r.varint("version")
        let delta = try r.varint("previousDelta")
        guard version >= 1 else { throw RecordDecodingError(field: "version", reason: "zero") }
        guard (version == 1) == (delta == 0), delta < position else {
            throw RecordDecodingError(field: "previousDelta", reason: "\(delta) inconsistent with version \(version)")
        }
        return (flags, UInt32(schemaVersion), recordedAt, occurredAt, version, delta)
    }

    /// Decodes a stored record; every field is validated against `LogLimits`.
    static func decode(position: UInt64, _ bytes: UnsafeRawBufferPointer) throws(RecordDecodingError) -> RecordedEvent {
        var r = ByteReader(bytes)
        let (flags, schemaVersion, recordedAt, occurredAt, version, delta) = try header(position: position, &r)
        let type = try r.string("type", max: LogLimits.typeBytesMax)
        let member = try r.string("member", max: LogLimits.memberBytesMax)
        let key = flags & flagIdempotencyKey != 0 ? try r.string("idempotencyKey", max: LogLimits.idempotencyKeyBytesMax) : nil
        let actor = flags & flagActor != 0 ? try r.string("actor", max: LogLimits.actorBytesMax) : nil
        // The writer's text rules, checked again on the way back (see EventDraftValidation).
        // (Separate calls, not a loop over an array literal, which would be allocated per event.)
        try checkText("type", type, max: LogLimits.typeBytesMax)
        try checkText("member", member, max: LogLimits.memberBytesMax)
        if let key { try checkText("idempotencyKey", key, max: LogLimits.idempotencyKeyBytesMax) }
        if let actor { try checkText("actor", actor, max: LogLimits.actorBytesMax) }
        let data = [UInt8](try r.lengthPrefixed("data", max: LogLimits.dataBytesMax))
        guard r.isAtEnd else { throw RecordDecodingError(field: "data", reason: "\(bytes.count - r.offset) trailing bytes") }
        return RecordedEvent(position: position, recordedAt: recordedAt, occurredAt: occurredAt, type: type,
                             schemaVersion: schemaVersion, member: member, version: version,
                             previousPosition: delta == 0 ? nil : position - delta, idempotencyKey: key, actor: actor,
                             data: data, hash: nil)
    }

    private static func checkText(_ field: String, _ value: String, max: Int) throws(RecordDecodingError) {
        if let problem = EventDraftValidation.problem(value, max: max) { throw RecordDecodingError(field: field, reason: problem) }
    }

    /// Reads only the stream link (version, previousDelta) and the member id, checked as
    /// `decode` checks them: a stream walk needs no more (`EventLog.streamPositions`).
    static func link(position: UInt64, _ bytes: UnsafeRawBufferPointer) throws(RecordDecodingError)
        -> (version: UInt64, previousPosition: UInt64?, member: UnsafeRawBufferPointer) {
        var r = ByteReader(bytes)
        let (_, _, _, _, version, delta) = try header(position: position, &r)
        _ = try r.lengthPrefixed("type", max: LogLimits.typeBytesMax)
        let member = try r.lengthPrefixed("member", max: LogLimits.memberBytesMax)
        return (version, delta == 0 ? nil : position - delta, member)
    }

    /// Reads only the member id (for scans that look for one member), skipping the rest.
    static func member(_ bytes: UnsafeRawBufferPointer) throws(RecordDecodingError) -> UnsafeRawBufferPointer {
        var r = ByteReader(bytes)
        _ = try r.uint8("format")
        _ = try r.uint8("flags")
        _ = try r.varint("schemaVersion")
        _ = try r.take(16, "times")
        _ = try r.varint("version")
        _ = try r.varint("previousDelta")
        _ = try r.lengthPrefixed("type", max: LogLimits.typeBytesMax)
        return try r.lengthPrefixed("member", max: LogLimits.memberBytesMax)
    }
}

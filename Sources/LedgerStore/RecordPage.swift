import ByteCodec

/// One stored record as a replica receives it: its position, the record bytes exactly as the
/// primary stores them (`record(n)` of schemas/ledger-format.md) and the primary's chain hash
/// `h(n)` over them.
public struct ReplicatedRecord: Sendable, Hashable {
    public var position: UInt64
    public var record: [UInt8]
    public var hash: ChainHash

    public init(position: UInt64, record: [UInt8], hash: ChainHash) {
        (self.position, self.record, self.hash) = (position, record, hash)
    }
}

/// A page of stored records, as `GET /v1/records` sends it (`application/vnd.loyalty.records`):
/// the primary's identity, the chain hash the page continues, and the records after `after`.
///
/// Wire format (integers big-endian, varints minimal unsigned LEB128, as in the log's format):
/// `"LLRP"`, u8 version 1, ledgerId (16 bytes), createdAt (u64, µs), after (u64),
/// previousHash `h(after)` (32 bytes), head (u64), record count (varint), then per record its
/// length (varint), its bytes and its chain hash (32 bytes). Positions are implicit:
/// `after + 1`, `after + 2`, ...
public struct RecordPage: Sendable, Hashable {
    public var ledgerId: [UInt8]
    public var createdAtMicros: Int64
    public var after: UInt64
    public var previousHash: ChainHash
    /// The primary's head when the page was read.
    public var head: UInt64
    public var records: [ReplicatedRecord]

    public init(ledgerId: [UInt8], createdAtMicros: Int64, after: UInt64, previousHash: ChainHash, head: UInt64, records: [ReplicatedRecord]) {
        (self.ledgerId, self.createdAtMicros, self.after, self.previousHash, self.head, self.records)
            = (ledgerId, createdAtMicros, after, previousHash, head, records)
    }

    public static let mediaType = "application/vnd.loyalty.records"
    static let magic = Array("LLRP".utf8)
    static let version: UInt8 = 1
    /// Records in one page (the server's `limit` is at most this).
    public static let recordsMax = 10_000
    /// The largest record a page may carry: the log's own limits plus the fixed fields.
    static let recordBytesMax = LogLimits.dataBytesMax + LogLimits.typeBytesMax + LogLimits.memberBytesMax
        + LogLimits.idempotencyKeyBytesMax + LogLimits.actorBytesMax + 128

    /// The page's header; records are appended with `appendRecord`.
    static func header(ledgerId: [UInt8], createdAtMicros: Int64, after: UInt64, previousHash: ChainHash,
                              head: UInt64, count: Int) -> ByteWriter {
        precondition(ledgerId.count == 16 && count >= 0, "a ledger id has 16 bytes")
        var w = ByteWriter(capacity: 128)
        w.append(magic)
        w.uint8(version)
        w.append(ledgerId)
        w.uint64BE(UInt64(bitPattern: createdAtMicros))
        w.uint64BE(after)
        w.append(previousHash.bytes)
        w.uint64BE(head)
        w.varint(UInt64(count))
        return w
    }

    /// Appends one record and its hash to a page being written.
    static func appendRecord(_ record: UnsafeRawBufferPointer, hash: ChainHash, to w: inout ByteWriter) {
        w.varint(UInt64(record.count))
        w.append(record)
        hash.withUnsafeBytes { w.append($0) }
    }

    /// The whole page as bytes.
    public func encoded() -> [UInt8] {
        var w = Self.header(ledgerId: ledgerId, createdAtMicros: createdAtMicros, after: after, previousHash: previousHash,
                            head: head, count: records.count)
        for r in records { r.record.withUnsafeBytes { Self.appendRecord($0, hash: r.hash, to: &w) } }
        return w.bytes
    }

    /// Decodes a page; anything malformed (truncated, a wrong magic, too many or too large
    /// records, trailing bytes) throws naming the field.
    public static func decode(_ bytes: [UInt8]) throws -> RecordPage {
        try decodeTyped(bytes)
    }

    private static func decodeTyped(_ bytes: [UInt8]) throws(ByteCodecError) -> RecordPage {
        try ByteReader.read(bytes) { (r: inout ByteReader) throws(ByteCodecError) -> RecordPage in
            guard try r.bytes(4, "magic") == magic else { throw ByteCodecError(field: "magic", reason: "not a records page") }
            let v = try r.uint8("version")
            guard v == version else { throw ByteCodecError(field: "version", reason: "version \(v), this build reads \(version)") }
            let ledgerId = try r.bytes(16, "ledgerId")
            let createdAt = Int64(bitPattern: try r.uint64BE("createdAt"))
            let after = try r.uint64BE("after")
            let previous = ChainHash(bytes: try r.bytes(32, "previousHash"))
            let head = try r.uint64BE("head")
            let count = try r.varint("count")
            guard count <= UInt64(recordsMax) else { throw ByteCodecError(field: "count", reason: "\(count) records, at most \(recordsMax)") }
            guard after <= UInt64.max - count else { throw ByteCodecError(field: "after", reason: "\(after) + \(count) overflows") }
            var records: [ReplicatedRecord] = []
            records.reserveCapacity(Int(count))
            for i in 0..<count {
                let record = [UInt8](try r.lengthPrefixed("record", max: recordBytesMax))
                let hash = ChainHash(bytes: try r.bytes(32, "hash"))
                records.append(ReplicatedRecord(position: after + i + 1, record: record, hash: hash))
            }
            guard r.isAtEnd else { throw ByteCodecError(field: "records", reason: "\(r.remainingCount) trailing bytes") }
            return RecordPage(ledgerId: ledgerId, createdAtMicros: createdAt, after: after, previousHash: previous, head: head, records: records)
        }
    }
}

/// A ledger's identity: its 16-byte id and creation time (`meta/ledgerId`, `meta/createdAt`).
/// A replica has its primary's.
public struct LedgerIdentity: Sendable, Hashable {
    public var ledgerId: [UInt8]
    public var createdAtMicros: Int64

    public init(ledgerId: [UInt8], createdAtMicros: Int64) {
        precondition(ledgerId.count == 16, "a ledger id has 16 bytes")
        (self.ledgerId, self.createdAtMicros) = (ledgerId, createdAtMicros)
    }

    public var hex: String { Self.hex(ledgerId) }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0F)]] }, as: UTF8.self)
    }
}

/// Replication: a replica's log is its primary's, record for record and hash for hash.
extension EventLog {
    /// True when this log was opened for appending (it holds the writer lock).
    public var isWritable: Bool { writer != nil }

    /// This ledger's id and creation time.
    public func identity() throws -> LedgerIdentity {
        do {
            return LedgerIdentity(ledgerId: ledgerId, createdAtMicros: try store.createdAtMicros() ?? 0)
        } catch {
            throw LedgerError.wrap(error, mapSizeMaxBytes: options.lmdb.mapSizeMaxBytes)
        }
    }

    /// Appends records copied from the primary (`RecordPage`), already hashed there, as one commit:
    /// each is checked before it is stored (see `LogWriter.stageReplicated`: the next position,
    /// a record that decodes, the chain hash recomputed from this log's head equal to the one
    /// received, times, stream links, keys). Throws `ReplicationRefusal` at the first record
    /// refused; the records before it are stored.
    public func appendReplicated(_ records: [ReplicatedRecord]) async throws -> AppendResult {
        guard let writer else { throw LedgerError.notWritable(reason: "opened read-only") }
        guard (1...RecordPage.recordsMax).contains(records.count) else {
            throw LedgerError.invalidBatchSize(count: records.count, max: RecordPage.recordsMax)
        }
        return try await writer.submit(.replicate(records))
    }
}

extension EventLog {
    /// At most `limit` stored records after `position` with their chain hashes, encoded as a
    /// `RecordPage`, read in one short transaction; nil when `position` is past the head. Each
    /// hash computed at a chain checkpoint is compared with the stored one, so a page never
    /// carries a chain this log's own checkpoints contradict (that throws `corrupt`).
    public func encodedRecordPage(after position: UInt64, limit: Int) throws -> (bytes: [UInt8], count: Int, head: UInt64)? {
        precondition(limit >= 0, "limit must not be negative")
        let limit = min(limit, RecordPage.recordsMax)
        let createdAt = try identity().createdAtMicros
        return try read { txn in
            let head = try store.headPosition(txn: txn)
            guard position <= head else { return nil }
            var hash = try store.chainHash(at: position, txn: txn)
            let count = Int(min(UInt64(limit), head - position))
            var w = RecordPage.header(ledgerId: ledgerId, createdAtMicros: createdAt, after: position, previousHash: hash,
                                      head: head, count: count)
            guard count > 0 else { return (w.bytes, 0, head) }
            try txn.withCursor(store.events) { cursor in
                try ByteCoding.positionKey(position + 1).withUnsafeBytes { k in
                    var entry = try cursor.seek(atLeast: k)
                    for i in 1...UInt64(count) {
                        let expected = position + i
                        guard let e = entry, ByteCoding.readUInt64BE(e.key) == expected else {
                            throw LedgerError.corrupt(position: expected, reason: "gap in positions")
                        }
                        hash = hash.next(position: expected, record: e.value)
                        if expected % LogLimits.chainCheckpointInterval == 0 {
                            guard let stored = try txn.value(store.chain, key: ByteCoding.positionKey(expected)), stored == hash.bytes else {
                                throw LedgerError.corrupt(position: expected, reason: "the chain hash differs from the stored checkpoint")
                            }
                        }
                        RecordPage.appendRecord(e.value, hash: hash, to: &w)
                        entry = i < UInt64(count) ? try cursor.next() : nil
                    }
                }
            }
            return (w.bytes, count, head)
        }
    }
}

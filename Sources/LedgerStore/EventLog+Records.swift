/// Raw access to the stored event records, for derived structures that must hash exactly what the
/// hash chain covers (the Merkle tree of LedgerProofs): `record(n)` of schemas/ledger-format.md.
extension EventLog {
    /// The 16-byte ledger id (`meta/ledgerId`).
    public var ledgerIdentifier: [UInt8] { ledgerId }

    /// A copy of the stored record bytes at `position` (`record(n)`, byte for byte), or nil past
    /// the head or for position 0.
    public func recordBytes(at position: UInt64) throws -> [UInt8]? {
        guard position >= 1 else { return nil }
        return try read { txn in try txn.value(store.events, key: ByteCoding.positionKey(position)) }
    }

    /// Calls `body` with the position and the borrowed record bytes of at most `limit` events
    /// after `position`, in order, inside one short read transaction (at most
    /// `LogLimits.readBatchEventsMax` events). The bytes are valid only during the call. Returns
    /// the number of events visited. Throws `corrupt` on a gap.
    @discardableResult
    public func forEachRecord(after position: UInt64, limit: Int,
                              _ body: (UInt64, UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        try forEachRecord(after: position, limit: limit) { at, bytes, _ in try body(at, bytes) }
    }

    /// `forEachRecord`, also passing the `neutralised` table as of the same read transaction.
    func forEachRecord(after position: UInt64, limit: Int,
                       _ body: (UInt64, UnsafeRawBufferPointer, [UInt64: UInt64]) throws -> Void) throws -> Int {
        precondition(limit >= 0, "limit must not be negative")
        let limit = min(limit, LogLimits.readBatchEventsMax)
        return try read { txn in
            let neutralised = try store.neutralisedTable(txn: txn)
            var count = 0
            try txn.withCursor(store.events) { cursor in
                try ByteCoding.positionKey(position + 1).withUnsafeBytes { k in
                    var entry = count < limit ? try cursor.seek(atLeast: k) : nil
                    while let e = entry {
                        let expected = position + UInt64(count) + 1
                        guard ByteCoding.readUInt64BE(e.key) == expected else {
                            throw LedgerError.corrupt(position: expected, reason: "gap in positions")
                        }
                        try body(expected, e.value, neutralised)
                        count += 1
                        entry = count < limit ? try cursor.next() : nil
                    }
                }
            }
            return count
        }
    }

    /// The chain hash `h(position)` (the genesis hash for 0), or nil past the head.
    public func chainHash(at position: UInt64) throws -> ChainHash? {
        try read { txn in
            guard position <= (try store.headPosition(txn: txn)) else { return nil }
            return try store.chainHash(at: position, txn: txn)
        }
    }

    /// Decodes stored record bytes (`record(position)`, e.g. from an inclusion proof) with every
    /// rule of the format; throws `corrupt` naming the field.
    public static func decodeRecord(_ bytes: [UInt8], position: UInt64) throws -> RecordedEvent {
        do {
            return try bytes.withUnsafeBytes { raw throws(RecordDecodingError) in try EventRecord.decode(position: position, raw) }
        } catch {
            throw LedgerError.corrupt(position: position, reason: "\(error)")
        }
    }

    /// Copies the log environment (`data.mdb` only, not `index/`) to the empty directory
    /// `directory`, compacting: a consistent snapshot taken by one LMDB read transaction, safe
    /// while a writer appends.
    public func copyLogCompacting(to directory: String) throws {
        do {
            try store.env.copyCompacting(to: directory)
        } catch {
            throw LedgerError.wrap(error, mapSizeMaxBytes: options.lmdb.mapSizeMaxBytes)
        }
    }
}

import Foundation

/// The log environment (`<ledger>/data.mdb`) and its databases: `meta`, `events`, `chain`.
/// Reading helpers take a transaction so that callers choose how short it is.
final class LogStore: Sendable {
    let env: LMDBEnvironment
    let meta: LMDBDatabase
    let events: LMDBDatabase
    let chain: LMDBDatabase
    /// Neutralised positions (EventLog+Neutralise.swift); nil in a read-only open of a ledger without one.
    let neutralised: LMDBDatabase?

    static let format = "loyalty-ledger/1"

    init(env: LMDBEnvironment, create: Bool) throws {
        self.env = env
        meta = try env.database("meta", create: create)
        events = try env.database("events", create: create)
        chain = try env.database("chain", create: create)
        neutralised = try Self.openNeutralised(env: env, create: create)
    }

    /// Checks (or, for a new ledger, writes) the format and ledger id; returns the ledger id.
    /// With `identity` (a replica), a new ledger takes that id and creation time, and an
    /// existing one must have that id.
    func checkFormat(path: String, create: Bool, identity: LedgerIdentity? = nil) throws -> [UInt8] {
        let existing = try env.read { txn in
            (try txn.value(meta, key: Array("format".utf8)), try txn.value(meta, key: Array("ledgerId".utf8)))
        }
        if let format = existing.0 {
            guard format == Array(LogStore.format.utf8) else {
                throw LedgerError.notALedger(path: path, reason: "format '\(String(decoding: format, as: UTF8.self))', this build reads '\(LogStore.format)'")
            }
            guard let id = existing.1, id.count == 16 else {
                throw LedgerError.notALedger(path: path, reason: "meta/ledgerId is \(existing.1.map { "\($0.count) bytes" } ?? "missing"), not 16 bytes (format 5.1)")
            }
            if let identity, identity.ledgerId != id {
                throw LedgerError.notALedger(path: path, reason: "it is ledger \(LedgerIdentity.hex(id)), not a replica of ledger \(LedgerIdentity.hex(identity.ledgerId))")
            }
            return id
        }
        guard create else { throw LedgerError.noLedger(path: path) }
        var id = [UInt8](repeating: 0, count: 16)
        var generator = SystemRandomNumberGenerator()
        for i in id.indices { id[i] = UInt8.random(in: 0...255, using: &generator) }
        let createdAt = identity?.createdAtMicros ?? LogWriter.nowMicros()
        if let identity { id = identity.ledgerId }
        try env.write { txn in
            try txn.put(meta, key: Array("format".utf8), value: Array(LogStore.format.utf8))
            try txn.put(meta, key: Array("ledgerId".utf8), value: id)
            try txn.put(meta, key: Array("createdAt".utf8), value: ByteCoding.positionKey(UInt64(bitPattern: createdAt)))
        }
        return id
    }

    /// `meta/createdAt` (µs since the epoch), or nil when absent or malformed.
    func createdAtMicros() throws -> Int64? {
        try env.read { txn in
            guard let v = try txn.value(meta, key: Array("createdAt".utf8)), v.count == 8 else { return nil }
            return v.withUnsafeBytes { ByteCoding.readUInt64BE($0) }.map { Int64(bitPattern: $0) }
        }
    }

    func event(at position: UInt64, txn: LMDBTransaction) throws -> RecordedEvent {
        var event = try record(at: position, txn: txn) { (bytes) throws(RecordDecodingError) in try EventRecord.decode(position: position, bytes) }
        event.neutralisedBy = try neutralisedBy(position, txn: txn)
        return event
    }

    /// The event among `candidates` (positions whose key fingerprint matched) that carries `key`,
    /// at or before `through`: the stored key decides.
    func event(withKey key: String, among candidates: [UInt64], through: UInt64, txn: LMDBTransaction) throws -> RecordedEvent? {
        for position in candidates where position >= 1 && position <= through {
            let event = try event(at: position, txn: txn)
            if event.idempotencyKey == key { return event }
        }
        return nil
    }

    /// The stream link and member id of the record at `position` (`EventRecord.link`); the
    /// member bytes point into the map and are valid for the transaction only.
    func link(at position: UInt64, txn: LMDBTransaction) throws -> (version: UInt64, previousPosition: UInt64?, member: UnsafeRawBufferPointer) {
        try record(at: position, txn: txn) { (bytes) throws(RecordDecodingError) in try EventRecord.link(position: position, bytes) }
    }

    /// `read` over the stored record at `position`; a missing or undecodable record is corrupt.
    private func record<T>(at position: UInt64, txn: LMDBTransaction,
                           _ read: (UnsafeRawBufferPointer) throws(RecordDecodingError) -> T) throws -> T {
        let key = ByteCoding.positionKey(position)
        return try key.withUnsafeBytes { k in
            guard let bytes = try txn.borrowValue(events, key: k) else {
                throw LedgerError.corrupt(position: position, reason: "event missing")
            }
            do {
                return try read(bytes)
            } catch {
                throw LedgerError.corrupt(position: position, reason: "\(error)")
            }
        }
    }

    /// The last position (0 for an empty log).
    func headPosition(txn: LMDBTransaction) throws -> UInt64 {
        try txn.withCursor(events) { cursor in
            guard let last = try cursor.last() else { return 0 }
            guard let p = ByteCoding.readUInt64BE(last.key) else {
                throw LedgerError.corrupt(position: 0, reason: "events key of \(last.key.count) bytes")
            }
            return p
        }
    }

    /// The chain hash after `position`: from the nearest stored checkpoint, re-hashing at most
    /// `chainCheckpointInterval - 1` records.
    func chainHash(at position: UInt64, txn: LMDBTransaction) throws -> ChainHash {
        let base = position - position % LogLimits.chainCheckpointInterval
        var hash = ChainHash.genesis
        if base > 0 {
            guard let stored = try txn.value(chain, key: ByteCoding.positionKey(base)), stored.count == 32 else {
                throw LedgerError.corrupt(position: base, reason: "chain checkpoint missing")
            }
            hash = ChainHash(bytes: stored)
        }
        if base == position { return hash }
        try txn.withCursor(events) { cursor in
            try ByteCoding.positionKey(base + 1).withUnsafeBytes { k in
                var entry = try cursor.seek(atLeast: k)
                var expected = base + 1
                while let e = entry, expected <= position {
                    guard ByteCoding.readUInt64BE(e.key) == expected else {
                        throw LedgerError.corrupt(position: expected, reason: "event missing")
                    }
                    hash = hash.next(position: expected, record: e.value)
                    expected += 1
                    entry = try cursor.next()
                }
                guard expected == position + 1 else { throw LedgerError.corrupt(position: expected, reason: "event missing") }
            }
        }
        return hash
    }

    func head(txn: LMDBTransaction) throws -> LogHead {
        let position = try headPosition(txn: txn)
        let hash = try chainHash(at: position, txn: txn)
        let recordedAt = position == 0 ? 0 : try event(at: position, txn: txn).recordedAt
        return LogHead(position: position, hash: hash, recordedAt: recordedAt)
    }

    /// Events after `position`, at most `limit`, in order; with `hashFrom`, each event's chain hash
    /// is computed from the hash at `position`.
    func events(after position: UInt64, limit: Int, hashFrom: ChainHash?, txn: LMDBTransaction) throws -> [RecordedEvent] {
        var out: [RecordedEvent] = []
        out.reserveCapacity(min(limit, 1024))
        var hash = hashFrom
        let neutralisedTable = try neutralisedTable(txn: txn)
        try txn.withCursor(events) { cursor in
            try ByteCoding.positionKey(position + 1).withUnsafeBytes { k in
                var entry = try cursor.seek(atLeast: k)
                var expected = position + 1
                while let e = entry, out.count < limit {
                    guard ByteCoding.readUInt64BE(e.key) == expected else {
                        throw LedgerError.corrupt(position: expected, reason: "gap in positions")
                    }
                    var event: RecordedEvent
                    do {
                        event = try EventRecord.decode(position: expected, e.value)
                    } catch {
                        throw LedgerError.corrupt(position: expected, reason: "\(error)")
                    }
                    event.neutralisedBy = neutralisedTable[expected]
                    if let h = hash {
                        let next = h.next(position: expected, record: e.value)
                        event.hash = next
                        hash = next
                    }
                    out.append(event)
                    expected += 1
                    entry = try cursor.next()
                }
            }
        }
        return out
    }
}

import ByteCodec
import Foundation
import LedgerStore
import LoyaltyDomain

/// The decision state kept beside the log, in `<ledger>/decisions/` (its own LMDB environment):
/// every member's `MemberState`, the owner tables (purchase, redemption, hold, adjustment ->
/// member; return -> purchase; card number -> card; card key -> number; tier-set key -> member and tier), the program-wide state, and the checkpoint: the log position the
/// whole state reflects, with the chain hash there. One write transaction carries a flush and its
/// checkpoint, so a crash leaves the state at one checkpoint or the next, never between; the
/// events after the checkpoint are folded again at the next open.
///
/// Only the process holding the log's writer lock writes here; other processes read. Derived
/// data: a missing, damaged or foreign state (another ledger, another position's hash, another
/// format version) is folded anew from the log.
final class DecisionStore: Sendable {
    let env: LMDBEnvironment
    let members: LMDBDatabase
    let owners: LMDBDatabase
    let meta: LMDBDatabase

    /// Owner tables, by the first byte of their keys.
    enum OwnerKind: UInt8, Sendable, CaseIterable {
        case purchase = 0x70  // "p": purchase id -> member
        case redemption = 0x72  // "r": redemption id -> member
        case hold = 0x68  // "h": hold id -> member
        case returned = 0x74  // "t": return id -> (purchase id, amount)
        case adjustment = 0x61  // "a": adjustment key -> member
        case card = 0x63  // "c": card number -> card (`LedgerModel.cardBytes`)
        case cardKey = 0x6B  // "k": card issue key -> card number
        case tierSet = 0x73  // "s": tier-set key -> (member, tier)
    }

    /// Where the stored state stands.
    struct Checkpoint: Equatable, Sendable {
        var format: UInt32
        var ledgerId: [UInt8]
        /// The last log position folded in (0: none).
        var position: UInt64
        /// The chain hash at `position` (empty at 0).
        var hash: [UInt8]
        /// How many events the log had neutralised when the state was written.
        var neutralised: Int
    }

    /// What one flush writes.
    struct Flush {
        var members: [(id: String, bytes: [UInt8])] = []
        var owners: [(kind: OwnerKind, id: String, value: [UInt8]?)] = []
        var program: [UInt8]
        var checkpoint: Checkpoint
    }

    static func path(ledger: String) -> String { ledger + "/decisions" }

    private init(env: LMDBEnvironment, members: LMDBDatabase, owners: LMDBDatabase, meta: LMDBDatabase) {
        (self.env, self.members, self.owners, self.meta) = (env, members, owners, meta)
    }

    /// Opens the store of the ledger at `ledgerPath`. A writer (holding the log's writer lock)
    /// creates it, and makes a damaged one anew; a reader gets nil when there is none to read.
    static func open(ledgerPath: String, writable: Bool) throws -> DecisionStore? {
        let path = Self.path(ledger: ledgerPath)
        var options = LMDBOptions()
        // Derived data: a flush and its checkpoint must be atomic, not durable (a lost flush is
        // folded again from the log at the next open).
        options.durability = .relaxed
        options.maxDatabases = 4
        options.mapSizeBytes = 64 << 20
        options.readOnly = !writable
        if !writable {
            guard FileManager.default.fileExists(atPath: path + "/data.mdb") else { return nil }
            return try make(path: path, options: options, create: false)
        }
        return try DerivedFolder.open(path) { try make(path: path, options: options, create: true) }
    }

    private static func make(path: String, options: LMDBOptions, create: Bool) throws -> DecisionStore {
        let env = try LMDBEnvironment.open(path: path, options: options)
        let store = DecisionStore(env: env, members: try env.database("members", create: create),
                                  owners: try env.database("owners", create: create), meta: try env.database("meta", create: create))
        _ = try store.checkpoint()  // a damaged meta page fails here, at open
        return store
    }

    private static let checkpointKey = Array("checkpoint".utf8)
    private static let programKey = Array("program".utf8)

    func checkpoint() throws -> Checkpoint? {
        try env.read { txn in try txn.value(meta, key: Self.checkpointKey) }.flatMap(Self.decodeCheckpoint)
    }

    private static func encode(_ c: Checkpoint) -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.uint32LE(c.format)
        w.uint64LE(c.position)
        w.uint64LE(UInt64(c.neutralised))
        w.uint8(UInt8(c.hash.count))
        w.append(c.hash)
        w.append(c.ledgerId)
        return w.bytes
    }

    /// nil for bytes of any other form: the state is then folded anew.
    private static func decodeCheckpoint(_ b: [UInt8]) -> Checkpoint? {
        try? ByteReader.read(b) { (r: inout ByteReader) throws(ByteCodecError) -> Checkpoint? in
            let format = try r.uint32LE(), position = try r.uint64LE(), neutralised = try r.uint64LE()
            let hashCount = Int(try r.uint8())
            guard hashCount == 0 || hashCount == 32, neutralised <= UInt64(Int.max) else { return nil }
            let hash = try r.bytes(hashCount)
            return Checkpoint(format: format, ledgerId: try r.bytes(r.remainingCount), position: position, hash: hash,
                              neutralised: Int(neutralised))
        } ?? nil
    }

    /// Reads within one transaction (a consistent snapshot of one checkpoint).
    struct Reader {
        let store: DecisionStore
        let txn: LMDBTransaction

        // Ids come from commands not validated yet (the decision validates them after loading
        // what it reads): one no stored key can have (empty, or longer than LMDB's key limit,
        // which is far above `DomainLimits`) is absent, not an LMDB error.
        func member(_ id: String) throws -> [UInt8]? {
            guard Self.storable(id.utf8.count) else { return nil }
            return try txn.value(store.members, key: Array(id.utf8))
        }

        func owner(_ kind: OwnerKind, _ id: String) throws -> [UInt8]? {
            guard Self.storable(id.utf8.count + 1) else { return nil }
            return try txn.value(store.owners, key: [kind.rawValue] + Array(id.utf8))
        }

        /// LMDB's key size limit (MDB_MAXKEYSIZE, 511 bytes by default) and its refusal of empty keys.
        static func storable(_ keyBytes: Int) -> Bool { keyBytes > 0 && keyBytes <= 511 }

        func program() throws -> [UInt8]? { try txn.value(store.meta, key: DecisionStore.programKey) }

        func checkpoint() throws -> Checkpoint? {
            try txn.value(store.meta, key: DecisionStore.checkpointKey).flatMap(DecisionStore.decodeCheckpoint)
        }
    }

    func read<T>(_ body: (Reader) throws -> T) throws -> T {
        try env.read { txn in try body(Reader(store: self, txn: txn)) }
    }

    /// Writes `flush` in one transaction, unless the stored checkpoint is already past its
    /// position (the state never moves back). Returns whether it wrote.
    @discardableResult
    func write(_ flush: Flush) throws -> Bool {
        try env.write { txn in
            if let stored = try txn.value(meta, key: Self.checkpointKey).flatMap(Self.decodeCheckpoint),
               stored.ledgerId == flush.checkpoint.ledgerId, stored.format == flush.checkpoint.format,
               stored.position > flush.checkpoint.position {
                return false
            }
            for m in flush.members { try txn.put(members, key: Array(m.id.utf8), value: m.bytes) }
            for o in flush.owners {
                let key = [o.kind.rawValue] + Array(o.id.utf8)
                if let value = o.value { try txn.put(owners, key: key, value: value) } else { _ = try txn.delete(owners, key: key) }
            }
            try txn.put(meta, key: Self.programKey, value: flush.program)
            try txn.put(meta, key: Self.checkpointKey, value: Self.encode(flush.checkpoint))
            return true
        }
    }

    /// Empties the store (before a fold from position 0).
    func clear() throws {
        try env.write { txn in
            try txn.clear(members)
            try txn.clear(owners)
            try txn.clear(meta)
        }
    }

    /// Entries read per read transaction by scans: short readers, bounded.
    static let scanBatchEntriesMax = 2_048

    /// Every member's stored state, in key order (the member id's UTF-8 bytes), a batch of
    /// entries per read transaction.
    func forEachMember(_ body: (_ id: [UInt8], _ bytes: [UInt8]) throws -> Void) throws {
        try scan(members, body)
    }

    /// Every owner-table entry, in key order (kind byte, then id).
    func forEachOwner(_ body: (_ key: [UInt8], _ value: [UInt8]) throws -> Void) throws {
        try scan(owners, body)
    }

    private func scan(_ db: LMDBDatabase, _ body: ([UInt8], [UInt8]) throws -> Void) throws {
        var after: [UInt8]?
        while true {
            let batch: [([UInt8], [UInt8])] = try env.read { txn in
                try txn.withCursor(db) { cursor in
                    var out: [([UInt8], [UInt8])] = []
                    var entry: LMDBCursor.Entry?
                    if let after {
                        entry = try after.withUnsafeBytes { try cursor.seek(atLeast: $0) }
                        if let e = entry, Array(e.key) == after { entry = try cursor.next() }
                    } else {
                        entry = try cursor.first()
                    }
                    while let e = entry, out.count < Self.scanBatchEntriesMax {
                        out.append((Array(e.key), Array(e.value)))
                        entry = try cursor.next()
                    }
                    return out
                }
            }
            for (k, v) in batch { try body(k, v) }
            guard batch.count == Self.scanBatchEntriesMax, let last = batch.last else { return }
            after = last.0
        }
    }

    func memberCount() throws -> Int { try env.read { txn in try txn.entryCount(members) } }
}

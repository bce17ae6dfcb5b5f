import LedgerStore
import Crypto
import Foundation

/// Where a projection stands: its fold version, which of its two tables holds it, and the last
/// log position applied. Stored with the projection's entries, in the same transaction.
public struct ProjectionMeta: Sendable, Equatable {
    public var version: Int
    /// Counts builds; the table is `generation % 2`, so a rebuild writes the other table.
    public var generation: UInt64
    /// The last log position applied (0: nothing yet).
    public var checkpoint: UInt64
    /// Ledger time of the event at `checkpoint` (for lag in seconds).
    public var checkpointRecordedAt: Int64

    var slot: Int { Int(generation % 2) }

    var bytes: [UInt8] {
        var w = ValueWriter(capacity: 32)
        w.int64(Int64(version))
        w.uint64(generation)
        w.uint64(checkpoint)
        w.int64(checkpointRecordedAt)
        return w.bytes
    }

    init(version: Int, generation: UInt64, checkpoint: UInt64, checkpointRecordedAt: Int64) {
        self.version = version
        self.generation = generation
        self.checkpoint = checkpoint
        self.checkpointRecordedAt = checkpointRecordedAt
    }

    init(_ name: String, bytes: UnsafeRawBufferPointer) throws(ProjectionError) {
        var r = ValueReader(bytes)
        do {
            version = Int(try r.int64())
            generation = try r.uint64()
            checkpoint = try r.uint64()
            checkpointRecordedAt = try r.int64()
        } catch {
            throw .damagedMeta(name: name, reason: "\(error)")
        }
        guard r.isAtEnd else { throw .damagedMeta(name: name, reason: "\(bytes.count) bytes, expected 32") }
    }
}

/// The live projection answers queries; a build is a rebuild in progress, swapped in when done.
enum ProjectionRole: String, Sendable {
    case live, build
}

/// The projections' own LMDB environment, `<ledger>/projections/`: projection writes never
/// serialize with appends. Databases: `meta` (`live/NAME`, `build/NAME` -> ProjectionMeta) and two
/// tables per projection, `NAME.0` and `NAME.1` (key -> encoded value). Everything here is derived
/// from the log: deleting the directory is safe, the projections are rebuilt.
public final class ProjectionStore: Sendable {
    let env: LMDBEnvironment
    let meta: LMDBDatabase
    /// Names of the projections whose tables exist; fixed at open.
    let tables: [String: [LMDBDatabase]]

    /// Entries read per read transaction by scans (exports, digests): short readers, bounded.
    static let scanBatchEntriesMax = 2_048

    /// Held while this store is open: one process at a time folds into the projections (two
    /// rebuilds or catch-ups at once would apply the same events twice). Beside the folder, not in
    /// it, so that it outlives a damaged folder being deleted and rebuilt.
    private let processLock: ProcessLock
    /// How long an open waits for another process's `projections.lock` before it is refused.
    public static let lockWaitMillisecondsDefault = 120_000

    public init(ledgerPath: String, names: [String], lockWaitMilliseconds: Int = ProjectionStore.lockWaitMillisecondsDefault) throws {
        processLock = try ProcessLock(path: ledgerPath + "/projections.lock", waitMilliseconds: lockWaitMilliseconds,
                                      what: "using the projections (a catch-up or rebuild)")
        var options = LMDBOptions()
        // Derived data: atomicity is needed (state and checkpoint together), durability is not
        // (a lost commit is re-applied from the log), so a commit syncs once, not twice.
        options.durability = .relaxed
        options.maxDatabases = UInt32(1 + 2 * names.count + 4)
        options.mapSizeBytes = 64 << 20
        // The lock is held: a damaged folder is made anew, and the next catch-up refills it.
        let path = ledgerPath + "/projections"
        (env, meta, tables) = try DerivedFolder.open(path) { try Self.openEnvironment(path: path, options: options, names: names) }
    }

    private static func openEnvironment(path: String, options: LMDBOptions, names: [String]) throws
        -> (LMDBEnvironment, LMDBDatabase, [String: [LMDBDatabase]]) {
        let env = try LMDBEnvironment.open(path: path, options: options)
        let meta = try env.database("meta", create: true)
        var tables: [String: [LMDBDatabase]] = [:]
        for name in names {
            tables[name] = [try env.database("\(name).0", create: true), try env.database("\(name).1", create: true)]
        }
        return (env, meta, tables)
    }

    func table(_ name: String, slot: Int) -> LMDBDatabase {
        guard let t = tables[name] else { preconditionFailure("projection '\(name)' was not opened") }
        return t[slot]
    }

    static func metaKey(_ name: String, _ role: ProjectionRole) -> [UInt8] { Array("\(role.rawValue)/\(name)".utf8) }

    func meta(_ name: String, _ role: ProjectionRole, txn: LMDBTransaction) throws -> ProjectionMeta? {
        try Self.metaKey(name, role).withUnsafeBytes { k in
            try txn.borrowValue(meta, key: k).map { b throws(ProjectionError) in try ProjectionMeta(name, bytes: b) }
        }
    }

    func meta(_ name: String, _ role: ProjectionRole) throws -> ProjectionMeta? {
        try env.read { txn in try meta(name, role, txn: txn) }
    }

    func putMeta(_ m: ProjectionMeta?, _ name: String, _ role: ProjectionRole, txn: LMDBTransaction) throws {
        if let m { try txn.put(meta, key: Self.metaKey(name, role), value: m.bytes) } else { try txn.delete(meta, key: Self.metaKey(name, role)) }
    }

    static func stopKey(_ name: String) -> [UInt8] { Array("stop/\(name)".utf8) }

    /// Where projection `name` stopped (nil: it did not, or it went past that event since).
    func stop(_ name: String, txn: LMDBTransaction) throws -> ProjectionStop? {
        let stop = try Self.stopKey(name).withUnsafeBytes { k in
            try txn.borrowValue(meta, key: k).map { b throws(ProjectionError) in try ProjectionStop(projection: name, bytes: b) }
        }
        guard let stop, let live = try meta(name, .live, txn: txn), live.checkpoint < stop.position else { return nil }
        return stop
    }

    func putStop(_ stop: ProjectionStop?, _ name: String, txn: LMDBTransaction) throws {
        if let stop { try txn.put(meta, key: Self.stopKey(name), value: stop.bytes) } else { _ = try txn.delete(meta, key: Self.stopKey(name)) }
    }

    /// The live value at `key`, decoded by `F`, with the live meta it was read under.
    public func value<F: ProjectionFold>(_ fold: F.Type, key: String) throws -> F.Value? {
        try env.read { txn -> F.Value? in
            guard let m = try meta(F.name, .live, txn: txn) else { return nil }
            return try Array(key.utf8).withUnsafeBytes { k -> F.Value? in
                try txn.borrowValue(table(F.name, slot: m.slot), key: k).map { b throws(ProjectionError) in try F.decoded(b) }
            }
        }
    }

    /// Visits the live entries whose keys start with `prefix`, in key order, reading in short
    /// transactions. Throws if a rebuild is swapped in half-way (the visit would mix two builds).
    public func forEach<F: ProjectionFold>(_ fold: F.Type, prefix: String = "",
                                           _ body: (String, F.Value) throws -> Void) throws {
        try scan(F.name, .live, prefix: prefix) { key, bytes in try body(key, try F.decoded(bytes)) }
    }

    /// Visits every live entry in key order inside one read transaction, so that all of them and
    /// the returned checkpoint are one consistent snapshot (for reconciliation). Returns nil when
    /// the projection was never built.
    public func snapshot<F: ProjectionFold>(_ fold: F.Type, _ body: (String, F.Value) throws -> Void) throws -> UInt64? {
        try env.read { txn -> UInt64? in
            guard let m = try meta(F.name, .live, txn: txn) else { return nil }
            try txn.withCursor(table(F.name, slot: m.slot)) { cursor in
                var entry = try cursor.first()
                while let e = entry {
                    try body(String(decoding: e.key, as: UTF8.self), try F.decoded(e.value))
                    entry = try cursor.next()
                }
            }
            return m.checkpoint
        }
    }

    /// Raw scan of one projection's table (of the live or build meta), in batches.
    func scan(_ name: String, _ role: ProjectionRole, prefix: String = "",
              _ body: (String, UnsafeRawBufferPointer) throws -> Void) throws {
        var after: [UInt8]? = nil
        var generation: UInt64? = nil
        while true {
            let more: Bool = try env.read { txn in
                guard let m = try meta(name, role, txn: txn) else { return false }
                if let g = generation, g != m.generation {
                    throw ProjectionError.damagedMeta(name: name, reason: "a rebuild was swapped in during the scan; run it again")
                }
                generation = m.generation
                return try scanBatch(table(name, slot: m.slot), prefix: Array(prefix.utf8), after: &after, txn: txn, body)
            }
            if !more { return }
        }
    }

    private func scanBatch(_ db: LMDBDatabase, prefix: [UInt8], after: inout [UInt8]?, txn: LMDBTransaction,
                           _ body: (String, UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        try txn.withCursor(db) { cursor in
            let start = after ?? prefix
            // LMDB refuses an empty key: an empty start is the first entry.
            var entry = start.isEmpty ? try cursor.first() : try start.withUnsafeBytes { k in try cursor.seek(atLeast: k) }
            if let a = after, let e = entry, e.key.elementsEqual(a) { entry = try cursor.next() }
            var n = 0
            while let e = entry {
                guard e.key.starts(with: prefix) else { return false }
                try body(String(decoding: e.key, as: UTF8.self), e.value)
                n += 1
                if n == Self.scanBatchEntriesMax { after = [UInt8](e.key); return true }
                entry = try cursor.next()
            }
            return false
        }
    }

    /// SHA-256 over every entry in key order (u32le key length, key, u32le value length, value),
    /// with the checkpoint it was taken at; one read transaction, so both agree.
    func digest(_ name: String, _ role: ProjectionRole) throws -> (checkpoint: UInt64, entries: Int, digest: String)? {
        try env.read { txn in
            guard let m = try meta(name, role, txn: txn) else { return nil }
            var hasher = ProjectionDigest()
            try txn.withCursor(table(name, slot: m.slot)) { cursor in
                var entry = try cursor.first()
                while let e = entry {
                    hasher.add(key: e.key, value: e.value)
                    entry = try cursor.next()
                }
            }
            return (m.checkpoint, hasher.count, hasher.hex)
        }
    }
}

/// The digest of a projection's entries (see `ProjectionStore.digest`).
struct ProjectionDigest {
    var sha = SHA256()
    var count = 0

    mutating func add(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        withUnsafeBytes(of: UInt32(key.count).littleEndian) { sha.update(bufferPointer: $0) }
        sha.update(bufferPointer: key)
        withUnsafeBytes(of: UInt32(value.count).littleEndian) { sha.update(bufferPointer: $0) }
        sha.update(bufferPointer: value)
        count += 1
    }

    var hex: String { sha.finalize().map { String(format: "%02x", $0) }.joined() }
}

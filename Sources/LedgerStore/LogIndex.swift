import ByteCodec
import Synchronization

/// Where a member's stream ends: its last version and that event's position.
struct MemberHead: Equatable, Sendable {
    var version: UInt64
    var position: UInt64
}

/// A stable 64-bit hash of an idempotency key or a member id: FNV-1a over the UTF-8 bytes, then the
/// splitmix64 finalizer to spread the bits. Collisions are harmless (the key table checks every
/// candidate against the full key stored in the event; a partitioned projection run only uses it
/// to share members out); the hash only has to be stable across processes and versions.
public enum KeyHash {
    public static func of(_ key: String) -> UInt64 {
        var key = key
        return key.withUTF8 { of(UnsafeRawBufferPointer($0)) }
    }

    /// The hash of UTF-8 bytes (FNV-1a, then SplitMix64's finalizer so that every bit depends on
    /// every byte). Stable across runs and processes.
    package static func of(_ utf8: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        h = (h ^ (h >> 30)) &* 0xbf58_476d_1ce4_e5b9
        h = (h ^ (h >> 27)) &* 0x94d0_49bb_1331_11eb
        return h ^ (h >> 31)
    }
}

/// One committed event as the index needs it.
struct StagedEntry: Sendable {
    let member: String
    let memberHash: UInt64
    let head: MemberHead
    let keyHash: UInt64?
}

/// Index entries for a range of positions, held in memory until they are written to the index
/// environment. `through` is the highest position whose entries it holds.
struct IndexGeneration: Sendable {
    var members = MemberTable()
    var keys = KeyPositions()
    var through: UInt64 = 0
    var entryCount: Int { members.count + keys.count }

    init() {}

    /// An empty generation with room for as many entries as `other` holds.
    init(reservingLike other: IndexGeneration) {
        members.reserveCapacity(other.members.count)
        keys.reserveCapacity(other.keys.count)
    }

    mutating func record(_ event: StagedEntry) {
        recordHead(event)
        if let hash = event.keyHash { keys.add(hash: hash, position: event.head.position) }
    }

    /// Records the member head only: the writer puts a commit's keys straight into the key table.
    mutating func recordHead(_ event: StagedEntry) {
        members[event.member, event.memberHash] = event.head
        through = max(through, event.head.position)
    }
}

/// Key hash -> positions, without an array per entry: the first position inline, further ones
/// (hash collisions, rare) in a side table.
struct KeyPositions: Sendable {
    private var first = HashSlots<UInt64>(vacant: 0)
    private var more: [UInt64: [UInt64]] = [:]

    var count: Int { first.count + more.count }

    mutating func reserveCapacity(_ n: Int) { first.reserveCapacity(n) }

    mutating func add(hash: UInt64, position: UInt64) {
        if first[hash] == nil {
            first.set(hash, position)
        } else {
            more[hash, default: []].append(position)
        }
    }

    func positions(_ hash: UInt64, into out: inout [UInt64]) {
        if let p = first[hash] {
            out.append(p)
            if let rest = more[hash] { out.append(contentsOf: rest) }
        }
    }

    /// Every (hash, position) pair.
    var all: [(hash: UInt64, position: UInt64)] {
        var out: [(hash: UInt64, position: UInt64)] = []
        out.reserveCapacity(count)
        first.forEach { hash, position in out.append((hash, position)) }
        for (hash, positions) in more { for p in positions { out.append((hash, p)) } }
        return out
    }
}

/// The derived index environment (`<ledger>/index/`): member heads and idempotency-key hashes as
/// of position `indexedThrough`. It is not on the commit path: the writer fills it in the
/// background, and after a crash it is caught up from the log (schemas/ledger-format.md, "Index").
final class LogIndex: Sendable {
    let env: LMDBEnvironment
    let state: LMDBDatabase
    let members: LMDBDatabase
    /// The idempotency-key table; nil only for a read-only open of an index that has none.
    let keys: KeyTable?

    static let format = "loyalty-index/2"

    /// `logHead` bounds the key table's size (see `KeyTable.open`).
    init(env: LMDBEnvironment, create: Bool, logHead: UInt64) throws {
        self.env = env
        state = try env.database("state", create: create)
        members = try env.database("members", create: create)
        keys = try KeyTable.open(path: env.path + "/keys.table", writable: create, logHead: logHead)
    }

    /// The key table as the file holds it now, mapped afresh for reading: a writer in another
    /// process replaces the file when it grows the table, so a mapping made earlier can lack
    /// entries the index already counts as written (`verify` reads through this).
    func currentKeyTable(logHead: UInt64) throws -> KeyTable? {
        try KeyTable.open(path: env.path + "/keys.table", writable: false, logHead: logHead)
    }

    /// Makes the index belong to `ledgerId` and lie within the log; otherwise empties it.
    func adopt(ledgerId: [UInt8], logHead: UInt64) throws {
        try env.write { txn in
            let format = try txn.value(state, key: Array("format".utf8))
            let owner = try txn.value(state, key: Array("ledgerId".utf8))
            let through = try indexedThrough(txn)
            // A key table created just now holds nothing: an index that claims positions without
            // it (its file was deleted) is rebuilt from the log like any other mismatch.
            let tableLost = keys?.wasCreated == true && through > 0
            // Entries past the head name commits a crash lost (relaxed durability): positions the
            // log will reuse for other events. The table cannot delete, so it is rebuilt.
            let tableAhead = (keys?.highestPosition ?? 0) > logHead
            if format == Array(LogIndex.format.utf8), owner == ledgerId, through <= logHead, !tableLost, !tableAhead { return }
            try keys?.clear()
            try txn.clear(members)
            try txn.clear(state)
            try txn.put(state, key: Array("format".utf8), value: Array(LogIndex.format.utf8))
            try txn.put(state, key: Array("ledgerId".utf8), value: ledgerId)
            try txn.put(state, key: Array("indexedThrough".utf8), value: ByteCoding.positionKey(0))
        }
    }

    func indexedThrough(_ txn: LMDBTransaction) throws -> UInt64 {
        guard let bytes = try txn.value(state, key: Array("indexedThrough".utf8)) else { return 0 }
        return bytes.withUnsafeBytes { ByteCoding.readUInt64BE($0) } ?? 0
    }

    func memberHead(_ txn: LMDBTransaction, member: String) throws -> MemberHead? {
        guard let bytes = try txn.value(members, key: Array(member.utf8)) else { return nil }
        return try Self.decodeHead(bytes)
    }

    static func decodeHead(_ bytes: [UInt8]) throws -> MemberHead {
        guard bytes.count == 16 else { throw LedgerError.corrupt(position: 0, reason: "index member head of \(bytes.count) bytes") }
        do {
            return try ByteReader.read(bytes) { (r) throws(ByteCodecError) in
                MemberHead(version: try r.uint64BE("version"), position: try r.uint64BE("position"))
            }
        } catch {
            throw LedgerError.corrupt(position: 0, reason: "index member head: \(error)")
        }
    }

    /// Adds committed events' keys to the key table (in memory; durable at the next `write`).
    func insertKeys(_ entries: [(hash: UInt64, position: UInt64)]) throws {
        guard let keys else { preconditionFailure("insert into a read-only index") }
        try keys.insert(entries)
    }

    /// See `KeyTable.touch`.
    func touchKeys(_ hashes: some Sequence<UInt64>) -> UInt64 { keys?.touch(hashes) ?? 0 }

    func keyPositions(hash: UInt64, into out: inout [UInt64]) {
        keys?.candidates(hash: hash, into: &out)
    }

    /// Writes a generation: its key-table entries (the writer inserted its commits' keys already),
    /// then a sync of the key table, then member heads and the new `indexedThrough` in one
    /// transaction, so that `indexedThrough` never claims more than is durable.
    func write(_ generation: IndexGeneration) throws {
        guard let keys else { preconditionFailure("write to a read-only index") }
        let entries = generation.keys.all
        if !entries.isEmpty { try keys.insert(entries) }
        try keys.sync()
        try env.write { txn in
            let through = try indexedThrough(txn)
            precondition(generation.through >= through, "index generations are written in log order")
            var value = ByteWriter(capacity: 16)
            // Sorted keys touch each B-tree page once.
            for (member, head) in generation.members.sorted() {
                value.bytes.removeAll(keepingCapacity: true)
                value.uint64BE(head.version)
                value.uint64BE(head.position)
                try txn.put(members, key: Array(member.utf8), value: value.bytes)
            }
            try txn.put(state, key: Array("indexedThrough".utf8), value: ByteCoding.positionKey(generation.through))
        }
    }
}

/// The index entries not yet in the index environment: `active` takes new commits; `frozen` is
/// being written by the flusher. Lookups consult active, then frozen, then the index environment.
struct OverlayState: Sendable {
    var active = IndexGeneration()
    var frozen: IndexGeneration?
    /// Set by the flusher when `frozen` is in the index environment; the writer thread then drops
    /// it between two commit groups, so that no lookup ever sees it in neither place.
    var frozenWritten = false
}

/// The overlay shared by the writer thread, the flusher thread and readers of this process.
final class IndexOverlay: Sendable {
    private let state = Mutex(OverlayState())

    func withLock<T: Sendable, E: Error>(_ body: (inout sending OverlayState) throws(E) -> sending T) throws(E) -> T {
        try state.withLock(body)
    }
}

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The idempotency-key index: an open-addressing hash table (linear probing) in a memory-mapped
/// file, `<ledger>/index/keys.table`. Derived data, rebuilt from the log when lost.
///
/// Why not an LMDB B-tree: keys are random, so every background flush rewrote most leaf pages
/// (copy-on-write) and the file held two copies: 130+ bytes per event against a budget of 350 for
/// everything. Here a key costs one 8-byte slot at a load of 3/8 to 3/4: 11 to 21 bytes.
///
/// A slot is a little-endian u64: `position << 24 | fingerprint`, where the fingerprint is the top
/// 24 bits of `KeyHash`; 0 is empty. The home slot is derived from the fingerprint alone (its top
/// bits, or the fingerprint shifted left past 2^24 slots), so the table can double without the
/// keys. A lookup returns candidate positions; the caller compares the full key stored in the
/// event, so fingerprint collisions only cost a read. Entries are only ever added; inserting an
/// existing (position, fingerprint) is a no-op, so re-inserting after a crash is safe.
final class KeyTable: @unchecked Sendable {
    // @unchecked: `map`, `slotBits`, `entryCount` change only under `lock`'s write side; lookups
    // hold its read side.
    static let magic = Array("LLKEYTB1".utf8)
    static let headerBytes = 4096
    static let slotBitsInitial = 16
    static let slotBitsMax = 36
    /// Positions must fit in the slot's 40 bits.
    static let positionMax: UInt64 = (1 << 40) - 1

    let path: String
    private let writable: Bool
    private let lock = ReadWriteLock()
    /// Held by `sync` for its whole `msync` and by `grow` while it replaces the mapping, so that
    /// the mapping being synced is never unmapped meanwhile. Inserts do not take it: a sync of a
    /// large table takes tens of milliseconds, and the writer inserts after every commit.
    private let mappingLock = NSLock()
    private var fd: Int32
    private var map: UnsafeMutableRawPointer
    private var mapBytes: Int
    private(set) var slotBits: Int
    private(set) var entryCount: Int
    /// The highest position any entry points at (0: empty). The writer adds entries right after
    /// each commit, so with full durability this never passes the log's head; a crash under
    /// relaxed durability can lose commits the table already names, and `LogIndex.adopt` then
    /// rebuilds the table rather than keep entries for positions the log will reuse.
    private(set) var highestPosition: UInt64 = 0

    var slotCount: Int { 1 << slotBits }

    /// True when this open created the file (so it holds nothing the index may claim).
    private(set) var wasCreated = false

    /// The most slots a table for a log of `head` events can need: the writer doubles the table
    /// when an insert would pass a load of 3/4, and a log holds at most one key per event, so a
    /// table never needs more than 4 slots per event (and never fewer than the initial size).
    static func slotBitsMax(logHead: UInt64) -> Int {
        var bits = slotBitsInitial
        while bits < slotBitsMax, UInt64(1) << UInt64(bits) < logHead.multipliedReportingOverflow(by: 4).partialValue { bits += 1 }
        return bits
    }

    /// Opens the table, creating an empty one when `writable` and absent. Returns nil when
    /// read-only and absent. A header claiming more slots than a log of `logHead` events can need,
    /// a size that disagrees with the header, or a load past 3/4 is damage: `LedgerError.damaged`.
    static func open(path: String, writable: Bool, logHead: UInt64) throws -> KeyTable? {
        var created = false
        if !FileManager.default.fileExists(atPath: path) {
            guard writable else { return nil }
            try create(path: path, slotBits: slotBitsInitial)
            created = true
        }
        let table = try KeyTable(path: path, writable: writable, slotBitsLimit: slotBitsMax(logHead: logHead))
        table.wasCreated = created
        return table
    }

    private init(path: String, writable: Bool, slotBitsLimit: Int = KeyTable.slotBitsMax) throws {
        self.path = path
        self.writable = writable
        (fd, map, mapBytes, slotBits) = try Self.mapFile(path: path, writable: writable, slotBitsLimit: slotBitsLimit)
        entryCount = 0
        // Counting reads every slot (O(events)): the counts a clean close stored spare it. A
        // table open in a writer, or left by a crash, is counted.
        (entryCount, highestPosition) = storedCounts() ?? countEntries()
        guard entryCount * 4 <= 3 * slotCount else {
            throw LedgerError.damaged(path: path, reason: "\(entryCount) of \(slotCount) slots used, more than the 3/4 the writer allows")
        }
        if writable {
            // Until a clean close writes them again, the stored counts may fall behind.
            setHeaderWord(Self.countedOffset, 0)
            guard msync(map, Self.headerBytes, MS_SYNC) == 0 else { throw LedgerError.io(operation: "msync(\(path))", errno: errno) }
        }
    }

    deinit {
        if writable {
            // A clean close: every entry is in the file, then the counts that describe them, so
            // the next open need not read every slot. (A crash leaves them marked stale.)
            if msync(map, mapBytes, MS_SYNC) == 0 {
                setHeaderWord(Self.entryCountOffset, UInt64(entryCount))
                setHeaderWord(Self.highestPositionOffset, highestPosition)
                setHeaderWord(Self.countedOffset, Self.countedMark)
                _ = msync(map, Self.headerBytes, MS_SYNC)
            }
        }
        munmap(map, mapBytes)
        close(fd)
    }

    /// Header words after the magic and the slot bits: a mark that the two counts after it
    /// describe the file (written at a clean close, cleared at a writer's open).
    static let countedOffset = 16, entryCountOffset = 24, highestPositionOffset = 32
    static let countedMark: UInt64 = 0x4445_5443_4E55_4F43  // "COUNTED" (little-endian)

    private func headerWord(_ offset: Int) -> UInt64 {
        UInt64(littleEndian: map.load(fromByteOffset: offset, as: UInt64.self))
    }

    private func setHeaderWord(_ offset: Int, _ value: UInt64) {
        map.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt64.self)
    }

    /// The counts a clean close stored, when marked valid and plausible for this table.
    private func storedCounts() -> (Int, UInt64)? {
        guard headerWord(Self.countedOffset) == Self.countedMark else { return nil }
        let count = headerWord(Self.entryCountOffset), highest = headerWord(Self.highestPositionOffset)
        guard count <= UInt64(slotCount), highest <= Self.positionMax else { return nil }
        return (Int(count), highest)
    }

    private static func create(path: String, slotBits: Int) throws {
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LedgerError.io(operation: "open(\(path))", errno: errno) }
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: headerBytes)
        header.replaceSubrange(0..<8, with: magic)
        header[8] = UInt8(slotBits)
        // Every block is allocated now: the table is written through a shared mapping, where a
        // full disk would be a SIGBUS at the first store into a hole; here it is ENOSPC.
        let allocated = posix_fallocate(fd, 0, off_t(headerBytes + (8 << slotBits)))
        guard allocated == 0 else {
            unlink(path)
            throw LedgerError.io(operation: "posix_fallocate(\(path), \(headerBytes + (8 << slotBits)) bytes)", errno: allocated)
        }
        guard header.withUnsafeBytes({ pwrite(fd, $0.baseAddress, $0.count, 0) }) == headerBytes,
              fsync(fd) == 0
        else { throw LedgerError.io(operation: "create(\(path))", errno: errno) }
    }

    private static func mapFile(path: String, writable: Bool, slotBitsLimit: Int) throws -> (Int32, UnsafeMutableRawPointer, Int, Int) {
        let fd = Glibc.open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC)
        guard fd >= 0 else { throw LedgerError.io(operation: "open(\(path))", errno: errno) }
        var header = [UInt8](repeating: 0, count: 16)
        var st = stat()
        guard header.withUnsafeMutableBytes({ pread(fd, $0.baseAddress, 16, 0) }) == 16, fstat(fd, &st) == 0,
              Array(header[0..<8]) == magic
        else {
            close(fd)
            throw LedgerError.damaged(path: path, reason: "not a key table of this format")
        }
        let bits = Int(header[8])
        guard bits >= slotBitsInitial, bits <= slotBitsLimit else {
            close(fd)
            throw LedgerError.damaged(path: path, reason: "header claims 2^\(bits) slots; a table for this log has 2^\(slotBitsInitial) to 2^\(slotBitsLimit)")
        }
        guard Int64(st.st_size) == Int64(headerBytes + (8 << bits)) else {
            close(fd)
            throw LedgerError.damaged(path: path, reason: "\(st.st_size) bytes, the header's 2^\(bits) slots need \(headerBytes + (8 << bits))")
        }
        let bytes = Int(st.st_size)
        let prot = writable ? (PROT_READ | PROT_WRITE) : PROT_READ
        guard let p = mmap(nil, bytes, prot, MAP_SHARED, fd, 0), p != MAP_FAILED else {
            close(fd)
            throw LedgerError.io(operation: "mmap(\(path))", errno: errno)
        }
        return (fd, p, bytes, Int(header[8]))
    }

    @inline(__always) private func slot(_ i: Int) -> UInt64 {
        UInt64(littleEndian: map.load(fromByteOffset: Self.headerBytes + i &* 8, as: UInt64.self))
    }

    @inline(__always) private func setSlot(_ i: Int, _ value: UInt64) {
        map.storeBytes(of: value.littleEndian, toByteOffset: Self.headerBytes + i &* 8, as: UInt64.self)
    }

    @inline(__always) static func fingerprint(_ hash: UInt64) -> UInt64 { hash >> 40 }

    @inline(__always) static func home(_ fingerprint: UInt64, slotBits: Int) -> Int {
        slotBits <= 24 ? Int(fingerprint >> UInt64(24 - slotBits)) : Int(fingerprint << UInt64(slotBits - 24))
    }

    /// Loads the home slot of each hash (see `HashSlots.touch`): the writer's lookups of a batch
    /// then find their slots in cache.
    func touch(_ hashes: some Sequence<UInt64>) -> UInt64 {
        lock.withReadLock {
            var sink: UInt64 = 0
            for hash in hashes { sink &+= slot(Self.home(Self.fingerprint(hash), slotBits: slotBits)) }
            return sink
        }
    }

    /// Appends the positions of every entry whose fingerprint matches `hash`.
    func candidates(hash: UInt64, into out: inout [UInt64]) {
        lock.withReadLock {
            let fp = Self.fingerprint(hash)
            let mask = slotCount - 1
            var i = Self.home(fp, slotBits: slotBits)
            // At most every slot once: the load never passes 3/4, but a damaged file may be full.
            for _ in 0..<slotCount {
                let s = slot(i)
                if s == 0 { return }
                if s & 0xFF_FFFF == fp { out.append(s >> 24) }
                i = (i + 1) & mask
            }
        }
    }

    /// Adds entries (growing the table first when they would push the load past 3/4).
    func insert(_ entries: [(hash: UInt64, position: UInt64)]) throws {
        precondition(writable, "insert into a read-only key table")
        var needed = slotBits
        while (entryCount + entries.count) * 4 > (3 << needed) { needed += 1 }
        if needed > slotBits { try grow(to: needed) }
        // In chunks, so that the writer's lookups wait at most one chunk.
        for chunk in stride(from: 0, to: entries.count, by: 4096) {
            try lock.withWriteLock { () throws(LedgerError) in
                for e in entries[chunk..<min(chunk + 4096, entries.count)] {
                    precondition(e.position >= 1 && e.position <= Self.positionMax, "position \(e.position) out of the key table's range")
                    if try place(e.position << 24 | Self.fingerprint(e.hash)) { entryCount += 1 }
                    highestPosition = max(highestPosition, e.position)
                }
            }
        }
    }

    /// Puts `value` at the first empty slot from its home; false when it is already there.
    private func place(_ value: UInt64) throws(LedgerError) -> Bool {
        let mask = slotCount - 1
        var i = Self.home(value & 0xFF_FFFF, slotBits: slotBits)
        for _ in 0..<slotCount {
            let s = slot(i)
            if s == value { return false }
            if s == 0 {
                setSlot(i, value)
                return true
            }
            i = (i + 1) & mask
        }
        // `insert` grows the table before its load passes 3/4, and `open` refuses a fuller file.
        throw LedgerError.damaged(path: path, reason: "no empty slot among \(slotCount)")
    }

    /// Rehashes into a table of 2^bits slots (a new file, renamed over the old one).
    private func grow(to bits: Int) throws {
        guard bits <= Self.slotBitsMax else {
            throw LedgerError.notWritable(reason: "the idempotency key table reached 2^\(Self.slotBitsMax) slots")
        }
        let next = path + ".grow"
        try Self.create(path: next, slotBits: bits)
        let grown = try KeyTable(path: next, writable: true)
        var moved = 0
        for i in 0..<slotCount where slot(i) != 0 {
            if try grown.place(slot(i)) { moved += 1 }
        }
        grown.entryCount = moved
        grown.highestPosition = highestPosition
        try grown.sync()
        guard rename(next, path) == 0 else { throw LedgerError.io(operation: "rename(\(next))", errno: errno) }
        // The rename must be durable before indexedThrough counts entries only the new file holds.
        let directory = Glibc.open((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else { throw LedgerError.io(operation: "open(index directory)", errno: errno) }
        defer { close(directory) }
        guard fsync(directory) == 0 else { throw LedgerError.io(operation: "fsync(index directory)", errno: errno) }
        mappingLock.lock()
        defer { mappingLock.unlock() }
        lock.withWriteLock {
            swap(&fd, &grown.fd)
            swap(&map, &grown.map)
            swap(&mapBytes, &grown.mapBytes)
            swap(&slotBits, &grown.slotBits)
            swap(&entryCount, &grown.entryCount)
            swap(&highestPosition, &grown.highestPosition)
        }
    }

    /// Makes every insert durable (before the index records `indexedThrough`). The writer thread
    /// keeps inserting meanwhile (what it adds after the sync began is synced by a later one); a
    /// `grow` waits for the sync (`mappingLock`) before it replaces the mapping.
    func sync() throws {
        mappingLock.lock()
        defer { mappingLock.unlock() }
        let (start, bytes) = lock.withReadLock { (map, mapBytes) }
        guard msync(start, bytes, MS_SYNC) == 0 else { throw LedgerError.io(operation: "msync(\(path))", errno: errno) }
    }

    /// Empties the table (when the index is reset).
    func clear() throws {
        lock.withWriteLock {
            memset(map + Self.headerBytes, 0, mapBytes - Self.headerBytes)
            entryCount = 0
            highestPosition = 0
        }
        try sync()
    }

    private func countEntries() -> (count: Int, highestPosition: UInt64) {
        var n = 0, highest: UInt64 = 0
        for i in 0..<slotCount {
            let s = slot(i)
            if s != 0 {
                n += 1
                highest = max(highest, s >> 24)
            }
        }
        return (n, highest)
    }

    /// Calls `body(slotIndex, position, fingerprint)` for every entry (for `verify`).
    func forEachEntry(_ body: (Int, UInt64, UInt64) throws -> Void) rethrows {
        try lock.withReadLock {
            for i in 0..<slotCount {
                let s = slot(i)
                if s != 0 { try body(i, s >> 24, s & 0xFF_FFFF) }
            }
        }
    }

    /// True when the entry at `index` is reachable from its home slot (no empty slot between).
    func isReachable(index: Int, fingerprint: UInt64) -> Bool {
        lock.withReadLock {
            let mask = slotCount - 1
            var i = Self.home(fingerprint, slotBits: slotBits)
            for _ in 0..<slotCount {
                if i == index { return true }
                if slot(i) == 0 { return false }
                i = (i + 1) & mask
            }
            return false
        }
    }
}

internal import CLMDB

/// A transaction, valid only inside the `read`/`write` closure that received it.
///
/// Methods named `borrow…` hand out bytes that point into the memory map: they are valid until the
/// transaction ends or the database is written again, so copy what must outlive that.
public final class LMDBTransaction {
    let handle: OpaquePointer
    public let isReadOnly: Bool
    private var isValid = true

    init(handle: OpaquePointer, readOnly: Bool) {
        self.handle = handle
        self.isReadOnly = readOnly
    }

    func invalidate() { isValid = false }

    @inline(__always) private func assertValid() {
        precondition(isValid, "LMDB transaction used after its closure returned")
    }

    /// Borrowed bytes of the value at `key`, or nil when absent.
    package func borrowValue(_ db: LMDBDatabase, key: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer? {
        assertValid()
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val()
        let rc = mdb_get(handle, db.dbi, &k, &v)
        if rc == MDB_NOTFOUND { return nil }
        try check(rc, "mdb_get(\(db.name))")
        return UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)
    }

    /// A copy of the value at `key`, or nil when absent.
    public func value(_ db: LMDBDatabase, key: [UInt8]) throws -> [UInt8]? {
        try key.withUnsafeBytes { (k) throws -> [UInt8]? in
            guard let v = try borrowValue(db, key: k) else { return nil }
            return [UInt8](v)
        }
    }

    /// Stores `value` at `key`. `append` requires `key` to sort after every key in the database
    /// (LMDB then fills pages completely instead of splitting them).
    package func put(_ db: LMDBDatabase, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer,
                    flags: PutFlags = []) throws {
        assertValid()
        precondition(!isReadOnly, "put in a read-only transaction")
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        try check(mdb_put(handle, db.dbi, &k, &v, flags.rawValue), "mdb_put(\(db.name))")
    }

    /// Stores `value` at `key` (see the borrowing `put` for `append`).
    public func put(_ db: LMDBDatabase, key: [UInt8], value: [UInt8], flags: PutFlags = []) throws {
        try key.withUnsafeBytes { (k) throws in
            try value.withUnsafeBytes { (v) throws in try put(db, key: k, value: v, flags: flags) }
        }
    }

    /// Deletes `key` (with `value`, only that duplicate). Returns false when it was absent.
    @discardableResult
    public func delete(_ db: LMDBDatabase, key: [UInt8], value: [UInt8]? = nil) throws -> Bool {
        assertValid()
        precondition(!isReadOnly, "delete in a read-only transaction")
        return try key.withUnsafeBytes { (kb) throws -> Bool in
            var k = MDB_val(mv_size: kb.count, mv_data: UnsafeMutableRawPointer(mutating: kb.baseAddress))
            let rc: Int32
            if let value {
                rc = value.withUnsafeBytes { vb in
                    var v = MDB_val(mv_size: vb.count, mv_data: UnsafeMutableRawPointer(mutating: vb.baseAddress))
                    return mdb_del(handle, db.dbi, &k, &v)
                }
            } else {
                rc = mdb_del(handle, db.dbi, &k, nil)
            }
            if rc == MDB_NOTFOUND { return false }
            try check(rc, "mdb_del(\(db.name))")
            return true
        }
    }

    /// Removes every entry of `db` (keeps the database).
    public func clear(_ db: LMDBDatabase) throws {
        assertValid()
        try check(mdb_drop(handle, db.dbi, 0), "mdb_drop(\(db.name))")
    }

    /// Number of entries (all duplicates counted) in `db`.
    public func entryCount(_ db: LMDBDatabase) throws -> Int {
        assertValid()
        var stat = MDB_stat()
        try check(mdb_stat(handle, db.dbi, &stat), "mdb_stat(\(db.name))")
        return stat.ms_entries
    }

    /// Runs `body` with a cursor over `db`; the cursor is closed when `body` returns.
    public func withCursor<T, E: Error>(_ db: LMDBDatabase, _ body: (LMDBCursor) throws(E) -> T) throws -> T {
        assertValid()
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(handle, db.dbi, &cursor), "mdb_cursor_open(\(db.name))")
        guard let cursor else { throw LMDBError(code: MDB_BAD_TXN, operation: "mdb_cursor_open") }
        defer { mdb_cursor_close(cursor) }
        return try body(LMDBCursor(handle: cursor, name: db.name))
    }
}

/// Flags for `put`.
public struct PutFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// The key sorts after every existing key (checked by LMDB: `MDB_KEYEXIST` otherwise).
    public static let append = PutFlags(rawValue: UInt32(MDB_APPEND))
    /// Fail with `MDB_KEYEXIST` rather than overwrite.
    public static let noOverwrite = PutFlags(rawValue: UInt32(MDB_NOOVERWRITE))
    /// For duplicate-sorted databases: fail if this exact key/value pair exists.
    public static let noDuplicateData = PutFlags(rawValue: UInt32(MDB_NODUPDATA))
}

/// A cursor. Its moves return borrowed key/value bytes (package only), valid until the next move
/// or the end of the transaction; `entries(from:limit:)` returns copies.
public struct LMDBCursor {
    let handle: OpaquePointer
    let name: String

    package typealias Entry = (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)

    private func move(_ op: MDB_cursor_op, key: UnsafeRawBufferPointer? = nil) throws -> Entry? {
        var k = MDB_val(mv_size: key?.count ?? 0, mv_data: UnsafeMutableRawPointer(mutating: key?.baseAddress))
        var v = MDB_val()
        let rc = mdb_cursor_get(handle, &k, &v, op)
        if rc == MDB_NOTFOUND { return nil }
        try check(rc, "mdb_cursor_get(\(name))")
        return (UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size),
                UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
    }

    package func first() throws -> Entry? { try move(MDB_FIRST) }
    package func last() throws -> Entry? { try move(MDB_LAST) }
    package func next() throws -> Entry? { try move(MDB_NEXT) }
    package func previous() throws -> Entry? { try move(MDB_PREV) }
    /// The next duplicate of the current key, or nil.
    package func nextDuplicate() throws -> Entry? { try move(MDB_NEXT_DUP) }
    /// Positions at the first entry whose key is >= `key`.
    package func seek(atLeast key: UnsafeRawBufferPointer) throws -> Entry? { try move(MDB_SET_RANGE, key: key) }
    /// Positions at exactly `key` (its first duplicate).
    package func seek(exactly key: UnsafeRawBufferPointer) throws -> Entry? { try move(MDB_SET_KEY, key: key) }

    /// Copies of at most `limit` entries in key order, from the first key >= `start` (from the
    /// first key when nil).
    public func entries(from start: [UInt8]? = nil, limit: Int) throws -> [(key: [UInt8], value: [UInt8])] {
        var out: [(key: [UInt8], value: [UInt8])] = []
        var entry = try start.map { s in try s.withUnsafeBytes { try seek(atLeast: $0) } } ?? first()
        while let e = entry, out.count < limit {
            out.append(([UInt8](e.key), [UInt8](e.value)))
            entry = try next()
        }
        return out
    }
}

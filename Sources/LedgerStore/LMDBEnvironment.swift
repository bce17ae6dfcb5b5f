internal import CLMDB
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How much of a commit reaches the disk before `commit` returns.
public enum Durability: String, Sendable, CaseIterable {
    /// `fsync` of data and meta pages at every commit (LMDB's default). A committed transaction
    /// survives a power loss. The default everywhere.
    case full
    /// `MDB_NOMETASYNC`: data pages are synced, the meta page is left to the next commit or the OS.
    /// A power loss may undo the last committed transaction; the database stays consistent.
    /// A process crash (SIGKILL) loses nothing. Opt-in only.
    case relaxed
}

/// Every LMDB option that matters, set explicitly (the compiled-in map size is 1 MiB).
public struct LMDBOptions: Sendable {
    /// Initial map size. The map grows (doubling) when a write finds it full.
    public var mapSizeBytes: Int = 64 << 20
    /// The ceiling for growth; past it a write fails with `MDB_MAP_FULL` and nothing is written.
    public var mapSizeMaxBytes: Int = 1 << 40
    public var maxReaders: UInt32 = 510
    public var maxDatabases: UInt32 = 16
    public var durability: Durability = .full
    public var readOnly: Bool = false

    public init() {}
}

/// One LMDB environment (a directory holding `data.mdb` and `lock.mdb`).
///
/// Opened once per path per process: `open` hands back the instance that is already open, because
/// LMDB forbids opening one environment twice in a process (its locks are per process).
/// Transactions are scoped closures with synchronous bodies: an `MDB_txn` must not cross threads
/// or suspension points, and bytes read from the map must not escape the body without a copy.
public final class LMDBEnvironment: @unchecked Sendable {
    // @unchecked: `handle` is only used through LMDB calls that are thread-safe for an environment
    // (MDB_NOTLS is set); `mapSizeBytes` is guarded by `mapLock`, and the map is only resized under
    // its exclusive side, when no transaction of this process is open.
    let handle: OpaquePointer
    public let path: String
    public let options: LMDBOptions
    private let mapLock = ReadWriteLock()
    private let mapSize: Mutex<Int>
    private let databases = Mutex<[String: UInt32]>([:])

    private static let registry = Mutex<[String: WeakEnvironment]>([:])

    /// Opens (creating the directory if needed) or returns the environment already open at `path`.
    public static func open(path: String, options: LMDBOptions = LMDBOptions()) throws -> LMDBEnvironment {
        // Owner only: a ledger holds members' personal data (birth dates).
        if !options.readOnly { mkdir(path, 0o700) }
        guard let real = realpath(path, nil) else { throw LMDBError(code: errno, operation: "realpath(\(path))") }
        let canonical = String(cString: real)
        free(real)
        var st = stat()
        let inode = stat(canonical + "/data.mdb", &st) == 0 ? UInt64(st.st_ino) : 0
        return try registry.withLock { (open: inout [String: WeakEnvironment]) throws -> LMDBEnvironment in
            // The same files: hand back the open environment (LMDB forbids a second one). Files
            // replaced since (a deleted and recreated directory) get a new environment.
            if let existing = open[canonical], let env = existing.environment, existing.inode == inode, inode != 0 {
                // A read-write environment serves readers too; a read-only one cannot serve a writer.
                guard options.readOnly || !env.options.readOnly else {
                    throw LMDBError(code: EBUSY, operation: "mdb_env_open(\(canonical)): already open read-only in this process")
                }
                return env
            }
            let env = try LMDBEnvironment(canonicalPath: canonical, options: options)
            stat(canonical + "/data.mdb", &st)
            open[canonical] = WeakEnvironment(environment: env, inode: UInt64(st.st_ino))
            return env
        }
    }

    private init(canonicalPath: String, options: LMDBOptions) throws {
        precondition(options.mapSizeBytes > 0 && options.mapSizeMaxBytes >= options.mapSizeBytes,
                     "map size must be positive and at most its ceiling")
        // LMDB maps data.mdb trusting its meta pages: check them first (a truncated or damaged
        // file is then an error naming it, not a SIGBUS).
        let dataFile = canonicalPath + "/data.mdb"
        if access(dataFile, F_OK) == 0 { try LMDBFileCheck.validate(dataFile: dataFile) }
        var flags = UInt32(MDB_NOTLS)
        if options.readOnly { flags |= UInt32(MDB_RDONLY) }
        if options.durability == .relaxed { flags |= UInt32(MDB_NOMETASYNC) }
        let env: OpaquePointer
        do {
            env = try Self.openHandle(canonicalPath, options: options, flags: flags)
        } catch let error as LMDBError where options.readOnly && (error.code == EACCES || error.code == EROFS) {
            // A reader without write access to lock.mdb (a read-only copy): read without the lock
            // table. Safe when no writer runs on these files, which a writer could not do either
            // without write access; see schemas/ledger-format.md, "Opening".
            env = try Self.openHandle(canonicalPath, options: options, flags: flags | UInt32(MDB_NOLOCK))
        }
        do {
            // Reader slots of processes that died (SIGKILL) would pin pages forever.
            var dead: Int32 = 0
            try check(mdb_reader_check(env, &dead), "mdb_reader_check")
            var info = MDB_envinfo()
            try check(mdb_env_info(env, &info), "mdb_env_info")
            self.mapSize = Mutex(info.me_mapsize)
        } catch {
            mdb_env_close(env)
            throw error
        }
        self.handle = env
        self.path = canonicalPath
        self.options = options
    }

    /// A new handle with every option set, opened with `flags`; closed again when opening fails.
    private static func openHandle(_ path: String, options: LMDBOptions, flags: UInt32) throws -> OpaquePointer {
        var env: OpaquePointer?
        try check(mdb_env_create(&env), "mdb_env_create")
        guard let env else { throw LMDBError(code: ENOMEM, operation: "mdb_env_create") }
        do {
            try check(mdb_env_set_maxreaders(env, options.maxReaders), "mdb_env_set_maxreaders")
            try check(mdb_env_set_maxdbs(env, options.maxDatabases), "mdb_env_set_maxdbs")
            try check(mdb_env_set_mapsize(env, options.mapSizeBytes), "mdb_env_set_mapsize")
            try check(mdb_env_set_assert(env, reportLMDBAssertion), "mdb_env_set_assert")
            // Files owner-only, like their directory.
            try check(mdb_env_open(env, path, flags, 0o600), "mdb_env_open(\(path))")
        } catch {
            mdb_env_close(env)
            throw error
        }
        return env
    }

    deinit {
        mdb_env_close(handle)
    }

    /// Current map size in bytes (it grows on demand).
    public var mapSizeBytes: Int { mapSize.withLock { $0 } }

    /// Opens (creating unless read-only) a named database. Handles are cached per environment.
    public func database(_ name: String, flags: DatabaseFlags = [], create: Bool) throws -> LMDBDatabase {
        if let dbi = databases.withLock({ $0[name] }) { return LMDBDatabase(dbi: dbi, name: name) }
        // Creating needs a write transaction; opening an existing one only a read transaction,
        // which is committed (not aborted) so that the handle stays open for the environment.
        let dbi: UInt32 = try withTransaction(readOnly: !create, commit: true) { txn throws in
            var dbi = MDB_dbi()
            var f = flags.rawValue
            if create { f |= UInt32(MDB_CREATE) }
            try check(mdb_dbi_open(txn.handle, name, f, &dbi), "mdb_dbi_open(\(name))")
            return dbi
        }
        databases.withLock { $0[name] = dbi }
        return LMDBDatabase(dbi: dbi, name: name)
    }

    /// Runs `body` in a read-only transaction (a consistent snapshot). Keep it short: a long reader
    /// pins pages and makes the file grow.
    public func read<T, E: Error>(_ body: (LMDBTransaction) throws(E) -> T) throws -> T {
        try withTransaction(readOnly: true, commit: false, body)
    }

    /// Runs `body` in a write transaction and commits it. If the map fills, the transaction is
    /// aborted, the map grows and `body` runs again, so `body` must only write (no side effects
    /// outside the transaction). Past `mapSizeMaxBytes` it throws `MDB_MAP_FULL`, nothing written.
    public func write<T, E: Error>(_ body: (LMDBTransaction) throws(E) -> T) throws -> T {
        precondition(!options.readOnly, "write transaction on a read-only environment")
        while true {
            do {
                return try withTransaction(readOnly: false, commit: true, body)
            } catch let error as LMDBError where error.isMapFull {
                try grow()
            }
        }
    }

    private func withTransaction<T, E: Error>(readOnly: Bool, commit: Bool = false,
                                              _ body: (LMDBTransaction) throws(E) -> T) throws -> T {
        while true {
            let result: T? = try mapLock.withReadLock { () throws -> T? in
                var txn: OpaquePointer?
                let rc = mdb_txn_begin(handle, nil, readOnly ? UInt32(MDB_RDONLY) : 0, &txn)
                if rc == MDB_MAP_RESIZED { return nil }  // another process grew the map
                try check(rc, readOnly ? "mdb_txn_begin(read)" : "mdb_txn_begin(write)")
                guard let txn else { throw LMDBError(code: EINVAL, operation: "mdb_txn_begin") }
                let transaction = LMDBTransaction(handle: txn, readOnly: readOnly)
                let value: T
                do {
                    value = try body(transaction)
                } catch {
                    transaction.invalidate()
                    mdb_txn_abort(txn)
                    throw error
                }
                transaction.invalidate()
                if readOnly && !commit {
                    mdb_txn_abort(txn)
                } else {
                    // mdb_txn_commit frees the transaction whether it succeeds or not.
                    let rc = mdb_txn_commit(txn)
                    // LMDB reports a short write as EIO; on a full disk, say so.
                    if rc == EIO && isDiskFull() {
                        throw LMDBError(code: ENOSPC, operation: "mdb_txn_commit(\(path)): a short write, nothing committed")
                    }
                    try check(rc, "mdb_txn_commit")
                }
                return value
            }
            if let result { return result }
            try adoptResizedMap()
        }
    }

    /// True when the file system holding the environment has no block left for this user.
    private func isDiskFull() -> Bool {
        var fs = statvfs()
        return statvfs(path, &fs) == 0 && fs.f_bavail == 0
    }

    /// Another process grew the map: adopt its size (`mdb_env_set_mapsize(0)`).
    private func adoptResizedMap() throws {
        try mapLock.withWriteLock { () throws in
            try check(mdb_env_set_mapsize(handle, 0), "mdb_env_set_mapsize(adopt)")
            var info = MDB_envinfo()
            try check(mdb_env_info(handle, &info), "mdb_env_info")
            mapSize.withLock { $0 = info.me_mapsize }
        }
    }

    /// Grows the map ahead of need when the pages in use pass `fraction` of it (between
    /// transactions, by the writer). A full map otherwise costs a whole group run twice, and a
    /// caller that applied the group's decisions to a model (`ModelKeeper`) must then rebuild it
    /// from the log; growing early makes that the rare case of one oversized group.
    public func growIfFuller(than fraction: Double) throws {
        precondition(fraction > 0 && fraction < 1, "a fraction of the map")
        let (pageSize, usedPages, mapBytes) = try usage()
        let limit = Int(Double(mapBytes) * fraction)
        if usedPages * pageSize > limit, mapBytes < options.mapSizeMaxBytes { try grow() }
    }

    /// Grows the map (doubling, up to `mapSizeMaxBytes`) until `bytes` fit past the pages in use,
    /// before a write transaction known to be large: a full map aborts the transaction and runs
    /// it again (`write`), and a commit handed to another thread should not be redone. Pages in use is
    /// LMDB's high-water mark, so free pages it could reuse are not counted: at worst the map is
    /// larger than needed, which costs address space only (the file grows as pages are written).
    public func reserve(bytes: Int) throws {
        precondition(bytes >= 0, "a byte count")
        while true {
            let (pageSize, usedPages, mapBytes) = try usage()
            guard mapBytes - usedPages * pageSize < bytes, mapBytes < options.mapSizeMaxBytes else { return }
            try grow()
        }
    }

    private func grow() throws {
        try mapLock.withWriteLock { () throws in
            let current = mapSize.withLock { $0 }
            guard current < options.mapSizeMaxBytes else {
                throw LMDBError(code: MDB_MAP_FULL, operation: "map at its ceiling of \(options.mapSizeMaxBytes) bytes")
            }
            let next = min(options.mapSizeMaxBytes, max(current * 2, current + (1 << 20)))
            try check(mdb_env_set_mapsize(handle, next), "mdb_env_set_mapsize(\(next))")
            mapSize.withLock { $0 = next }
        }
    }

    /// Page size, pages in use and map size, for `stats`.
    public func usage() throws -> (pageSizeBytes: Int, usedPages: Int, mapSizeBytes: Int) {
        var info = MDB_envinfo()
        var stat = MDB_stat()
        try check(mdb_env_info(handle, &info), "mdb_env_info")
        try check(mdb_env_stat(handle, &stat), "mdb_env_stat")
        return (Int(stat.ms_psize), info.me_last_pgno + 1, info.me_mapsize)
    }

    /// Forces a sync of data and meta pages (for `relaxed` durability before a clean close).
    public func sync() throws {
        try check(mdb_env_sync(handle, 1), "mdb_env_sync")
    }

    /// Copies the environment to `directory`, compacting (omits free pages). `directory` must exist and be empty.
    public func copyCompacting(to directory: String) throws {
        try check(mdb_env_copy2(handle, directory, UInt32(MDB_CP_COMPACT)), "mdb_env_copy2(\(directory))")
        // LMDB creates the copy 0666 less the umask; a copy holds what the ledger holds.
        guard chmod(directory + "/data.mdb", 0o600) == 0, chmod(directory, 0o700) == 0 else {
            throw LMDBError(code: errno, operation: "chmod(\(directory))")
        }
    }
}

/// What happens when LMDB's own consistency checks fail (a damaged page it noticed, e.g. a branch
/// page where a leaf belongs): LMDB then calls `abort()`. The message names the environment and
/// what LMDB found; with a non-zero `LMDBDamage.exitCode` (the `loyalty` tool sets one) the process
/// ends with that code instead of SIGABRT. A commit is atomic: nothing of the transaction that was
/// open is written either way.
public enum LMDBDamage {
    static let exitCode = Atomic<Int32>(0)

    /// Makes a failed LMDB consistency check end the process with `code` (0: SIGABRT, LMDB's way).
    public static func exitOnDamage(code: Int32) { exitCode.store(code, ordering: .relaxed) }
}

/// `MDB_assert_func`: runs on the failing thread just before LMDB aborts; only async-signal-safe
/// calls after formatting (the process is going down).
private func reportLMDBAssertion(_ env: OpaquePointer?, _ message: UnsafePointer<CChar>?) {
    var path: UnsafePointer<CChar>?
    if let env { _ = mdb_env_get_path(env, &path) }
    let text = "LMDB found a damaged page in \(path.map { String(cString: $0) } ?? "an environment") (\(message.map { String(cString: $0) } ?? "assertion")): "
        + "run `loyalty verify`; restore data.mdb from a backup, or delete a damaged index/, merkle/ or projections/ folder (they are rebuilt from the log)\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
    let code = LMDBDamage.exitCode.load(ordering: .relaxed)
    if code != 0 { _exit(code) }
}

private struct WeakEnvironment {
    weak var environment: LMDBEnvironment?
    /// Inode of `data.mdb` when opened, to tell a replaced file from the same one.
    var inode: UInt64
}

/// A named database inside an environment.
public struct LMDBDatabase: Sendable, Hashable {
    let dbi: UInt32
    public let name: String
}

/// Flags for `LMDBEnvironment.database(_:flags:)`.
public struct DatabaseFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Several sorted values per key.
    public static let duplicateSort = DatabaseFlags(rawValue: UInt32(MDB_DUPSORT))
    /// With `duplicateSort`: all values have one size (stored packed).
    public static let duplicateFixed = DatabaseFlags(rawValue: UInt32(MDB_DUPFIXED))
}

import Glibc
import Synchronization

/// The keys a running server accepts: `APIKeyFile` as last read, read again whenever the file
/// changed. Every authenticated request `stat`s the file (about a microsecond) and compares its
/// inode, size and modification time with the last read, so a key created or revoked by
/// `loyalty api-keys` counts from the next request on, with no signal or restart.
public final class APIKeyRing: Sendable {
    let ledger: String
    private struct Loaded {
        var signature: FileSignature?
        var keys: [APIKey] = []
    }
    private let loaded = Mutex(Loaded())

    /// The ring of the ledger at `ledger`, read now (an unreadable or damaged file throws).
    public init(ledger: String) throws {
        self.ledger = ledger
        try refresh()
    }

    /// Keys not revoked, as last read.
    public var activeCount: Int { loaded.withLock { $0.keys.count { $0.revoked == nil } } }

    /// The caller whose key is `key`, or nil (unknown or revoked). The presented key is hashed
    /// and the hash compared with every stored hash in constant time, all of them every time.
    /// Throws when the key file changed and cannot be read (the request is then refused: no key
    /// counts while the file is damaged).
    public func caller(key: String) throws -> Caller? {
        try refresh()
        let digest = APIKeyFile.hash(key)
        return loaded.withLock { state in
            var found: APIKey?
            for stored in state.keys where Self.constantTimeEqual(stored.sha256, digest) {
                found = stored
            }
            guard let found, found.revoked == nil else { return nil }
            return found.caller
        }
    }

    /// Reads the file again when its signature changed since the last read.
    func refresh() throws {
        let now = FileSignature(path: APIKeyFile.path(ledger: ledger))
        guard loaded.withLock({ $0.signature != now }) else { return }
        let keys = try APIKeyFile.load(ledger: ledger)
        loaded.withLock { $0 = Loaded(signature: now, keys: keys) }
    }

    /// Compares two digests without an early exit (the time does not depend on where they differ).
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in a.indices { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}

/// What identifies one version of a file: a rename gives a new inode, a rewrite a new size or time.
struct FileSignature: Equatable {
    var inode: UInt64
    var size: Int64
    var seconds: Int
    var nanoseconds: Int

    init?(path: String) {
        var s = stat()
        guard stat(path, &s) == 0 else { return nil }
        inode = UInt64(s.st_ino)
        size = Int64(s.st_size)
        seconds = Int(s.st_mtim.tv_sec)
        nanoseconds = Int(s.st_mtim.tv_nsec)
    }
}

import Crypto
import LedgerProofs
import Foundation
import Glibc
import LedgerStore
import LedgerJSON
public import LoyaltyDomain

/// An API key as stored: never the key itself, only its SHA-256. The key's name is the actor of
/// every event written with it.
public struct APIKey: Sendable, Equatable {
    public var name: String
    public var role: Role
    /// The stores a till key records for (nil for the other roles: they are not bound to stores).
    public var stores: [String]?
    public var created: Timestamp
    public var revoked: Timestamp?
    /// SHA-256 of the key's UTF-8 bytes.
    public var sha256: [UInt8]

    /// The caller a request with this key acts as.
    public var caller: Caller { Caller(name: name, role: role, stores: stores.map(Set.init)) }
}

/// A refused `api-keys` request (bad name, role or store, a duplicate, an unknown name) or an
/// unreadable key file.
public struct APIKeyError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// The key file of a ledger, `<ledger>/api-keys.json` (mode 0600): every key made for it, revoked
/// ones included (a revoked name stays taken, so an actor name always means one key). Every
/// change is a locked read-modify-write (`api-keys.lock`) written atomically (temporary file,
/// fsync, rename, fsync of the directory), so a crash or two concurrent changes never leave a
/// half-written or lost key.
///
/// The file: `{"keys":[{"name","role","stores"?,"created","revoked"?,"sha256"}]}`, canonical JSON.
public enum APIKeyFile {
    /// The file's name inside the ledger directory.
    public static let fileName = "api-keys.json"
    public static func path(ledger: String) -> String { ledger + "/" + fileName }
    static func lockPath(ledger: String) -> String { ledger + "/api-keys.lock" }

    /// The prefix of every key (so a key in a log or a config file is recognisable).
    public static let keyPrefix = "ll_"
    /// Random bytes per key.
    static let keyRandomBytes = 32
    /// The longest key name: an id of the domain, and it must fit the log's actor field.
    public static let nameBytesMax = min(DomainLimits.idBytesMax, LogLimits.actorBytesMax)
    /// Stores per till key.
    public static let storesMax = 1_000

    /// The keys of the ledger at `ledger` (none when it has no key file).
    public static func load(ledger: String) throws -> [APIKey] {
        let path = path(ledger: ledger)
        guard let data = FileManager.default.contents(atPath: path) else {
            if FileManager.default.fileExists(atPath: path) { throw APIKeyError("cannot read \(path)") }
            return []
        }
        return try decode([UInt8](data), path: path)
    }

    /// Makes a key `name` with `role` (and, for a till, `stores`), stores its hash and returns
    /// the key: the only time it is shown.
    @discardableResult
    public static func create(ledger: String, name: String, role: Role, stores: [String]?, now: Timestamp) throws -> String {
        try checkName(name)
        let stores = try checkStores(stores, role: role)
        var random = SystemRandomNumberGenerator()  // getrandom(2): a cryptographic source
        let bytes = (0..<keyRandomBytes).map { _ in UInt8.random(in: .min ... .max, using: &random) }
        let key = keyPrefix + base64url(bytes)
        try change(ledger: ledger) { keys in
            guard !keys.contains(where: { $0.name == name }) else {
                throw APIKeyError("a key named '\(name)' exists already (names are never reused, revoked or not)")
            }
            keys.append(APIKey(name: name, role: role, stores: stores, created: now, revoked: nil, sha256: hash(key)))
        }
        return key
    }

    /// Revokes key `name`: requests with it are refused from then on (a running server sees it
    /// at its next request). Revoking a revoked key changes nothing.
    public static func revoke(ledger: String, name: String, now: Timestamp) throws {
        try change(ledger: ledger) { keys in
            guard let i = keys.firstIndex(where: { $0.name == name }) else { throw APIKeyError("no key named '\(name)'") }
            if keys[i].revoked == nil { keys[i].revoked = now }
        }
    }

    /// SHA-256 of a presented key.
    static func hash(_ key: String) -> [UInt8] { Array(SHA256.hash(data: Array(key.utf8))) }

    // MARK: Checks

    /// Names are printable ASCII without spaces (they are shown in logs and stored as actors).
    static func checkName(_ name: String) throws {
        guard !name.isEmpty else { throw APIKeyError("the key name must not be empty") }
        guard name.utf8.count <= nameBytesMax else {
            throw APIKeyError("the key name is \(name.utf8.count) bytes, over the limit of \(nameBytesMax)")
        }
        guard name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw APIKeyError("the key name '\(shown(name))' must be printable ASCII without spaces")
        }
    }

    /// A till needs its stores (ids of the domain); the other roles take none.
    static func checkStores(_ stores: [String]?, role: Role) throws -> [String]? {
        guard role == .till else {
            if stores != nil { throw APIKeyError("--stores is for till keys only (a \(role.rawValue) key is not bound to stores)") }
            return nil
        }
        guard let stores, !stores.isEmpty else { throw APIKeyError("a till key needs --stores S1,S2,... (the stores it records for)") }
        guard stores.count <= storesMax else { throw APIKeyError("\(stores.count) stores, over the limit of \(storesMax)") }
        for store in stores {
            guard !store.isEmpty, store.utf8.count <= DomainLimits.idBytesMax,
                  store.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F }) else {
                throw APIKeyError("store '\(shown(store))' is not a store id (1 to \(DomainLimits.idBytesMax) bytes, no control character)")
            }
        }
        return Array(Set(stores)).sorted()
    }

    private static func shown(_ text: String) -> String {
        String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) }.prefix(64))
    }

    // MARK: The file

    /// Runs `body` on the stored keys under the lock and writes the result atomically.
    private static func change(ledger: String, _ body: (inout [APIKey]) throws -> Void) throws {
        guard FileManager.default.fileExists(atPath: ledger + "/data.mdb") else { throw APIKeyError("no ledger at \(ledger)") }
        let lock = Glibc.open(lockPath(ledger: ledger), O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw APIKeyError("cannot open \(lockPath(ledger: ledger)): \(String(cString: strerror(errno)))") }
        defer { Glibc.close(lock) }
        guard flock(lock, LOCK_EX) == 0 else { throw APIKeyError("cannot lock \(lockPath(ledger: ledger)): \(String(cString: strerror(errno)))") }
        var keys = try load(ledger: ledger)
        try body(&keys)
        try write(encode(keys), to: path(ledger: ledger), directory: ledger)
    }

    private static func write(_ bytes: [UInt8], to path: String, directory: String) throws {
        let temporary = path + ".tmp"
        func failed(_ what: String) -> APIKeyError { APIKeyError("cannot \(what) \(temporary): \(String(cString: strerror(errno)))") }
        unlink(temporary)  // a leftover of a crash (we hold the lock)
        let fd = Glibc.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failed("create") }
        var ok = false
        defer {
            Glibc.close(fd)
            if !ok { unlink(temporary) }
        }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return -1 }
                return Glibc.write(fd, base + offset, raw.count - offset)
            }
            guard n > 0 else { throw failed("write") }
            offset += n
        }
        guard fchmod(fd, 0o600) == 0 else { throw failed("chmod") }  // whatever the umask
        guard fsync(fd) == 0 else { throw failed("fsync") }
        guard rename(temporary, path) == 0 else { throw failed("rename") }
        ok = true
        let dir = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 {
            _ = fsync(dir)
            Glibc.close(dir)
        }
    }

    static func encode(_ keys: [APIKey]) -> [UInt8] {
        let list: [JSONValue] = keys.map { key in
            .object(["name": .string(key.name), "role": .string(key.role.rawValue),
                     "stores": key.stores.map { .array($0.map(JSONValue.string)) },
                     "created": .string(key.created.rfc3339), "revoked": key.revoked.map { .string($0.rfc3339) },
                     "sha256": .string(Hex.encode(key.sha256))])
        }
        var bytes = JSONCanonical.encode(.object(["keys": .array(list)]))
        bytes.append(0x0A)
        return bytes
    }

    static func decode(_ bytes: [UInt8], path: String) throws -> [APIKey] {
        func bad(_ why: String) -> APIKeyError { APIKeyError("\(path) is damaged: \(why)") }
        do {
            let root = try JSONObjectReader(try JSONCanonical.parse(utf8: bytes))
            try root.rejectUnknown(["keys"])
            var keys: [APIKey] = []
            for (i, r) in try root.objects("keys").enumerated() {
                try r.rejectUnknown(["name", "role", "stores", "created", "revoked", "sha256"])
                let name = try r.string("name")
                guard let role = Role(rawValue: try r.string("role")) else { throw bad("key \(i): unknown role") }
                guard let created = Timestamp(rfc3339: try r.string("created")) else { throw bad("key \(i): bad 'created'") }
                var revoked: Timestamp?
                if let text = try r.optionalString("revoked") {
                    guard let t = Timestamp(rfc3339: text) else { throw bad("key \(i): bad 'revoked'") }
                    revoked = t
                }
                guard let digest = Hex.decode(try r.string("sha256")), digest.count == 32 else { throw bad("key \(i): bad 'sha256'") }
                let stores = r.has("stores") ? try r.strings("stores") : nil
                try checkName(name)
                keys.append(APIKey(name: name, role: role, stores: try checkStores(stores, role: role), created: created,
                                   revoked: revoked, sha256: digest))
            }
            return keys
        } catch let e as APIKeyError {
            throw e.description.hasPrefix(path) ? e : bad(e.description)
        } catch {
            throw bad("\(error)")
        }
    }

    private static func base64url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}

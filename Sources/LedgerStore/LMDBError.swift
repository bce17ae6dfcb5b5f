internal import CLMDB

/// An error reported by LMDB, with the text of `mdb_strerror` and the call that failed.
///
/// An extensible struct rather than an enum (like GRDB's `ResultCode` or swift-system's `Errno`):
/// LMDB may return any `errno` value as well as its own codes.
public struct LMDBError: Error, Equatable, Sendable, CustomStringConvertible {
    public let code: Int32
    public let message: String
    /// The C call that failed, e.g. `mdb_put(events)`.
    public let operation: String

    init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
        if let text = mdb_strerror(code) {
            self.message = String(cString: text)
        } else {
            self.message = "LMDB error \(code)"
        }
    }

    public var description: String { "\(operation): \(message) (\(code))" }

    public static func == (lhs: LMDBError, rhs: LMDBError) -> Bool { lhs.code == rhs.code }

    public var isMapFull: Bool { code == MDB_MAP_FULL }
    public var isMapResized: Bool { code == MDB_MAP_RESIZED }
    public var isNotFound: Bool { code == MDB_NOTFOUND }
    public var isKeyExists: Bool { code == MDB_KEYEXIST }
    public var isCorrupted: Bool { code == MDB_CORRUPTED || code == MDB_PAGE_NOTFOUND || code == MDB_INVALID }
}

/// Checks an LMDB return code; `MDB_SUCCESS` passes, anything else throws.
@inline(__always)
func check(_ rc: Int32, _ operation: @autoclosure () -> String) throws(LMDBError) {
    if rc != MDB_SUCCESS { throw LMDBError(code: rc, operation: operation()) }
}

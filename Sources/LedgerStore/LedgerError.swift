#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Errors of the event log. Each says what was wrong and where.
public enum LedgerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An append stated `expected` as the member's version; the stream is at `actual`.
    case wrongExpectedVersion(member: String, expected: UInt64, actual: UInt64, eventIndex: Int)
    /// An idempotency key was used before for a different event (at `position`).
    case idempotencyConflict(key: String, position: UInt64, eventIndex: Int)
    /// A draft broke a rule of the log (field and reason).
    case invalidEvent(eventIndex: Int, field: String, reason: String)
    /// An append of more events than `LogLimits.batchEventsMax`, or of none.
    case invalidBatchSize(count: Int, max: Int)
    /// The map reached its ceiling; nothing of the failed commit was written.
    case ledgerFull(mapSizeMaxBytes: Int)
    /// Another process holds the writer lock.
    case inUse(path: String, pid: Int32)
    /// The directory holds no ledger, or one of another format.
    case notALedger(path: String, reason: String)
    /// No ledger at `path` (only `loyalty init` creates one).
    case noLedger(path: String)
    /// A file of the ledger is damaged or not what it should be (`path` names the file or folder).
    case damaged(path: String, reason: String)
    /// Another process holds the lock at `lockPath` for `what`.
    case busy(what: String, pid: Int32, lockPath: String)
    /// A stored event failed to decode or to verify.
    case corrupt(position: UInt64, reason: String)
    /// The log was opened read-only, or is closed.
    case notWritable(reason: String)
    case io(operation: String, errno: Int32)
    case storage(LMDBError)

    public var description: String {
        switch self {
        case let .wrongExpectedVersion(member, expected, actual, index):
            return "event \(index): wrong expected version for member '\(member)': expected \(expected), stream is at \(actual)"
        case let .idempotencyConflict(key, position, index):
            let where_ = position == 0 ? "earlier in the same batch" : "position \(position)"
            return "event \(index): idempotency key '\(key)' was already used for a different event (\(where_))"
        case let .invalidEvent(index, field, reason):
            return "event \(index): field '\(field)': \(reason)"
        case let .invalidBatchSize(count, max):
            return "a batch must hold 1 to \(max) events, got \(count)"
        case let .ledgerFull(limit):
            return "ledger full: the map reached its ceiling of \(limit) bytes; nothing was written (raise the ceiling)"
        case let .inUse(path, pid):
            return "ledger in use by process \(pid) (writer lock \(path)); readers still work, writers wait or retry"
        case let .notALedger(path, reason):
            return "\(path) is not a usable ledger: \(reason)"
        case let .noLedger(path):
            return "no ledger at \(path): create one with `loyalty init --ledger \(path)`"
        case let .damaged(path, reason):
            return "\(path) is damaged: \(reason)"
        case let .busy(what, pid, lockPath):
            return "another process is \(what) (pid \(pid), lock \(lockPath)); try again when it is done"
        case let .corrupt(position, reason):
            return "corrupt event at position \(position): \(reason)"
        case let .notWritable(reason):
            return "ledger not writable: \(reason)"
        case let .io(operation, code):
            return "\(operation): \(String(cString: strerror(code)))"
        case let .storage(error):
            return "storage: \(error)"
        }
    }

    /// Wraps any error from the LMDB layer into a `LedgerError`.
    static func wrap(_ error: any Error, mapSizeMaxBytes: Int) -> LedgerError {
        if let ledger = error as? LedgerError { return ledger }
        if let lmdb = error as? LMDBError {
            return lmdb.isMapFull ? .ledgerFull(mapSizeMaxBytes: mapSizeMaxBytes) : .storage(lmdb)
        }
        if let decoding = error as? RecordDecodingError { return .corrupt(position: 0, reason: decoding.description) }
        return .notWritable(reason: "\(error)")
    }
}

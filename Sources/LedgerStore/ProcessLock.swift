import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive `flock` on a lock file, shared by every holder in this process and held until the
/// last of them is released: it orders processes, not threads (two holders in one process are
/// ordered by their own locks, as before).
///
/// The file holds the owning process's PID, so a refused caller can name it. The kernel drops the
/// lock when the process dies (even by SIGKILL).
public final class ProcessLock: Sendable {
    public let path: String

    private struct Held {
        var fd: Int32
        var holders: Int
    }
    private static let held = Mutex<[String: Held]>([:])

    /// Takes the lock, waiting up to `waitMilliseconds` for another process to release it; then
    /// throws `LedgerError.busy` naming `what` and that process.
    public init(path: String, waitMilliseconds: Int, what: String) throws {
        precondition(waitMilliseconds >= 0, "a wait is not negative")
        self.path = path
        var waited = 0
        while true {
            let outcome = try Self.held.withLock { (held: inout [String: Held]) throws(LedgerError) -> Int32? in
                if var h = held[path] {
                    h.holders += 1
                    held[path] = h
                    return nil
                }
                let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
                guard fd >= 0 else { throw LedgerError.io(operation: "open(\(path))", errno: errno) }
                if flock(fd, LOCK_EX | LOCK_NB) == 0 {
                    LockFileOwner.write(fd: fd)
                    held[path] = Held(fd: fd, holders: 1)
                    return nil
                }
                let reason = errno
                let owner = LockFileOwner.read(fd: fd)
                close(fd)
                guard reason == EWOULDBLOCK || reason == EINTR else { throw LedgerError.io(operation: "flock(\(path))", errno: reason) }
                return owner
            }
            guard let owner = outcome else { return }
            if waited >= waitMilliseconds { throw LedgerError.busy(what: what, pid: owner, lockPath: path) }
            usleep(20_000)
            waited += 20
        }
    }

    deinit {
        let path = self.path
        Self.held.withLock { held in
            guard var h = held[path] else { return }
            h.holders -= 1
            if h.holders > 0 {
                held[path] = h
                return
            }
            _ = ftruncate(h.fd, 0)
            flock(h.fd, LOCK_UN)
            close(h.fd)
            held[path] = nil
        }
    }
}

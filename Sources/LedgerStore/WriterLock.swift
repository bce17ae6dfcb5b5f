#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one-writing-process rule: an exclusive `flock` on `writer.lock`, holding the owner's PID.
///
/// The kernel drops the lock when the process dies (even by SIGKILL), so a crash never leaves a
/// ledger locked. A second writer waits up to its deadline, then is refused with the owner's PID.
final class WriterLock: @unchecked Sendable {
    // @unchecked: `fd` is written once in init and closed once in release(), which is only called
    // by the owning EventLog's close().
    private var fd: Int32

    init(path: String, waitMilliseconds: Int) throws(LedgerError) {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LedgerError.io(operation: "open(\(path))", errno: errno) }
        var waited = 0
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let reason = errno
            guard reason == EWOULDBLOCK || reason == EINTR else {
                close(fd)
                throw LedgerError.io(operation: "flock(\(path))", errno: reason)
            }
            if waited >= waitMilliseconds {
                let owner = LockFileOwner.read(fd: fd)
                close(fd)
                throw LedgerError.inUse(path: path, pid: owner)
            }
            usleep(20_000)
            waited += 20
        }
        LockFileOwner.write(fd: fd)
    }

    func release() {
        guard fd >= 0 else { return }
        _ = ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    deinit { release() }
}

/// The PID a lock file holds (`WriterLock`, `ProcessLock`), so that a refused caller can name the
/// process that has the lock.
enum LockFileOwner {
    /// Replaces the file's contents with this process's PID.
    static func write(fd: Int32) {
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    /// The PID in the file (0 when it holds none: the owner may not have written it yet).
    static func read(fd: Int32) -> Int32 {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return 0 }
        let text = String(decoding: buffer[0..<n], as: UTF8.self).split(separator: "\n").first ?? ""
        return Int32(text) ?? 0
    }
}

import Foundation
import Glibc

/// Whole-file writes that a crash leaves old or new, never torn: written to a temporary name,
/// synced, renamed over the target, and the directory synced (the rename itself durable).
enum DurableFile {
    static func write(_ bytes: [UInt8], to path: String) throws(WebhookError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("open", temporary) }
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                let error = failure("write", temporary)
                close(fd)
                throw error
            }
            written += n
        }
        guard fsync(fd) == 0 else {
            let error = failure("fsync", temporary)
            close(fd)
            throw error
        }
        close(fd)
        guard rename(temporary, path) == 0 else { throw failure("rename", path) }
        syncDirectory(of: path)
    }

    /// Removes `path` durably (a crash after it returns does not bring the file back).
    static func remove(_ path: String) throws(WebhookError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw failure("unlink", path) }
        syncDirectory(of: path)
    }

    private static func syncDirectory(of path: String) {
        let directory = (path as NSString).deletingLastPathComponent
        let fd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            _ = fsync(fd)
            close(fd)
        }
    }

    private static func failure(_ operation: String, _ path: String) -> WebhookError {
        WebhookError(.state, "\(operation) \(path): \(String(cString: strerror(errno)))")
    }
}

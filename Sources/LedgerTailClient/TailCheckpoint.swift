import Foundation

/// A consumer's position kept in a file (one decimal number and a line break), replaced
/// atomically and synced: after `store` returns, a crash leaves the old or the new position,
/// never a torn one.
public struct TailCheckpoint: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// The stored position; nil when the file does not exist.
    public func load() throws -> UInt64? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let text = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let position = UInt64(text) else { throw TailClientError("checkpoint \(path): '\(text.prefix(40))' is not a position") }
        return position
    }

    public func store(_ position: UInt64) throws {
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data("\(position)\n".utf8)) else {
            throw TailClientError("checkpoint \(path): cannot write \(temporary)")
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
        try handle.synchronize()
        try handle.close()
        guard rename(temporary, path) == 0 else { throw TailClientError("checkpoint \(path): rename failed (errno \(errno))") }
        let directory = (path as NSString).deletingLastPathComponent
        let fd = open(directory.isEmpty ? "." : directory, O_RDONLY)
        if fd >= 0 {
            _ = fsync(fd)
            close(fd)
        }
    }
}

/// A failure the tail does not retry (a refused request, a bad answer), with its reason.
public struct TailClientError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

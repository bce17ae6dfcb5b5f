import Foundation

/// The shared HMAC key, read from a file the sink refuses unless it is private: a secret every
/// local user can read signs nothing. The file holds the secret as text; trailing spaces and
/// line breaks are not part of it (`openssl rand -hex 32 > F` works as it is).
public struct WebhookSecret: Sendable {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// Reads `path`: refuses a missing, non-regular, world-readable or world-writable, empty,
    /// too short or too long file, naming the path and what to do.
    public static func load(path: String) throws(WebhookError) -> WebhookSecret {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let reason = errno == ENOENT ? "does not exist" : "cannot be read (\(String(cString: strerror(errno))))"
            throw WebhookError(.secret, "secret file \(path) \(reason)")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw WebhookError(.secret, "secret file \(path) is not a regular file")
        }
        let mode = info.st_mode & 0o777
        if mode & 0o006 != 0 {
            throw WebhookError(.secret, "secret file \(path) is \(mode & 0o004 != 0 ? "readable" : "writable") by every user (mode \(String(mode, radix: 8))): `chmod 600 \(path)`")
        }
        guard info.st_size <= WebhookLimits.secretBytesMax else {
            throw WebhookError(.secret, "secret file \(path) holds \(info.st_size) bytes, more than \(WebhookLimits.secretBytesMax): is it the right file?")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw WebhookError(.secret, "secret file \(path) cannot be read")
        }
        var bytes = Array(data)
        while let last = bytes.last, last == 0x0A || last == 0x0D || last == 0x20 || last == 0x09 { bytes.removeLast() }
        guard !bytes.isEmpty else { throw WebhookError(.secret, "secret file \(path) is empty") }
        guard bytes.count >= WebhookLimits.secretBytesMin else {
            throw WebhookError(.secret, "secret file \(path) holds a \(bytes.count)-byte secret: use at least \(WebhookLimits.secretBytesMin) bytes (`openssl rand -hex 32 > \(path)`)")
        }
        return WebhookSecret(bytes: bytes)
    }
}

import Crypto
import Foundation
import Glibc
import LedgerJSON
import Synchronization

/// The answers of commands sent with an `Idempotency-Key` header, kept in
/// `<ledger>/api/idempotency.jsonl` (one JSON object a line, appended and synced before the
/// answer is sent, read back whole when the server starts).
///
/// A key is scoped by the caller and the route (`POST /v1/purchases`): the same key on another
/// route is another key. Each entry holds the SHA-256 of the request (method, path, body) and
/// the answer's status, content type and body: the same key with the same request is answered
/// with the stored answer and nothing is carried out; with another request it is 409
/// `idempotency-conflict`; while the first request with a key is still being answered, a second
/// one is 409 too (it would otherwise be carried out twice).
///
/// Stored: `201`s, and the refusals a retry would meet again (`422`, `409`). Not stored: `400`,
/// `413` and `415` (nothing was carried out; the client may send it again corrected), `401`/`403`
/// and `5xx`.
///
/// A crash between the command's commit and the entry's sync leaves the command in the log and
/// no entry: the retry carries the command out again. A command with its own key (a purchase's
/// `purchaseId`, a redemption's `redemptionId`, ...) is then replayed from the log and answered
/// the original `201` body; one without (an enrollment answers `422` `member-exists`, a reward
/// definition is written again with the same fields) is answered as a new request would be.
final class IdempotencyStore: Sendable {
    struct Answer: Sendable, Equatable {
        var status: Int
        var contentType: String
        var body: [UInt8]
    }

    enum Begin: Sendable, Equatable {
        /// Not seen: carry the request out, then `finish` (or `abandon`).
        case proceed
        /// Seen with the same request: answer this.
        case replay(Answer)
        /// Seen with another request, or still being answered.
        case conflict(String)
    }

    /// The longest key taken, in bytes.
    static let keyBytesMax = 255

    private struct Entry { var hash: String; var answer: Answer? }
    private struct State { var entries: [String: Entry]; var fd: Int32 }
    private let state: Mutex<State>
    let path: String
    /// The store's folder inside the ledger directory, and its file there.
    static let directoryName = "api"
    static let fileName = "idempotency.jsonl"

    /// Opens (creating) the store under `directory`.
    init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = directory + "/" + Self.fileName
        var entries: [String: Entry] = [:]
        let existing = FileManager.default.contents(atPath: path)
        if let data = existing {
            for line in data.split(separator: 0x0A) {
                // A line cut short by a crash is left out (its request gets no stored answer).
                guard let value = try? JSONCanonical.parse(utf8: Array(line)), case .string(let scope)? = value["scope"],
                      case .string(let hash)? = value["hash"], case .integer(let statusText)? = value["status"], let status = Int(statusText),
                      case .string(let type)? = value["contentType"], case .string(let body)? = value["body"] else { continue }
                entries[scope] = Entry(hash: hash, answer: Answer(status: status, contentType: type, body: Array(body.utf8)))
            }
        }
        let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw IdempotencyStoreError("cannot open \(path): \(String(cString: strerror(errno)))") }
        // A line cut short by a crash is ended, so that the next entry starts a line of its own.
        if let last = existing?.last, last != 0x0A { try Self.writeAll(fd, [0x0A]) }
        self.path = path
        self.state = Mutex(State(entries: entries, fd: fd))
    }

    deinit { state.withLock { _ = Glibc.close($0.fd) } }

    /// The scope of a key: who sent it, on which route.
    static func scope(caller: String?, route: String, key: String) -> String { (caller ?? "") + " " + route + " " + key }

    /// SHA-256 of the request, hex.
    static func hash(method: String, path: String, body: [UInt8]) -> String {
        var hasher = SHA256()
        hasher.update(data: Array((method + " " + path + "\n").utf8))
        hasher.update(data: body)
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    func begin(scope: String, hash: String) -> Begin {
        state.withLock { s in
            guard let entry = s.entries[scope] else {
                s.entries[scope] = Entry(hash: hash, answer: nil)
                return .proceed
            }
            guard entry.hash == hash else { return .conflict("the Idempotency-Key was used for a different request on this route") }
            guard let answer = entry.answer else { return .conflict("a request with this Idempotency-Key is still being answered") }
            return .replay(answer)
        }
    }

    /// Records the answer of a request `begin` let proceed, synced to disk before it returns.
    func finish(scope: String, hash: String, answer: Answer) throws {
        var line = JSONCanonical.encode(.object(["scope": .string(scope), "hash": .string(hash), "status": .int(answer.status),
                                                 "contentType": .string(answer.contentType),
                                                 "body": .string(String(decoding: answer.body, as: UTF8.self))]))
        line.append(0x0A)
        try state.withLock { s in
            try Self.writeAll(s.fd, line)
            guard fsync(s.fd) == 0 else { throw IdempotencyStoreError("fsync failed: \(String(cString: strerror(errno)))") }
            s.entries[scope] = Entry(hash: hash, answer: answer)
        }
    }

    /// Forgets a request `begin` let proceed whose answer is not kept (a 400, a failure).
    func abandon(scope: String) {
        state.withLock { s in
            if s.entries[scope]?.answer == nil { s.entries[scope] = nil }
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, base + offset, buffer.count - offset)
                if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else {
                    throw IdempotencyStoreError("write failed: \(String(cString: strerror(errno)))")
                }
            }
        }
    }
}

struct IdempotencyStoreError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

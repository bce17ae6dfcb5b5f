import Foundation
import LedgerJSON

/// The dead letters of one sink: one file per letter in `DIR/dead-letters/`, named by its
/// sequence number (zero-padded, so names sort in sequence order). A file is a header line (a
/// JSON object: sequence, kind, attempts, reason) followed by one event JSON per line; each is
/// written and removed atomically (`DurableFile`).
struct DeadLetterStore {
    let directory: String

    /// The store in `directory`, made when missing unless `create` is false (a listing).
    init(directory: String, create: Bool = true) throws(WebhookError) {
        self.directory = directory
        guard create else { return }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw WebhookError(.state, "cannot create \(directory): \(error.localizedDescription)")
        }
    }

    /// Every letter, in sequence order.
    func list() throws(WebhookError) -> [DeadLetter] {
        guard FileManager.default.fileExists(atPath: directory) else { return [] }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw WebhookError(.state, "cannot list \(directory): \(error.localizedDescription)")
        }
        var letters: [DeadLetter] = []
        for name in names.sorted() where name.hasSuffix(".jsonl") {
            letters.append(try read(directory + "/" + name))
        }
        return letters.sorted { $0.sequence < $1.sequence }
    }

    /// Writes `letter` (a new one, or an existing one with new attempts and reason).
    func store(_ letter: DeadLetter) throws(WebhookError) {
        var out = JSONCanonical.encode(.object([
            "sequence": .integer(String(letter.sequence)), "kind": .string(letter.kind.rawValue),
            "attempts": .integer(String(letter.attempts)), "reason": .string(letter.reason),
        ]))
        for event in letter.events {
            out.append(0x0A)
            // A raw line break in valid JSON is whitespace between tokens: a space means the same.
            out.append(contentsOf: event.json.map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 })
        }
        out.append(0x0A)
        try DurableFile.write(out, to: path(letter.sequence))
    }

    func remove(_ letter: DeadLetter) throws(WebhookError) {
        try DurableFile.remove(path(letter.sequence))
    }

    private func path(_ sequence: UInt64) -> String {
        let digits = String(sequence)
        return directory + "/" + String(repeating: "0", count: max(0, 12 - digits.count)) + digits + ".jsonl"
    }

    private func read(_ path: String) throws(WebhookError) -> DeadLetter {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw WebhookError(.state, "dead letter \(path) cannot be read")
        }
        let lines = Array(data).split(separator: 0x0A, omittingEmptySubsequences: true)
        guard let first = lines.first, let header = try? JSONCanonical.parse(utf8: Array(first)),
              case .integer(let sequenceText)? = header["sequence"], let sequence = UInt64(sequenceText),
              case .string(let kindText)? = header["kind"], let kind = DeadLetter.Kind(rawValue: kindText),
              case .integer(let attemptsText)? = header["attempts"], let attempts = Int(attemptsText),
              case .string(let reason)? = header["reason"]
        else { throw WebhookError(.state, "dead letter \(path), line 1: not a dead-letter header (sequence, kind, attempts, reason)") }
        var events: [WebhookEvent] = []
        for (i, line) in lines.dropFirst().enumerated() {
            events.append(try WebhookEvent(line: Array(line), what: "dead letter \(path), line \(i + 2)"))
        }
        guard !events.isEmpty else { throw WebhookError(.state, "dead letter \(path) holds no events") }
        return DeadLetter(sequence: sequence, kind: kind, attempts: attempts, reason: reason, events: events)
    }
}

import Foundation
import LoyaltyDomain

/// Reads and parses an import file on a thread of its own and hands its commands over in batches,
/// while the importing task decides the batch before and the log's writer stores the one before
/// that: three stages on two cores (parsing is the lightest of the three).
///
/// At most `batchesAheadMax` parsed batches wait; the importing task takes them in file order.
final class ImportParser: @unchecked Sendable {
    // @unchecked: `fd`, `reader` state and `enrolledHere` are touched only by the parsing thread;
    // `waiting`/`ended`/`stopped` only under `condition`.

    /// One batch of parsed lines: the commands (each with its line number and text), the lines refused
    /// while parsing, and the number of the last line read.
    struct Batch: Sendable {
        /// `input`: the line's text, what a remembered refusal is matched against.
        var entries: [(line: Int, command: Command, input: String)] = []
        var bad: [(line: Int, reason: String)] = []
        var lastLine = 0
        /// Bytes of the file up to the end of the batch's last line.
        var bytesRead = 0
    }

    static let batchesAheadMax = 4
    /// Distinct CSV dates whose local midnight is remembered (a file spans a few years of days).
    static let midnightsCachedMax = 100_000

    private let fd: Int32
    private let batchSize: Int
    private let enrollUnknown: Bool
    /// Decide again the lines an earlier import refused (`RefusalMemory`).
    private let retryRefused: Bool
    /// `ImportOptions.admit`.
    private let admit: (@Sendable (Command) throws -> Void)?
    private let ledger: Ledger
    private let now: Timestamp

    private let condition = NSCondition()
    private var waiting: [Batch] = []
    /// Set when the file is read to its end (nil) or reading failed.
    private var ended: Result<Void, any Error>?
    private var stopped = false

    init(fd: Int32, batchSize: Int, enrollUnknown: Bool, retryRefused: Bool, admit: (@Sendable (Command) throws -> Void)? = nil,
         ledger: Ledger, now: Timestamp) {
        self.admit = admit
        self.fd = fd
        self.batchSize = batchSize
        self.enrollUnknown = enrollUnknown
        self.retryRefused = retryRefused
        self.ledger = ledger
        self.now = now
    }

    func start() {
        let thread = Thread { [self] in
            let outcome = Result { try parseAll() }
            condition.lock()
            ended = outcome
            condition.broadcast()
            condition.unlock()
        }
        thread.name = "loyalty-import-parser"
        thread.start()
    }

    /// The next batch in file order, or nil after the last; rethrows a reading error (a bad header,
    /// an unreadable file). Blocks its caller's thread while the parser is behind (rare: parsing
    /// is the lightest stage).
    func next() throws -> Batch? {
        condition.lock()
        defer { condition.unlock() }
        while waiting.isEmpty && ended == nil { condition.wait() }
        if !waiting.isEmpty {
            condition.broadcast()  // room for one more
            return waiting.removeFirst()
        }
        try ended?.get()
        return nil
    }

    /// Stops the parser early (the import failed).
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    /// Hands `batch` over; false when the import stopped.
    private func hand(_ batch: Batch) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while waiting.count >= Self.batchesAheadMax && !stopped { condition.wait() }
        guard !stopped else { return false }
        waiting.append(batch)
        condition.broadcast()
        return true
    }

    private func parseAll() throws {
        var reader = LineReader(fd: fd)
        var kind = ImportFormat.jsonl
        var lineNumber = 0
        var batch = Batch()
        var enrolledHere = Set<String>()
        // A CSV date alone is local midnight in the time zone of the rules in force that day.
        var midnights: [Int64: Timestamp] = [:]
        func localMidnight(_ utcMidnight: Timestamp) -> Timestamp {
            if let known = midnights[utcMidnight.microseconds] { return known }
            let zone = (try? ledger.rules(at: utcMidnight))?.timeZone
            let local = zone.map { RequestedTime.date(utcMidnight: utcMidnight).resolved(in: $0) } ?? utcMidnight
            if midnights.count < Self.midnightsCachedMax { midnights[utcMidnight.microseconds] = local }
            return local
        }
        while let read = try reader.nextLine() {
            lineNumber += 1
            guard case .bytes(let line) = read else {
                if case .tooLong(let n) = read { batch.bad.append((lineNumber, InputText.tooLongReason(byteCount: n))) }
                continue
            }
            if InputText.isBlank(line) { continue }
            if lineNumber == 1 {
                guard let format = ImportFormat.of(firstLine: line) else { throw ApplicationError(ImportFormat.firstLineReason) }
                kind = format
                if format != .jsonl { continue }
            }
            do {
                let command = try kind.parse(line, now: now, localMidnight: localMidnight)
                try admit?(command)
                let input = String(decoding: line, as: UTF8.self)  // (valid: parsing checked every byte)
                if !retryRefused, let earlier = try RefusalMemory.earlier(command, input: input, log: ledger.log) { throw ApplicationError(earlier) }
                // A member enrolled by this import is in `enrolledHere`; any other is in the model
                // (which holds every decision queued so far) or unknown.
                if enrollUnknown, case .purchase(let p) = command, !enrolledHere.contains(p.member), try ledger.member(p.member)?.isEnrolled != true {
                    batch.entries.append((lineNumber, .enroll(member: p.member, store: p.store, brand: "main", channel: "store", birthDate: nil,
                                                              gender: nil, profile: [:], at: p.at), input))
                    enrolledHere.insert(p.member)
                }
                if case .enroll(let m, _, _, _, _, _, _, _) = command { enrolledHere.insert(m) }
                batch.entries.append((lineNumber, command, input))
            } catch {
                batch.bad.append((lineNumber, "\(error)"))
            }
            if batch.entries.count >= batchSize {
                batch.lastLine = lineNumber
                batch.bytesRead = reader.bytesConsumed
                guard hand(batch) else { return }
                batch = Batch()
            }
        }
        batch.lastLine = lineNumber
        batch.bytesRead = reader.bytesConsumed
        _ = hand(batch)  // (possibly empty: it carries the last line's number)
    }
}

import Foundation
import Glibc
public import LoyaltyDomain
import LedgerStore

/// How an import runs (`Ledger.importFile`).
public struct ImportOptions: Sendable {
    /// Enroll a member at their first purchase when unknown (at the purchase's store and time).
    public var enrollUnknown = false
    /// Decide again the lines an earlier import refused (by default a refusal is permanent, like
    /// an acceptance: `RefusalMemory`).
    public var retryRefused = false
    /// Lines per commit (1 to `ImportOptions.batchLinesMax`).
    public var batchLines = 1_000
    /// Accept business times past the program's `futureToleranceSeconds`.
    public var allowFuture = false
    /// Called with each line's command before it is decided; what it throws refuses the line
    /// (its description is the reason). The server checks the caller's role and stores here.
    public var admit: (@Sendable (Command) throws -> Void)?
    /// Who imports (stored with every event written, refusals included; see `Ledger.execute`).
    public var actor: String?

    public static let batchLinesMax = 2_000

    public init() {}
}

/// Where an import stands: what a progress display shows.
public struct ImportProgress: Sendable, Equatable {
    public var linesRead = 0
    /// Bytes of the file up to the end of the last line read.
    public var bytesRead = 0
    /// The file's size (nil: not a regular file, such as a pipe).
    public var bytesTotal: Int?
    public var written = 0
    public var replayed = 0
    public var refused = 0
}

/// A line an import did not carry out, and why.
public struct ImportRefusal: Sendable, Equatable {
    public var line: Int
    public var reason: String
}

extension Ledger {
    /// Batches decided and queued but not yet reported: while the writer stores one, the
    /// importing task decides the next.
    static let importBatchesInFlightMax = 3

    /// Imports the commands of the file at `path` (`ImportFormat`: JSON Lines, members CSV or
    /// purchases CSV, told apart by the first line). Lines are parsed on a thread of their own;
    /// commands are decided and committed `options.batchLines` lines at a time, the next batch
    /// decided while the writer stores the one before. A bad line is handed to `refused` with its
    /// line number and reason and the import goes on; re-running an import writes nothing new
    /// (refusals of keyed commands are remembered too, unless `options.retryRefused`).
    ///
    /// `progress` is called after each batch read and once at the end; `refused` in line order.
    /// Throws for a file that cannot be read or whose first line is neither JSON nor a known header.
    public func importFile(path: String, options: ImportOptions = ImportOptions(), now: Timestamp = .now(),
                           refused: (ImportRefusal) -> Void = { _ in },
                           progress: (ImportProgress) -> Void = { _ in }) async throws -> ImportProgress {
        let fd = Glibc.open(path, O_RDONLY)
        guard fd >= 0 else { throw ApplicationError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { Glibc.close(fd) }
        return try await importLines(fd: fd, options: options, now: now, refused: refused, progress: progress)
    }

    /// `importFile` of what is read from `fd` (a file, or the read end of a pipe the server
    /// writes a request body into) until its end; the caller closes `fd`.
    public func importLines(fd: Int32, options: ImportOptions = ImportOptions(), now: Timestamp = .now(),
                            refused: (ImportRefusal) -> Void = { _ in },
                            progress: (ImportProgress) -> Void = { _ in }) async throws -> ImportProgress {
        guard (1...ImportOptions.batchLinesMax).contains(options.batchLines) else {
            throw ApplicationError("batch size \(options.batchLines): must be 1 to \(ImportOptions.batchLinesMax) lines")
        }
        var status = stat()
        var state = ImportProgress()
        if fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG { state.bytesTotal = Int(status.st_size) }
        let parser = ImportParser(fd: fd, batchSize: options.batchLines, enrollUnknown: options.enrollUnknown,
                                  retryRefused: options.retryRefused, admit: options.admit, ledger: self, now: now)
        parser.start()
        defer { parser.stop() }
        var inFlight: [ImportBatch] = []
        func count(_ outcome: ImportBatch.Outcome) {
            state.written += outcome.written
            state.replayed += outcome.replayed
            state.refused += outcome.refusals.count
            for r in outcome.refusals { refused(r) }
        }
        while let parsed = try parser.next() {
            count(ImportBatch.Outcome(refusals: parsed.bad.map { ImportRefusal(line: $0.line, reason: $0.reason) }))
            state.linesRead = parsed.lastLine
            state.bytesRead = parsed.bytesRead
            if !parsed.entries.isEmpty {
                inFlight.append(ImportBatch(entries: parsed.entries, batch: submitBatch(parsed.entries.map { $0.command }, allowFuture: options.allowFuture, actor: options.actor)))
            }
            while inFlight.count > Self.importBatchesInFlightMax {
                count(try await reportImported(inFlight.removeFirst(), actor: options.actor))
            }
            // Now and then the queue drains so the decision state can be flushed: a crash then
            // leaves at most this much to fold again at the next open.
            if stateCheckpointDue {
                while !inFlight.isEmpty { count(try await reportImported(inFlight.removeFirst(), actor: options.actor)) }
                checkpointState()
            }
            progress(state)
        }
        for batch in inFlight { count(try await reportImported(batch, actor: options.actor)) }
        progress(state)
        return state
    }

    /// Waits for the outcomes of `batch`, counts them and records its refusals (`RefusalMemory`).
    private func reportImported(_ batch: ImportBatch, actor: String?) async throws -> ImportBatch.Outcome {
        let items = try await batch.batch.value()
        guard items.count == batch.entries.count else {
            throw ApplicationError("an import batch of \(batch.entries.count) commands came back with \(items.count) outcomes")
        }
        var outcome = ImportBatch.Outcome()
        var refusals: [EventDraft] = []
        for (entry, item) in zip(batch.entries, items) {
            switch item {
            case .written: outcome.written += 1
            case .replayed: outcome.replayed += 1
            case .refused(let error):
                outcome.refusals.append(ImportRefusal(line: entry.line, reason: RefusalText.describe(error)))
                if let draft = RefusalMemory.draft(entry.command, input: entry.input, error: error, actor: actor) { refusals.append(draft) }
            }
        }
        try await RefusalMemory.record(refusals, log: log)
        return outcome
    }
}

/// A batch handed to the writer, and its lines (for reporting refusals by line number).
struct ImportBatch {
    let entries: [(line: Int, command: Command, input: String)]
    let batch: Ledger.PendingBatch

    /// What became of a batch's lines.
    struct Outcome {
        var written = 0, replayed = 0
        var refusals: [ImportRefusal] = []
    }
}

/// A refusal as one line for the person who asked, with what to do where there is one thing to do.
public enum RefusalText {
    public static func describe(_ error: any Error) -> String {
        guard let domain = error as? DomainError else { return "\(error)" }
        if case let .invalid(field, value, _) = domain, field == "currency" {
            return "\(domain); to take purchases in \(value), publish rules in that currency: "
                + "`loyalty program publish RULES.json` with \"currency\": \"\(value)\" (or `loyalty init --currency \(value)` for a new ledger)"
        }
        return "\(domain)"
    }
}

import ArgumentParser
import Foundation
import LedgerJSON
import LedgerStore
import LoyaltyDomain
import LoyaltyLedger

/// `loyalty import FILE`: JSON Lines of command objects, or CSV of members
/// (`member_id,enrolled_at,store_id,birth_date,gender`) or purchases
/// (`member_id,purchase_id,occurred_at,amount,currency,store_id`), told apart by the header.
/// Lines are parsed on a thread of their own (`ImportParser`); commands are decided and committed
/// 1,000 lines at a time, the next batch decided while the writer stores the one before. A bad
/// line is reported with its line number and reason and the import goes on; re-running an import
/// writes nothing new: refusals of keyed commands are remembered too (`RefusalMemory`), unless
/// `--retry-refused`. Input may start with a UTF-8 byte order mark and end lines with CRLF;
/// invalid UTF-8 and over-long lines are refused by line number, and the import goes on.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "import", abstract: "Import JSON Lines commands or CSV members/purchases.")
    @OptionGroup var options: DomainOptions
    @Argument var file: String
    @Flag(name: .customLong("enroll-unknown"), help: "Enroll a member at their first purchase when unknown.") var enrollUnknown = false
    @Flag(name: .customLong("retry-refused"), help: "Decide again the lines an earlier import refused (by default a refusal is permanent, like an acceptance).")
    var retryRefused = false
    @Option(help: "Lines per commit.") var batch = 1_000

    enum Kind { case jsonl, members, purchases }

    static let memberHeader = ["member_id", "enrolled_at", "store_id", "birth_date", "gender"]
    static let purchaseHeader = ["member_id", "purchase_id", "occurred_at", "amount", "currency", "store_id"]

    func validate() throws {
        guard (1...2_000).contains(batch) else { throw ValidationError("--batch must be 1 to 2000") }
    }

    func run() async throws {
        let fd = open(file, O_RDONLY)
        guard fd >= 0 else { throw CLIError("cannot open \(file): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let ledger = try options.open()
        defer { ledger.close() }
        let parser = ImportParser(fd: fd, batchSize: batch, enrollUnknown: enrollUnknown, retryRefused: retryRefused, ledger: ledger, now: Timestamp.now())
        parser.start()
        defer { parser.stop() }
        var progress = ImportProgress()
        var lines = 0
        var inFlight: [InFlight] = []
        while let parsed = try parser.next() {
            for bad in parsed.bad { progress.bad(line: bad.line, reason: bad.reason) }
            lines = parsed.lastLine
            try await submit(parsed.entries, after: &inFlight, ledger: ledger, progress: &progress)
            progress.show(lines: lines)
        }
        for batch in inFlight { try await report(batch, ledger: ledger, progress: &progress) }
        progress.finish(lines: lines)
        // The process ends with this command: freeing the model's allocations one by one (every
        // member, lot and purchase) took a tenth of a second after a 200,000-purchase import, so
        // the ledger is kept (the deferred `close` still stops its writer).
        _ = Unmanaged.passRetained(ledger)
        if progress.badLines > 0 { throw CLIError("\(progress.badLines) line(s) not imported (reasons above)") }
    }

    static func parse(_ line: [UInt8], kind: Kind, now: Timestamp) throws -> Command {
        switch kind {
        case .jsonl:
            return try Command(json: try JSONCanonical.parse(utf8: line), now: now)
        case .members:
            let f = try CSV.fields(line, names: memberHeader)
            return .enroll(member: try CSV.required(f[0], "member_id"), store: try CSV.required(f[2], "store_id"), brand: "main", channel: "store",
                           birthDate: f[3].isEmpty ? nil : f[3], gender: f[4].isEmpty ? nil : f[4], profile: [:],
                           at: try CSV.time(f[1], "enrolled_at"))
        case .purchases:
            return .purchase(try Self.purchase(csvLine: line))
        }
    }

    /// One line of the purchases CSV (`member_id,purchase_id,occurred_at,amount,currency,store_id`);
    /// also what `reconcile purchases` reads.
    static func purchase(csvLine line: [UInt8]) throws -> Command.Purchase {
        let f = try CSV.fields(line, names: purchaseHeader)
        return .init(member: try CSV.required(f[0], "member_id"), purchaseId: try CSV.required(f[1], "purchase_id"),
                     amount: try CSV.required(f[3], "amount"), currency: f[4].isEmpty ? nil : f[4],
                     store: try CSV.required(f[5], "store_id"), at: try CSV.time(f[2], "occurred_at"))
    }

    /// A batch handed to the writer, and its lines (for reporting refusals by line number).
    struct InFlight {
        let entries: [(line: Int, command: Command, input: String)]
        let batch: Ledger.PendingBatch
    }

    /// Batches decided and queued but not yet reported: while the writer stores one, this task
    /// decides the next.
    static let batchesInFlightMax = 3

    /// Decides `pending` and queues it for the writer (batches reach the log in file order), then
    /// reports the oldest batches until at most `batchesInFlightMax` are in flight. Deciding runs
    /// here while the parser reads the next lines and the writer thread stores earlier batches.
    func submit(_ pending: [(line: Int, command: Command, input: String)], after inFlight: inout [InFlight], ledger: Ledger,
                progress: inout ImportProgress) async throws {
        guard !pending.isEmpty else { return }
        inFlight.append(InFlight(entries: pending, batch: ledger.submitBatch(pending.map(\.command), allowFuture: options.allowFuture)))
        while inFlight.count > Self.batchesInFlightMax {
            try await report(inFlight.removeFirst(), ledger: ledger, progress: &progress)
        }
        // Now and then the queue drains so the decision state can be flushed: a crash then
        // leaves at most this much to fold again at the next open.
        if ledger.stateCheckpointDue {
            while !inFlight.isEmpty { try await report(inFlight.removeFirst(), ledger: ledger, progress: &progress) }
            ledger.checkpointState()
        }
    }

    /// Reports the outcomes of `batch` and records its refusals (`RefusalMemory`).
    func report(_ batch: InFlight, ledger: Ledger, progress: inout ImportProgress) async throws {
        let items = try await batch.batch.value()
        precondition(items.count == batch.entries.count, "one outcome per command")
        var refusals: [EventDraft] = []
        for (entry, item) in zip(batch.entries, items) {
            switch item {
            case .written: progress.written += 1
            case .replayed: progress.replayed += 1
            case .refused(let error):
                progress.bad(line: entry.line, reason: "\(error)")
                if let draft = RefusalMemory.draft(entry.command, input: entry.input, error: error) { refusals.append(draft) }
            }
        }
        try await RefusalMemory.record(refusals, log: ledger.log)
    }
}

extension ImportCommand.Kind: Equatable {}

/// Counts and terminal progress for an import.
struct ImportProgress {
    var written = 0, replayed = 0, badLines = 0
    private var lastShown = ContinuousClock.now
    private let tty = isatty(2) != 0

    mutating func bad(line: Int, reason: String) {
        badLines += 1
        if tty { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        printError("line \(line): \(reason)")
    }

    mutating func show(lines: Int) {
        guard tty, ContinuousClock.now - lastShown > .milliseconds(250) else { return }
        lastShown = .now
        FileHandle.standardError.write(Data("\r\(lines) lines read, \(written) commands written, \(replayed) already present, \(badLines) refused".utf8))
    }

    func finish(lines: Int) {
        if tty { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        print("imported \(lines) lines: \(written) commands written, \(replayed) already present (nothing new written), \(badLines) refused")
    }
}

/// Minimal RFC 4180 CSV: commas, double-quoted fields with "" escapes. Lines are split as bytes
/// (a comma is one byte in UTF-8 and never part of another character's bytes), then each field
/// is checked as UTF-8 on its own, so an error names the field.
enum CSV {
    /// The fields of `line`, each trimmed of leading and trailing spaces and tabs.
    static func split(_ line: [UInt8]) -> [[UInt8]] {
        var out: [[UInt8]] = [], field: [UInt8] = [], quoted = false, wasQuoted = false
        var i = 0
        while i < line.count {
            let c = line[i]
            i += 1
            if quoted {
                if c != UInt8(ascii: "\"") { field.append(c); continue }
                if i < line.count, line[i] == UInt8(ascii: "\"") { field.append(c); i += 1 } else { quoted = false }
            } else if c == UInt8(ascii: "\""), field.isEmpty, !wasQuoted {
                quoted = true
                wasQuoted = true
            } else if c == UInt8(ascii: ",") {
                out.append(trim(field)); field = []; wasQuoted = false
            } else {
                field.append(c)
            }
        }
        out.append(trim(field))
        return out
    }

    /// The fields of a line already known to be text (a header).
    static func split(_ line: String) -> [String] {
        split(Array(line.utf8)).map { String(decoding: $0, as: UTF8.self) }  // (valid: split at ASCII commas of valid text)
    }

    /// Drops leading and trailing spaces and tabs.
    static func trim(_ s: [UInt8]) -> [UInt8] {
        var from = 0, to = s.count
        while from < to, s[from] == 32 || s[from] == 9 { from += 1 }
        while to > from, s[to - 1] == 32 || s[to - 1] == 9 { to -= 1 }
        return from == 0 && to == s.count ? s : Array(s[from..<to])
    }

    /// The fields of `line` as text, one per name in `names`; the error names the field.
    static func fields(_ line: [UInt8], names: [String]) throws -> [String] {
        if let f = plainASCIIFields(line) {
            guard f.count == names.count else { throw fieldCount(f.count, names) }
            return f
        }
        let f = split(line)
        guard f.count == names.count else { throw fieldCount(f.count, names) }
        return try zip(f, names).map { try InputText.string($0, field: $1) }
    }

    private static func fieldCount(_ found: Int, _ names: [String]) -> CLIError {
        CLIError("expected \(names.count) fields (\(names.joined(separator: ","))), found \(found)")
    }

    /// The common line, ASCII without quotes, split on its bytes: the fields `split` and
    /// `InputText.string` give, without a UTF-8 check per field (ASCII is valid UTF-8). Nil for any
    /// other line. A till's purchases CSV is all such lines, and the per-field check was most of
    /// the parser's time.
    static func plainASCIIFields(_ line: [UInt8]) -> [String]? {
        line.withUnsafeBufferPointer { bytes -> [String]? in
            var out: [String] = []
            out.reserveCapacity(8)
            var start = 0
            for i in 0...bytes.count {
                if i < bytes.count {
                    let b = bytes[i]
                    guard b < 0x80, b != UInt8(ascii: "\"") else { return nil }
                    if b != UInt8(ascii: ",") { continue }
                }
                var (from, to) = (start, i)
                while from < to, bytes[from] == 32 || bytes[from] == 9 { from += 1 }
                while to > from, bytes[to - 1] == 32 || bytes[to - 1] == 9 { to -= 1 }
                out.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[from..<to]), as: UTF8.self))  // (ASCII)
                start = i + 1
            }
            return out
        }
    }

    static func required(_ value: String, _ field: String) throws -> String {
        guard !value.isEmpty else { throw CLIError("field '\(field)' is empty") }
        return value
    }

    static func time(_ value: String, _ field: String) throws -> Timestamp {
        guard let t = Timestamp(rfc3339: value) else { throw CLIError("field '\(field)': '\(value)' is not a date (YYYY-MM-DD) or RFC 3339 time") }
        return t
    }
}

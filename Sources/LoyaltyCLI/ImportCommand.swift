import ArgumentParser
import Foundation
import LedgerJSON
import LoyaltyDomain
import LoyaltyLedger

/// `loyalty import FILE`: JSON Lines of command objects, or CSV of members
/// (`member_id,enrolled_at,store_id,birth_date,gender`) or purchases
/// (`member_id,purchase_id,occurred_at,amount,currency,store_id`), told apart by the header.
/// Lines are parsed on a thread of their own (`ImportParser`); commands are decided and committed
/// 1,000 lines at a time, the next batch decided while the writer stores the one before. A bad
/// line is reported with its line number and reason and the import goes on; re-running an import
/// writes nothing new.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "import", abstract: "Import JSON Lines commands or CSV members/purchases.")
    @OptionGroup var options: DomainOptions
    @Argument var file: String
    @Flag(name: .customLong("enroll-unknown"), help: "Enroll a member at their first purchase when unknown.") var enrollUnknown = false
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
        let parser = ImportParser(fd: fd, batchSize: batch, enrollUnknown: enrollUnknown, ledger: ledger, now: Timestamp.now())
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
        for batch in inFlight { try await report(batch, progress: &progress) }
        progress.finish(lines: lines)
        // The process ends with this command: freeing the model's allocations one by one (every
        // member, lot and purchase) took a tenth of a second after a 200,000-purchase import, so
        // the ledger is kept (the deferred `close` still stops its writer).
        _ = Unmanaged.passRetained(ledger)
        if progress.badLines > 0 { throw CLIError("\(progress.badLines) line(s) not imported (reasons above)") }
    }

    static func parse(_ line: String, kind: Kind, now: Timestamp) throws -> Command {
        switch kind {
        case .jsonl:
            return try Command(json: try JSONCanonical.parse(line), now: now)
        case .members:
            let f = try CSV.fields(line, count: 5)
            return .enroll(member: try CSV.required(f[0], "member_id"), store: try CSV.required(f[2], "store_id"), brand: "main", channel: "store",
                           birthDate: f[3].isEmpty ? nil : f[3], gender: f[4].isEmpty ? nil : f[4], profile: [:],
                           at: try CSV.time(f[1], "enrolled_at"))
        case .purchases:
            return .purchase(try Self.purchase(csvLine: line))
        }
    }

    /// One line of the purchases CSV (`member_id,purchase_id,occurred_at,amount,currency,store_id`);
    /// also what `reconcile purchases` reads.
    static func purchase(csvLine line: String) throws -> Command.Purchase {
        let f = try CSV.fields(line, count: 6)
        return .init(member: try CSV.required(f[0], "member_id"), purchaseId: try CSV.required(f[1], "purchase_id"),
                     amount: try CSV.required(f[3], "amount"), currency: f[4].isEmpty ? nil : f[4],
                     store: try CSV.required(f[5], "store_id"), at: try CSV.time(f[2], "occurred_at"))
    }

    /// A batch handed to the writer, and its lines (for reporting refusals by line number).
    struct InFlight {
        let entries: [(line: Int, command: Command)]
        let batch: Ledger.PendingBatch
    }

    /// Batches decided and queued but not yet reported: while the writer stores one, this task
    /// decides the next.
    static let batchesInFlightMax = 3

    /// Decides `pending` and queues it for the writer (batches reach the log in file order), then
    /// reports the oldest batches until at most `batchesInFlightMax` are in flight. Deciding runs
    /// here while the parser reads the next lines and the writer thread stores earlier batches.
    func submit(_ pending: [(line: Int, command: Command)], after inFlight: inout [InFlight], ledger: Ledger,
                progress: inout ImportProgress) async throws {
        guard !pending.isEmpty else { return }
        inFlight.append(InFlight(entries: pending, batch: ledger.submitBatch(pending.map(\.command))))
        while inFlight.count > Self.batchesInFlightMax {
            try await report(inFlight.removeFirst(), progress: &progress)
        }
    }

    func report(_ batch: InFlight, progress: inout ImportProgress) async throws {
        let items = try await batch.batch.value()
        precondition(items.count == batch.entries.count, "one outcome per command")
        for (entry, item) in zip(batch.entries, items) {
            switch item {
            case .written: progress.written += 1
            case .replayed: progress.replayed += 1
            case .refused(let error): progress.bad(line: entry.line, reason: "\(error)")
            }
        }
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

/// Minimal RFC 4180 CSV: commas, double-quoted fields with "" escapes.
enum CSV {
    static func split(_ line: String) -> [String] {
        if let fields = splitPlainASCII(line) { return fields }
        var out: [String] = [], field = "", quoted = false
        var chars = line.makeIterator()
        while let c = chars.next() {
            if quoted {
                if c == "\"" {
                    if let n = chars.next() {
                        if n == "\"" { field.append("\"") } else { quoted = false; if n == "," { out.append(field); field = "" } else { field.append(n) } }
                    } else { quoted = false }
                } else { field.append(c) }
            } else if c == "\"" && field.isEmpty {
                quoted = true
            } else if c == "," {
                out.append(field); field = ""
            } else {
                field.append(c)
            }
        }
        out.append(field)
        return out.map(trim)
    }

    /// The common line, ASCII without quotes, split on its bytes (the same fields as the general
    /// loop below, which walks Characters: a comma there can carry a combining mark, hence ASCII
    /// only). Nil for any other line.
    static func splitPlainASCII(_ line: String) -> [String]? {
        var line = line
        return line.withUTF8 { bytes -> [String]? in
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
                out.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[from..<to]), as: UTF8.self))
                start = i + 1
            }
            return out
        }
    }

    /// Drops leading and trailing spaces and tabs (Foundation's trimming bridges to NSString:
    /// it was a fifth of an import's time).
    static func trim(_ s: String) -> String {
        guard let first = s.utf8.first, let last = s.utf8.last,
              first == 32 || first == 9 || last == 32 || last == 9 else { return s }
        var sub = Substring(s)
        while let c = sub.first, c == " " || c == "\t" { sub = sub.dropFirst() }
        while let c = sub.last, c == " " || c == "\t" { sub = sub.dropLast() }
        return String(sub)
    }

    static func fields(_ line: String, count: Int) throws -> [String] {
        let f = split(line)
        guard f.count == count else { throw CLIError("expected \(count) fields, found \(f.count)") }
        return f
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

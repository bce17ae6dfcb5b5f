import ArgumentParser
import Foundation
import Glibc
import LedgerJSON

// Every command's output goes through this file: the formats, JSON and JSON Lines, CSV cells,
// aligned tables, buffered standard output, standard error and the terminal progress bar.

/// Output format for commands that print one result.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json
}

/// Output of data commands that also speak CSV and JSON Lines.
enum DataFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, csv, jsonl
}

/// Writes to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// `value` as one line of canonical JSON.
func jsonLine(_ value: JSONValue) -> String { String(decoding: JSONCanonical.encode(value), as: UTF8.self) }

func printJSON(_ value: JSONValue) { print(jsonLine(value)) }

/// Rows of `label  value`, the labels padded to one width.
func printPairs(_ rows: [(String, String)], width: Int? = nil) {
    let w = width ?? (rows.map(\.0.count).max() ?? 0) + 2
    for (k, v) in rows { print(k.padding(toLength: max(w, k.count + 1), withPad: " ", startingAt: 0) + v) }
}

/// `s` padded to `width`, never cut: a value wider than its column pushes the rest right.
func padded(_ s: String, _ width: Int) -> String { s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count) }

/// A scalar JSON value as plain text (CSV cells, table cells).
func plainText(_ v: JSONValue?) -> String {
    switch v {
    case .string(let s)?: return s
    case .integer(let i)?: return i
    case .bool(let b)?: return b ? "true" : "false"
    case .null?, nil: return ""
    case let other?: return String(decoding: JSONCanonical.encode(other), as: UTF8.self)
    }
}

/// Buffers standard output in large writes (an export prints a line per member).
struct OutputBuffer {
    private var text = ""
    mutating func write(_ s: String) {
        text += s
        if text.utf8.count > 1 << 16 { flush() }
    }
    mutating func line(_ s: String) { write(s + "\n") }
    mutating func flush() {
        FileHandle.standardOutput.write(Data(text.utf8))
        text = ""
    }
}

/// Writes `bytes` to standard output with write(2), without copying them into a `Data` first.
/// Retries short writes and EINTR; a closed pipe (EPIPE) ends the output silently, as `head`
/// expects.
func writeStandardOutput(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { buffer in
        guard let base = buffer.baseAddress else { return }
        var offset = 0
        while offset < buffer.count {
            let n = Glibc.write(1, base + offset, buffer.count - offset)
            if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { return }
        }
    }
}

/// A progress bar on standard error, only when it is a terminal (`isatty`): done of total, a
/// bar, the rate per second and the time left, redrawn at most five times a second.
final class TerminalProgress: @unchecked Sendable {
    // @unchecked: used from the one thread that runs the command.
    let verb: String
    let isTerminal = isatty(2) == 1
    private let started = ContinuousClock.now
    private var lastPrint = ContinuousClock.now
    private var printed = false

    init(verb: String) { self.verb = verb }

    static let barWidth = 24

    /// Shows `done` of `total` (`unit`: what is counted); `label` says what is being done.
    func show(_ label: String, done: UInt64, total: UInt64?, unit: String) {
        guard isTerminal, ContinuousClock.now - lastPrint > .milliseconds(200) || (total != nil && done == total) else { return }
        lastPrint = .now
        printed = true
        let elapsed = ContinuousClock.now - started
        let ms = max(1, elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
        let rate = done.multipliedReportingOverflow(by: 1000).partialValue / UInt64(ms)
        var line = "\r\(verb) \(label)"
        if let total, total > 0 {
            let filled = Int(min(done, total) * UInt64(Self.barWidth) / total)
            line += " [" + String(repeating: "#", count: filled) + String(repeating: "-", count: Self.barWidth - filled) + "]"
            line += " \(min(done, total) * 100 / total)% \(done)/\(total) \(unit)"
            if rate > 0, total > done { line += ", \(rate)/s, ETA \(Self.clock((total - done) / rate))" }
        } else {
            line += " \(done) \(unit)" + (rate > 0 ? ", \(rate)/s" : "")
        }
        FileHandle.standardError.write(Data((line + "\u{1B}[K").utf8))
    }

    /// For the projections' catch-up and rebuild.
    var report: @Sendable (String, UInt64, UInt64) -> Void {
        { [self] name, done, total in show(name, done: done, total: total, unit: "events") }
    }

    /// Clears the line before another message (a refused line) is printed.
    func clearLine() {
        if isTerminal && printed { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    func finish() {
        clearLine()
        printed = false
    }

    static func clock(_ seconds: UInt64) -> String {
        let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60)
        return (h > 0 ? "\(h):" : "") + (m < 10 && h > 0 ? "0" : "") + "\(m):" + (s < 10 ? "0" : "") + "\(s)"
    }
}

/// CSV output cells (RFC 4180), safe to open in a spreadsheet.
///
/// A text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to Excel
/// and LibreOffice (`=HYPERLINK(...)` in a member's name would run when an analyst opens the
/// export): it is neutralised with a leading single quote, as OWASP's "CSV Injection" advises.
/// Numbers are written as they are, so a negative balance stays a number; only integer JSON
/// values count as numbers, a string that looks like one is text.
enum CSVCell {
    /// The UTF-8 byte order mark `--excel` writes first, so that Excel reads the file as UTF-8.
    static let excelByteOrderMark = "\u{FEFF}"

    /// A text cell: neutralised, then quoted when it holds a comma, quote or line break.
    static func text(_ s: String) -> String {
        var s = s
        if let first = s.unicodeScalars.first, ["=", "+", "-", "@", "\t", "\r"].contains(first) { s = "'" + s }
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// An integer cell (never neutralised: `-12` is a number, not a formula).
    static func number(_ n: Int64) -> String { String(n) }

    /// A scalar JSON value as a cell: integers as numbers, everything else as text.
    static func json(_ v: JSONValue?) -> String {
        if case .integer(let literal)? = v, Int64(literal) != nil { return literal }
        return text(plainText(v))
    }
}


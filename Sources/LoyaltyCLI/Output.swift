import ArgumentParser
import Foundation
import Glibc
import LedgerJSON
import LoyaltyLedger

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
func plainText(_ v: JSONValue?) -> String { CSVCell.plainText(v) }

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

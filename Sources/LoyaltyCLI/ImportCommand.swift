import ArgumentParser
import Foundation
import LoyaltyLedger

/// `loyalty import FILE`: JSON Lines of command objects, or CSV of members or purchases, told
/// apart by the header (`ImportFormat`; the pipeline is `Ledger.importFile`). A bad line is
/// reported with its line number and reason and the import goes on; re-running an import writes
/// nothing new, unless `--retry-refused`.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Import JSON Lines commands or CSV members/purchases.",
        discussion: """
            CSV members: \(ImportFormat.memberHeader.joined(separator: ",")). CSV purchases: \(ImportFormat.purchaseHeader.joined(separator: ",")). \
            Input may start with a UTF-8 byte order mark and end lines with CRLF; invalid UTF-8 and lines over \
            \(InputLimits.lineBytesMax) bytes are refused by line number, and the import goes on. On a terminal, a progress \
            bar with the rate and the time left is drawn on standard error.
            """)
    @OptionGroup var options: DomainOptions
    @Argument var file: String
    @Flag(name: .customLong("enroll-unknown"), help: "Enroll a member at their first purchase when unknown.") var enrollUnknown = false
    @Flag(name: .customLong("retry-refused"), help: "Decide again the lines an earlier import refused (by default a refusal is permanent, like an acceptance).")
    var retryRefused = false
    @Option(help: "Lines per commit.") var batch = 1_000

    func validate() throws {
        guard (1...ImportOptions.batchLinesMax).contains(batch) else { throw ValidationError("--batch must be 1 to \(ImportOptions.batchLinesMax)") }
    }

    func run() async throws {
        guard FileManager.default.isReadableFile(atPath: file) else { throw CLIError("cannot open \(file): no readable file there") }
        let app = try options.ledger.open(writable: true)
        defer { app.close() }
        var importOptions = ImportOptions()
        importOptions.enrollUnknown = enrollUnknown
        importOptions.retryRefused = retryRefused
        importOptions.batchLines = batch
        importOptions.allowFuture = options.allowFuture
        let bar = TerminalProgress(verb: "importing")
        let done = try await app.ledger.importFile(path: file, options: importOptions, refused: { refusal in
            bar.clearLine()
            printError("line \(refusal.line): \(refusal.reason)")
        }, progress: { p in
            bar.show(p.bytesTotal == nil ? "\(p.linesRead) lines" : "", done: UInt64(p.bytesRead), total: p.bytesTotal.map(UInt64.init), unit: "bytes")
        })
        bar.finish()
        print("imported \(done.linesRead) lines: \(done.written) commands written, \(done.replayed) already present (nothing new written), \(done.refused) refused")
        // The process ends with this command: the decision state's allocations (every member,
        // lot and purchase) are not freed one by one; the deferred `close` still stops the writer.
        _ = Unmanaged.passRetained(app)
        if done.refused > 0 { throw CLIError("\(done.refused) line(s) not imported (reasons above)") }
    }
}

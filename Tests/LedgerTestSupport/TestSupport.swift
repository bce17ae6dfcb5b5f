import Foundation

// Helpers every test target shares: temporary directories and the package's built executables.

/// A fresh temporary directory per test, removed at the end (GRDB's GRDBTestCase habit).
public struct TemporaryDirectory: ~Copyable {
    public let path: String

    public init() {
        path = NSTemporaryDirectory() + "ledger-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    public var ledger: String { path + "/ledger" }

    /// A fresh directory holding an empty ledger at `ledger`, made by `loyalty init` (the only
    /// command that creates one).
    public static func withLedger() throws -> TemporaryDirectory {
        let dir = TemporaryDirectory()
        let made = try runTool("loyalty", ["init", "--ledger", dir.ledger])
        guard made.status == 0 else { throw TestSupportError.initFailed(made.err) }
        return dir
    }
}

public enum TestSupportError: Error { case initFailed(String) }

/// A built executable of this package (`loyalty`, `ledger-torture`), next to the test bundle.
public func builtExecutable(_ name: String) -> String {
    let candidates = [
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name).path,
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/\(name)").path,
    ]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
}

/// Runs a built executable to completion, feeding `input`; returns exit code (or the signal's
/// number), stdout, stderr.
@discardableResult
public func runTool(_ name: String, _ arguments: [String], input: String = "") throws -> (status: Int32, out: String, err: String) {
    let run = try runToolBytes(name, arguments, input: Array(input.utf8))
    return (run.status, run.out, run.err)
}

/// Reads a pipe to its end on a thread of its own.
final class PipeDrain: @unchecked Sendable {
    // @unchecked: `data` is written by the reading thread before `done` is signalled, and read
    // only after `wait` saw the signal.
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    func wait() -> Data {
        done.wait()
        return data
    }
}

/// Runs a built executable with raw bytes on its standard input (invalid UTF-8 included) and
/// tells an exit from a death by signal: `status` is the exit code, or the signal's number when
/// `signalled`.
public func runToolBytes(_ name: String, _ arguments: [String], input: [UInt8] = [])
    throws -> (status: Int32, signalled: Bool, out: String, err: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: builtExecutable(name))
    process.arguments = arguments
    let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    // Both pipes are drained at once: read one after the other, a child that fills the second
    // (64 KB of refusals on stderr) blocks writing while this waits for the first to end.
    let errors = PipeDrain(stderr.fileHandleForReading)
    let output = PipeDrain(stdout.fileHandleForReading)
    stdin.fileHandleForWriting.write(Data(input))
    try stdin.fileHandleForWriting.close()
    let out = output.wait(), err = errors.wait()
    process.waitUntilExit()
    return (process.terminationStatus, process.terminationReason == .uncaughtSignal,
            String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
}

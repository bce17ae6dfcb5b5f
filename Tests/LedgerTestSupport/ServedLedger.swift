import Foundation

/// `loyalty serve` running as a child process on a free loopback port, for tests of what only a
/// real process shows (signals, restarts). Stops it (SIGKILL) at deinit if still running.
public final class ServedLedger: @unchecked Sendable {
    // @unchecked: `process` is used only by the test that made it, and its methods are
    // thread-safe; `port` is set once before `init` returns.
    let process = Process()
    public private(set) var port = 0
    /// Standard error goes to a file (a pipe nobody drains would block the server).
    private let stderrPath = NSTemporaryDirectory() + "served-ledger-" + UUID().uuidString + ".err"

    /// Starts `loyalty serve --ledger LEDGER --listen 127.0.0.1:0 ARGS` and waits (up to 60 s)
    /// for its `listening on HOST:PORT` line.
    public init(ledger: String, arguments: [String] = []) throws {
        let stdout = Pipe()
        process.executableURL = URL(fileURLWithPath: builtExecutable("loyalty"))
        process.arguments = ["serve", "--ledger", ledger, "--listen", "127.0.0.1:0"] + arguments
        process.standardOutput = stdout
        FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        try process.run()
        let handle = stdout.fileHandleForReading
        let line = ResultBox()
        Thread.detachNewThread {
            var bytes: [UInt8] = []
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                bytes += chunk
                if bytes.contains(0x0A) { break }
            }
            line.set(String(decoding: bytes, as: UTF8.self))
        }
        guard let text = line.wait(seconds: 60), let port = text.split(separator: ":").last.flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) else {
            process.terminate()
            throw ServedLedgerError.didNotStart(errors())
        }
        self.port = port
    }

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Sends `signal` (SIGTERM: a graceful shutdown) and waits for the exit; returns its status.
    @discardableResult
    public func stop(signal: Int32 = 15) -> Int32 {  // 15: SIGTERM
        if process.isRunning { kill(process.processIdentifier, signal) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// What the server wrote on standard error (after it stopped).
    public func errors() -> String {
        (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: stderrPath)
    }
}

public enum ServedLedgerError: Error { case didNotStart(String) }

/// A value handed from one thread to another, waited for with a timeout.
final class ResultBox: @unchecked Sendable {
    // @unchecked: `value` is written once before `ready` is signalled and read after the wait.
    private var value: String?
    private let ready = DispatchSemaphore(value: 0)
    func set(_ v: String) { value = v; ready.signal() }
    func wait(seconds: Int) -> String? { ready.wait(timeout: .now() + .seconds(seconds)) == .success ? value : nil }
}

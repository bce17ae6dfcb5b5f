import Foundation
import Synchronization

/// A built executable (`loyalty` by default) running in the background: its standard output read
/// line by line as it comes, its standard error kept in a file. For tests of what only a real
/// process shows (signals, restarts, following). SIGKILLed at deinit if still running.
public final class RunningTool: @unchecked Sendable {
    // @unchecked: `process` is used by the test that made it, and Process's methods are
    // thread-safe; the output is behind a Mutex.
    private let process = Process()
    private let output = Output()
    final class Output: Sendable {
        let state = Mutex<(pending: [UInt8], lines: [String])>(([], []))
    }
    /// Standard error goes to a file: a pipe nobody drains would block the child.
    private let stderrPath = NSTemporaryDirectory() + "running-tool-" + UUID().uuidString + ".err"

    public init(_ arguments: [String], tool: String = "loyalty") throws {
        process.executableURL = URL(fileURLWithPath: builtExecutable(tool))
        process.arguments = arguments
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardInput = FileHandle.nullDevice
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        stdout.fileHandleForReading.readabilityHandler = { [output] handle in
            let data = handle.availableData
            output.state.withLock { state in
                state.pending += data
                while let end = state.pending.firstIndex(of: 0x0A) {
                    state.lines.append(String(decoding: state.pending[..<end], as: UTF8.self))
                    state.pending.removeSubrange(...end)
                }
            }
            if data.isEmpty { handle.readabilityHandler = nil }
        }
        try process.run()
    }

    /// The lines printed so far.
    public var lines: [String] { output.state.withLock { $0.lines } }

    /// The first line matching `predicate`, waiting up to `seconds`.
    public func waitForLine(seconds: Int = 60, _ predicate: (String) -> Bool) async throws -> String {
        for _ in 0..<(seconds * 20) {
            if let line = lines.first(where: predicate) { return line }
            if !process.isRunning, let line = lines.first(where: predicate) { return line }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw RunningToolError("no such line within \(seconds) s: \(lines)\n\(errors())")
    }

    /// The same wait, blocking the calling thread (for synchronous set-up code).
    public func waitForLineBlocking(seconds: Int = 60, _ predicate: (String) -> Bool) throws -> String {
        for _ in 0..<(seconds * 20) {
            if let line = lines.first(where: predicate) { return line }
            if !process.isRunning { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        if let line = lines.first(where: predicate) { return line }
        throw RunningToolError("no such line within \(seconds) s (running: \(process.isRunning)): \(lines)\n\(errors())")
    }

    /// The lines printed, once there are at least `count` (waiting up to `seconds`).
    public func waitForLines(_ count: Int, seconds: Int = 60) async throws -> [String] {
        for _ in 0..<(seconds * 20) {
            let printed = lines
            if printed.count >= count { return printed }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw RunningToolError("\(count) lines not printed within \(seconds) s: \(lines)\n\(errors())")
    }

    /// Sends `signal` (SIGTERM by default: a graceful stop) and waits for the exit; returns the
    /// exit status (or the signal's number).
    @discardableResult
    public func stop(signal: Int32 = 15) -> Int32 {  // 15: SIGTERM
        if process.isRunning { kill(process.processIdentifier, signal) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    public var isRunning: Bool { process.isRunning }
    public var processIdentifier: Int32 { process.processIdentifier }
    /// The exit status, once it has exited.
    public var status: Int32 { process.terminationStatus }

    /// What the tool wrote on standard error so far.
    public func errors() -> String {
        (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: stderrPath)
    }
}

public struct RunningToolError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A test's failure with a message (for helpers that throw rather than `#expect`).
public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

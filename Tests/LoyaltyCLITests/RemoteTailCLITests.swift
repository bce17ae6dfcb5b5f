import Foundation
import LedgerTestSupport
import Synchronization
import Testing

/// `loyalty tail --url` against a live `loyalty serve` (both the built binary).
@Suite struct RemoteTailCLITests {
    @Test func tailURLPrintsWhatTheLocalTailPrintsAndFollowsAcrossARestart() async throws {
        let dir = try TemporaryDirectory.withLedger()
        let l = ["--ledger", dir.ledger]
        #expect(try runTool("loyalty", ["enroll", "M1", "--store", "S1", "--at", "2026-02-01T09:00:00Z"] + l).status == 0)
        #expect(try runTool("loyalty", ["purchase", "M1", "--id", "P1", "--amount", "12.50", "--store", "S1", "--at", "2026-02-02T09:00:00Z"] + l).status == 0)
        let local = try runTool("loyalty", ["events"] + l)
        #expect(local.status == 0 && !local.out.isEmpty)

        // A consumer's key: it may only tail.
        let made = try runTool("loyalty", ["api-keys", "create", "follower", "--role", "consumer"] + l)
        #expect(made.status == 0, "\(made.err)")
        let key = ["--api-key", made.out.trimmingCharacters(in: .whitespacesAndNewlines)]
        var server = try RunningProcess(["serve", "--listen", "127.0.0.1:0", "--no-jobs"] + l)
        let listening = try await server.waitForLine { $0.hasPrefix("listening on ") }
        let address = String(listening.dropFirst("listening on ".count))
        let url = "http://\(address)"

        // Without --follow: every event up to the head, the same lines as the local tail.
        let remote = try runTool("loyalty", ["tail", "--url", url] + key)
        #expect(remote.status == 0, "\(remote.err)")
        #expect(remote.out == local.out)

        // With a checkpoint: the next run starts where the last one ended.
        let checkpoint = dir.path + "/consumer.position"
        let first = try runTool("loyalty", ["tail", "--url", url, "--checkpoint", checkpoint] + key)
        #expect(first.out == local.out)
        let head = local.out.split(separator: "\n").count
        #expect(try String(contentsOfFile: checkpoint, encoding: .utf8) == "\(head)\n")
        let again = try runTool("loyalty", ["tail", "--url", url, "--checkpoint", checkpoint] + key)
        #expect(again.status == 0 && again.out.isEmpty, "\(again.out)")

        // Following the stream across a restart of the server: every event once, in order.
        let follower = try RunningProcess(["tail", "--url", url, "--follow", "--checkpoint", dir.path + "/follower.position"] + key)
        _ = try await follower.waitForLines(head)
        server.stop()
        #expect(server.status == 0, "serve stops at SIGTERM with a stream open")
        #expect(try runTool("loyalty", ["enroll", "M2", "--store", "S1", "--at", "2026-02-03T09:00:00Z"] + l).status == 0)
        #expect(try runTool("loyalty", ["purchase", "M2", "--id", "P2", "--amount", "3.00", "--store", "S1", "--at", "2026-02-04T09:00:00Z"] + l).status == 0)
        let all = try runTool("loyalty", ["events"] + l).out
        let total = all.split(separator: "\n").count
        server = try RunningProcess(["serve", "--listen", address, "--no-jobs"] + l)
        _ = try await server.waitForLine { $0.hasPrefix("listening on ") }
        let followed = try await follower.waitForLines(total)
        follower.stop()
        server.stop()
        #expect(followed.joined(separator: "\n") + "\n" == all)
        #expect(try String(contentsOfFile: dir.path + "/follower.position", encoding: .utf8) == "\(total)\n")
    }

    @Test func tailURLReportsARefusedRequest() throws {
        let bad = try runTool("loyalty", ["tail", "--url", "ftp://x"])
        #expect(bad.status != 0 && bad.err.contains("--url"), "\(bad.err)")
        let stray = try runTool("loyalty", ["tail", "--checkpoint", "x"])
        #expect(stray.status != 0 && stray.err.contains("go with --url"), "\(stray.err)")
        // Nothing listening: without --follow, a few attempts and an error naming the URL.
        let down = try runTool("loyalty", ["tail", "--url", "http://127.0.0.1:1"])
        #expect(down.status != 0 && down.err.contains("http://127.0.0.1:1") && down.err.contains("attempts failed"), "\(down.err)")
    }
}

/// The built `loyalty` running in the background, its standard output read line by line.
final class RunningProcess {
    private let process = Process()
    private let lines = LineBuffer()

    final class LineBuffer: Sendable {
        let state = Mutex<(text: [UInt8], lines: [String])>(([], []))
    }

    init(_ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: builtExecutable("loyalty"))
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        let lines = self.lines
        output.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            lines.state.withLock { state in
                state.text += data
                while let end = state.text.firstIndex(of: 0x0A) {
                    state.lines.append(String(decoding: state.text[..<end], as: UTF8.self))
                    state.text.removeSubrange(...end)
                }
            }
            if data.isEmpty { handle.readabilityHandler = nil }
        }
        try process.run()
    }

    deinit { if process.isRunning { process.terminate(); process.waitUntilExit() } }

    /// The first line matching `predicate` (within 60 s).
    func waitForLine(_ predicate: (String) -> Bool) async throws -> String {
        for _ in 0..<1_200 {
            if let line = lines.state.withLock({ $0.lines.first(where: predicate) }) { return line }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw RunningProcessError(description: "no such line within 60 s: \(lines.state.withLock { $0.lines })")
    }

    /// The lines printed, once there are at least `count` (within 60 s).
    func waitForLines(_ count: Int) async throws -> [String] {
        for _ in 0..<1_200 {
            let printed = lines.state.withLock { $0.lines }
            if printed.count >= count { return printed }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw RunningProcessError(description: "\(count) lines not printed within 60 s: \(lines.state.withLock { $0.lines })")
    }

    /// SIGTERM, then waits for the exit.
    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }

    var status: Int32 { process.terminationStatus }
}

struct RunningProcessError: Error, CustomStringConvertible { var description: String }

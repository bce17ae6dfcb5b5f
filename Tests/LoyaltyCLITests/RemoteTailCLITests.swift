import Foundation
import LedgerTestSupport
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
        var server = try ServedLedger(ledger: dir.ledger, arguments: ["--no-jobs"])
        let address = server.address
        let url = server.baseURL

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
        let follower = try RunningTool(["tail", "--url", url, "--follow", "--checkpoint", dir.path + "/follower.position"] + key)
        _ = try await follower.waitForLines(head)
        #expect(server.stop() == 0, "serve stops at SIGTERM with a stream open")
        #expect(try runTool("loyalty", ["enroll", "M2", "--store", "S1", "--at", "2026-02-03T09:00:00Z"] + l).status == 0)
        #expect(try runTool("loyalty", ["purchase", "M2", "--id", "P2", "--amount", "3.00", "--store", "S1", "--at", "2026-02-04T09:00:00Z"] + l).status == 0)
        let all = try runTool("loyalty", ["events"] + l).out
        let total = all.split(separator: "\n").count
        server = try ServedLedger(ledger: dir.ledger, listen: address, arguments: ["--no-jobs"])
        let followed = try await follower.waitForLines(total)
        // A line is printed before its position is checkpointed (at least once): wait for the
        // checkpoint too, then stop.
        for _ in 0..<200 where (try? String(contentsOfFile: dir.path + "/follower.position", encoding: .utf8)) != "\(total)\n" {
            try await Task.sleep(for: .milliseconds(50))
        }
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

import AsyncHTTPClient
import Foundation
import LedgerStore
import LedgerTestSupport
import NIOCore
import Testing

/// `loyalty replicate` against a live `loyalty serve` over loopback (both the built binary):
/// the replica's log is the primary's byte for byte, a record altered in transit stops it at
/// that position, a SIGKILL loses nothing, and `serve --read-only` answers reads only.
@Suite(.timeLimit(.minutes(3))) struct ReplicaCLITests {
    /// A primary with realistic history (imported commands) and an auditor key, served; its
    /// folder is removed at the end.
    final class Primary {
        let path: String
        let key: String
        let server: ServedLedger
        let url: String
        /// `members export --format jsonl` before serving (a server keeps the projections to itself).
        let members: String
        var ledger: String { path + "/ledger" }

        init(commands: Int) async throws {
            let path = NSTemporaryDirectory() + "replica-test-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            self.path = path
            let l = ["--ledger", path + "/ledger"]
            #expect(try runTool("loyalty", ["init"] + l).status == 0)
            let generated = try runTool("loyalty", ["generate", "--commands", "--count", "\(commands)", "--members", "60"])
            #expect(generated.status == 0, "\(generated.err)")
            let file = path + "/commands.jsonl"
            try generated.out.write(toFile: file, atomically: true, encoding: .utf8)
            let imported = try runTool("loyalty", ["import", file] + l)
            #expect(imported.status == 0, "\(imported.err)")
            let made = try runTool("loyalty", ["api-keys", "create", "replica", "--role", "auditor"] + l)
            #expect(made.status == 0, "\(made.err)")
            key = made.out.trimmingCharacters(in: .whitespacesAndNewlines)
            let export = try runTool("loyalty", ["members", "export", "--format", "jsonl", "--at", ReplicaCLITests.at] + l)
            #expect(export.status == 0 && !export.out.isEmpty, "\(export.err)")
            members = export.out
            server = try ServedLedger(ledger: path + "/ledger", arguments: ["--no-jobs"])
            url = server.baseURL
        }

        deinit {
            server.stop()
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    @Test func replicaVerifiesAndAnswersAsThePrimaryAndItsReadOnlyServerRefusesCommands() async throws {
        let primary = try await Primary(commands: 1_500)
        let replica = primary.path + "/replica"
        let run = try runTool("loyalty", ["replicate", "--from", primary.url, "--api-key", primary.key, "--ledger", replica, "--page-records", "300"])
        #expect(run.status == 0, "\(run.err)")
        #expect(run.out.hasPrefix("replica at position "), "\(run.out)")

        let verified = try runTool("loyalty", ["verify", "--ledger", replica])
        #expect(verified.status == 0, "\(verified.out) \(verified.err)")
        // Every event with its chain hash, and the ledger's identity: the same log.
        let events = try runTool("loyalty", ["events", "--ledger", primary.ledger])
        #expect(events.status == 0 && !events.out.isEmpty)
        #expect(try runTool("loyalty", ["events", "--ledger", replica]).out == events.out)
        #expect(try Self.identity(replica) == Self.identity(primary.ledger))
        // The same Merkle tree: a checkpoint of the primary proves the replica's events.
        let keys = primary.path + "/keys", checkpoint = primary.path + "/checkpoint.json"
        #expect(try runTool("loyalty", ["keys", "generate", "--out", keys]).status == 0)
        #expect(try runTool("loyalty", ["checkpoint", "--key", keys + "/checkpoint-key.private.json", "--out", checkpoint, "--ledger", primary.ledger]).status == 0)
        for (ledger, out) in [(primary.ledger, primary.path + "/p.proof"), (replica, primary.path + "/r.proof")] {
            let proved = try runTool("loyalty", ["prove", "100", "--checkpoint", checkpoint, "--out", out, "--ledger", ledger])
            #expect(proved.status == 0, "\(proved.err)")
        }
        #expect(FileManager.default.contents(atPath: primary.path + "/p.proof") == FileManager.default.contents(atPath: primary.path + "/r.proof"))
        // Its own projections answer as the primary's.
        #expect(try runTool("loyalty", ["members", "export", "--format", "jsonl", "--at", Self.at, "--ledger", replica]).out == primary.members)

        // A second run resumes at the head and copies nothing.
        let again = try runTool("loyalty", ["replicate", "--from", primary.url, "--api-key", primary.key, "--ledger", replica])
        #expect(again.status == 0 && again.out == run.out, "\(again.out) \(again.err)")

        // Read-only serving beside a following replicate: reads answer, commands are 405.
        let replicaKey = try runTool("loyalty", ["api-keys", "create", "reader", "--role", "operator", "--ledger", replica])
        #expect(replicaKey.status == 0, "\(replicaKey.err)")
        let follower = try RunningTool(["replicate", "--from", primary.url, "--api-key", primary.key, "--ledger", replica, "--follow"])
        let reader = try ServedLedger(ledger: replica, arguments: ["--read-only"])
        let readerURL = reader.baseURL
        let bearer = "Bearer " + replicaKey.out.trimmingCharacters(in: .whitespacesAndNewlines)
        let http = HTTPClient.shared
        let refused = try await Self.send(http, "POST", readerURL + "/v1/members", bearer: bearer,
                                          body: #"{"member":"NEW1","store":"S1","occurredAt":"2026-01-01T00:00:00Z"}"#)
        #expect(refused.status == 405 && refused.contentType == "application/problem+json", "\(refused)")
        #expect(refused.body.contains("/problems/method-not-allowed"), "\(refused.body)")
        let member = try #require(primary.members.split(separator: "\n").first.flatMap { Self.field("member", String($0)) })
        let balance = try await Self.send(http, "GET", readerURL + "/v1/members/\(member)/balance", bearer: bearer)
        #expect(balance.status == 200, "\(balance)")

        // A write on the primary reaches the read-only server through the replica.
        let operatorKey = try runTool("loyalty", ["api-keys", "create", "writer", "--role", "operator", "--ledger", primary.ledger])
        let written = try await Self.send(http, "POST", primary.url + "/v1/members", bearer: "Bearer " + operatorKey.out.trimmingCharacters(in: .whitespacesAndNewlines),
                                          body: #"{"member":"NEW1","store":"S1","occurredAt":"2026-01-01T00:00:00Z"}"#)
        #expect(written.status == 201, "\(written)")
        var seen: UInt = 0
        for _ in 0..<300 where seen != 200 {
            seen = try await Self.send(http, "GET", readerURL + "/v1/members/NEW1/balance", bearer: bearer).status
            if seen != 200 { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(seen == 200, "the read-only server answers for a member enrolled on the primary")
        reader.stop()
        follower.stop()
        primary.server.stop()
        #expect(try runTool("loyalty", ["verify", "--ledger", replica]).status == 0)
        #expect(try runTool("loyalty", ["events", "--ledger", replica]).out == runTool("loyalty", ["events", "--ledger", primary.ledger]).out)
    }

    @Test func aRecordAlteredInTransitStopsTheReplicaAtItsPosition() async throws {
        let primary = try await Primary(commands: 800)
        let head = try runTool("loyalty", ["events", "--ledger", primary.ledger]).out.split(separator: "\n").count
        let target = UInt64(min(head - 1, 700))
        let proxy = try TamperingProxy(upstream: primary.url, tamperAt: target)
        let replica = primary.path + "/replica"
        let run = try runTool("loyalty", ["replicate", "--from", proxy.url, "--api-key", primary.key, "--ledger", replica, "--page-records", "250"])
        #expect(run.status == 1, "\(run.out) \(run.err)")
        #expect(run.err.contains("position \(target): chain mismatch"), "\(run.err)")
        #expect(run.err.contains("expected hash ") && run.err.contains("received "), "\(run.err)")
        // Everything before the altered record is stored, verified, and equal to the primary's.
        let events = try runTool("loyalty", ["events", "--ledger", replica]).out
        #expect(events.split(separator: "\n").count == Int(target) - 1)
        #expect(try runTool("loyalty", ["events", "--limit", "\(target - 1)", "--ledger", primary.ledger]).out == events)
        #expect(try runTool("loyalty", ["verify", "--ledger", replica]).status == 0)
        // Straight from the primary, it resumes there and completes.
        let resumed = try runTool("loyalty", ["replicate", "--from", primary.url, "--api-key", primary.key, "--ledger", replica])
        #expect(resumed.status == 0, "\(resumed.err)")
        #expect(try runTool("loyalty", ["events", "--ledger", replica]).out == runTool("loyalty", ["events", "--ledger", primary.ledger]).out)
        primary.server.stop()
    }

    @Test func aReplicaKilledWithSIGKILLResumesFromItsOwnHead() async throws {
        let primary = try await Primary(commands: 1_500)
        let replica = primary.path + "/replica"
        let arguments = ["replicate", "--from", primary.url, "--api-key", primary.key, "--ledger", replica, "--page-records", "40"]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<3 {
            let child = try RunningTool(arguments)
            try await Task.sleep(for: .milliseconds(Int.random(in: 150...700, using: &generator)))
            child.stop(signal: SIGKILL)
        }
        let finished = try runTool("loyalty", arguments)
        #expect(finished.status == 0, "\(finished.err)")
        #expect(try runTool("loyalty", ["verify", "--ledger", replica]).status == 0)
        #expect(try runTool("loyalty", ["events", "--ledger", replica]).out == runTool("loyalty", ["events", "--ledger", primary.ledger]).out)
        primary.server.stop()
    }

    @Test func replicateRefusesBadArgumentsAndAnotherLedger() async throws {
        let bad = try runTool("loyalty", ["replicate", "--from", "ftp://x", "--ledger", "/nonexistent"])
        #expect(bad.status != 0 && bad.err.contains("--from"), "\(bad.err)")
        let primary = try await Primary(commands: 50)
        // A ledger made by `init` has an id of its own: it is no replica of the primary.
        let other = try TemporaryDirectory.withLedger()
        let refused = try runTool("loyalty", ["replicate", "--from", primary.url, "--api-key", primary.key, "--ledger", other.ledger])
        #expect(refused.status == 1 && refused.err.contains("this replica is of ledger"), "\(refused.err)")
        let unauthorized = try runTool("loyalty", ["replicate", "--from", primary.url, "--api-key", "ll_wrong", "--ledger", primary.path + "/r"])
        #expect(unauthorized.status == 1 && unauthorized.err.contains("401"), "\(unauthorized.err)")
        #expect(!FileManager.default.fileExists(atPath: primary.path + "/r/data.mdb"), "nothing is created without a first page")
        primary.server.stop()
    }

    // MARK: Helpers

    static func identity(_ ledger: String) throws -> LedgerIdentity {
        var options = EventLogOptions()
        options.writable = false
        let log = try EventLog.open(path: ledger, options: options)
        defer { log.close() }
        return try log.identity()
    }

    /// The time member views are evaluated at (fixed, so that two exports compare).
    static let at = "2026-06-01T00:00:00Z"

    static func field(_ name: String, _ line: String) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
        return object[name] as? String
    }

    struct Answer: CustomStringConvertible {
        var status: UInt
        var contentType: String
        var body: String
        var description: String { "\(status) \(contentType) \(body.prefix(300))" }
    }

    static func send(_ http: HTTPClient, _ method: String, _ url: String, bearer: String, body: String? = nil) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = .init(rawValue: method)
        request.headers.add(name: "Authorization", value: bearer)
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await http.execute(request, timeout: .seconds(30))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        return Answer(status: response.status.code, contentType: response.headers.first(name: "Content-Type") ?? "", body: text)
    }
}

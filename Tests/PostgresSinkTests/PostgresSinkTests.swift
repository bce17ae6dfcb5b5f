import Foundation
import LedgerJSON
import LedgerTestSupport
import LoyaltyDomain
import LoyaltyLedger
import Projections
import Testing
@testable import PostgresSink

/// `loyalty sink postgres` against a real PostgreSQL (installed when missing, started by each
/// test on a private socket, stopped afterwards) and the real `loyalty` binary.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct PostgresSinkTests {
    /// SIGKILL the sink at random moments and restart it: afterwards the tables hold every event
    /// once and every member's view and balance exactly as the ledger's projections give them.
    @Test func killedAtRandomMomentsThenResumed() throws {
        let dir = TemporaryDirectory()
        try generatedLedger(dir.ledger, commands: 2_500, members: 120)
        let server = try PostgresServer()
        let arguments = ["--url", server.url(), "--ledger", dir.ledger, "--batch-events", "97"]
        var generator = SystemRandomNumberGenerator()
        var positions: [String] = []
        for _ in 0..<4 {
            let sink = try SinkProcess(arguments)
            usleep(UInt32.random(in: 300_000...1_500_000, using: &generator))
            sink.kill()
            positions.append(try server.psql("SELECT position FROM loyalty.sink_checkpoint").trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let last = try SinkProcess(arguments + ["--stop-at-head"])
        let status = last.wait(seconds: 120)
        #expect(status == 0, "\(last.errors)")
        let problems = try compareTables(server, database: "postgres", ledger: dir.ledger)
        #expect(problems.isEmpty, "checkpoints after the kills: \(positions); \(problems.prefix(5))")
        // A second run finds nothing to do and changes nothing.
        let again = try SinkProcess(arguments + ["--stop-at-head"])
        #expect(again.wait(seconds: 60) == 0, "\(again.errors)")
        #expect(try compareTables(server, database: "postgres", ledger: dir.ledger).isEmpty)
    }

    /// The server stopped under a following sink and started again: the sink reconnects and
    /// catches up with events written meanwhile. Then the liability query of
    /// schemas/postgres-sink.md equals `loyalty figures` and `reconcile`'s figures.
    @Test func survivesConnectionLossAndReproducesTheLiability() throws {
        let dir = TemporaryDirectory()
        try generatedLedger(dir.ledger, commands: 1_500, members: 80)
        let server = try PostgresServer()
        let sink = try SinkProcess(["--url", server.url(), "--ledger", dir.ledger, "--batch-events", "500"])
        try waitForCheckpoint(server, ledger: dir.ledger, sink: sink)
        server.stop()
        // More history while the database is down.
        let more = try runTool("loyalty", ["enroll", "late-member", "--store", "S1", "--ledger", dir.ledger])
        #expect(more.status == 0, "\(more.err)")
        usleep(500_000)
        try server.start()
        try waitForCheckpoint(server, ledger: dir.ledger, sink: sink)
        sink.kill()
        #expect(sink.errors.contains("lost the connection"), "\(sink.errors)")
        let problems = try compareTables(server, database: "postgres", ledger: dir.ledger)
        #expect(problems.isEmpty, "\(problems.prefix(5))")

        let app = try LedgerApplication.open(path: dir.ledger)
        defer { app.close() }
        _ = try app.catchUp()
        let at = Timestamp.now()
        let figures = try app.figures(FiguresQuery(), at: at)
        let sql = try liabilityQuery().replacingOccurrences(of: ":at", with: "'\(at.rfc3339)'")
        let found = try server.psql(sql).split(separator: "|").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(found == [String(figures.liabilityPoints), String(figures.liabilityPoints - figures.debt)], "\(found)")
        #expect(figures.liabilityPoints > 0)
    }

    /// Bad URLs and unreachable servers: a clear message and a non-zero exit, no retrying.
    @Test func badURLAndUnreachableServer() throws {
        let dir = try TemporaryDirectory.withLedger()
        for (url, message) in [("mysql://x@localhost/db", "is not a postgres:// URL"),
                               ("not a url", "is not a postgres:// URL"),
                               ("postgres://x@localhost:99999/db", "port '99999' is not 1 to 65535"),
                               ("postgres://x@localhost/db?sslmode=require", "sslmode=require is not supported"),
                               ("postgres://u:secret@/db?host=/nonexistent-\(UUID().uuidString)", "cannot connect to"),
                               ("postgres://u@127.0.0.1:1/db", "cannot connect to")] {
            let run = try runTool("loyalty", ["sink", "postgres", "--url", url, "--ledger", dir.ledger, "--stop-at-head"])
            #expect(run.status != 0 && run.err.contains(message), "\(url): \(run.status) \(run.err)")
            #expect(!run.err.contains("secret"), "the password is shown: \(run.err)")
        }
        let missing = try runTool("loyalty", ["sink", "postgres", "--url", "postgres://u@/db?host=/tmp", "--ledger", dir.path + "/nope"])
        #expect(missing.status != 0 && missing.err.contains("nope"), "\(missing.err)")
    }

    /// A remote source: `loyalty serve`'s tail into PostgreSQL, the same tables as a local sink.
    @Test func followsARemoteLedger() throws {
        let dir = TemporaryDirectory()
        try generatedLedger(dir.ledger, commands: 800, members: 50)
        let server = try PostgresServer()
        let served = try ServedLedger(ledger: dir.ledger, arguments: ["--no-jobs", "--insecure-no-auth"])
        let sink = try SinkProcess(["--url", server.url(), "--source", served.baseURL, "--stop-at-head"])
        #expect(sink.wait(seconds: 120) == 0, "\(sink.errors)")
        served.stop()
        let problems = try compareTables(server, database: "postgres", ledger: dir.ledger)
        #expect(problems.isEmpty, "\(problems.prefix(5))")
    }

    /// The columns come from the read models' JSON: every field is a column of a type its values fit.
    @Test func columnsCoverTheExportedFields() {
        let keys = Set(SinkColumns.memberViews.map(\.key))
        #expect(keys.isSuperset(of: MemberColumns.csv))
        #expect(Set(SinkColumns.balances.map(\.name)).isSuperset(of: ["available", "pending", "held", "debt", "clawed_back", "lots", "as_of"]))
        #expect(SinkColumns.memberViews.first { $0.key == "totalSpend" }?.type == "bigint")
        #expect(SinkColumns.memberViews.first { $0.key == "tierSince" }?.type == "timestamptz")
    }

    /// The liability query, as schemas/postgres-sink.md gives it (`:at` is the evaluation time).
    private func liabilityQuery() throws -> String {
        let doc = try String(contentsOfFile: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("schemas/postgres-sink.md").path, encoding: .utf8)
        guard let start = doc.range(of: "```sql liability\n"), let end = doc.range(of: "```", range: start.upperBound..<doc.endIndex) else {
            throw TestFailure("schemas/postgres-sink.md has no ```sql liability block")
        }
        return String(doc[start.upperBound..<end.lowerBound])
    }

    private func waitForCheckpoint(_ server: PostgresServer, ledger: String, sink: SinkProcess) throws {
        let app = try LedgerApplication.open(path: ledger)
        let head = try app.log.headPosition()
        app.close()
        let deadline = Date().addingTimeInterval(90)
        while Date() < deadline {
            if let text = try? server.psql("SELECT position FROM loyalty.sink_checkpoint"),
               UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines)) == head { return }
            guard sink.process.isRunning else { throw TestFailure("the sink stopped: \(sink.errors)") }
            usleep(100_000)
        }
        throw TestFailure("the sink did not reach position \(head): \(sink.errors)")
    }
}

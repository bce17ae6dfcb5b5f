import Foundation
import LedgerTestSupport
import Testing
@testable import LedgerStore

/// The log's process rules seen from another process: the `loyalty` tool beside a writer.
@Suite struct MultiProcessRulesTests {
    @Test func aSecondWriterIsRefusedWithTheOwnersPid() async throws {
        let dir = TemporaryDirectory()
        let log = try openLog(dir.ledger)
        defer { log.close() }
        _ = try await log.append(draft("m1"))
        // A second process cannot write: the lock names this process.
        let refused = try runTool("loyalty", ["append", "--ledger", dir.ledger],
                                  input: #"{"type":"t","member":"m","occurredAt":"2026-01-01T00:00:00Z","data":{}}"# + "\n")
        #expect(refused.status != 0)
        #expect(refused.err.contains("in use by process \(ProcessInfo.processInfo.processIdentifier)"))
        // Readers in another process work alongside the writer.
        let events = try runTool("loyalty", ["events", "--ledger", dir.ledger])
        #expect(events.status == 0 && events.out.contains(#""position":1"#))
        let verify = try runTool("loyalty", ["verify", "--ledger", dir.ledger])
        #expect(verify.status == 0, "\(verify.err)")
    }

    @Test func aReaderSeesAnotherProcesssCommitsWithoutTheIndex() async throws {
        let dir = TemporaryDirectory()
        let writer = try openLog(dir.ledger) { $0.indexFlushIntervalMilliseconds = 60_000; $0.indexFlushEntries = 1 << 30 }
        defer { writer.close() }
        _ = try await writer.append([draft("m1"), draft("m2"), draft("m1")])
        // A read-only handle is what another process gets: the index has nothing yet.
        let result = try runTool("loyalty", ["stats", "--ledger", dir.ledger, "--format", "json"])
        #expect(result.status == 0)
        #expect(result.out.contains(#""memberCount" : 2"#), "\(result.out)")
    }
}


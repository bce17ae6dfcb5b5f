import Foundation
import LedgerStore
import LedgerTestSupport
import ProjectionTestSupport
import Testing
@testable import Projections

/// A real `loyalty` process catches up or rebuilds the projections in small checkpointed steps
/// and is killed with SIGKILL at random moments; after every kill the projections are consistent
/// (checkpoint within the log), and once caught up they equal a from-scratch fold, digest for digest.
@Suite(.serialized) struct ProjectionCrashTests {
    @Test(.timeLimit(.minutes(5)))
    func sigkillDuringCatchUpOrRebuildNeitherLosesNorDoublesAnEvent() async throws {
        let dir = TemporaryDirectory()
        // Large enough that a catch-up in 31-event steps outlasts the kill delays below even as
        // projections get faster (with 6,000 commands the first catch-up began to finish first).
        try makeLedger(dir.ledger, commands: 20_000, members: 150)
        var killedMidway = 0
        var random = SystemRandomNumberGenerator()
        for run in 0..<12 {
            // Every third run rebuilds, every other one of them balances alone (partitioned by
            // member on several threads: `PartitionedRun`).
            let verb = run % 6 == 5 ? ["projections", "rebuild", "balances", "--step-events", "31"]
                : run % 3 == 2 ? ["projections", "rebuild", "--step-events", "31"] : ["projections", "catch-up", "--step-events", "31"]
            let process = Process()
            process.executableURL = URL(fileURLWithPath: builtExecutable("loyalty"))
            process.arguments = verb + ["--ledger", dir.ledger]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            try await Task.sleep(for: .milliseconds(Int.random(in: 20...350, using: &random)))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            // What a kill left behind: every checkpoint within the log, some of them short of it.
            let log = try EventLog.open(path: dir.ledger, options: { var o = EventLogOptions(); o.writable = false; return o }())
            let status = try LedgerProjections(log: log).status()
            for s in status {
                #expect(s.checkpoint <= s.head && (s.buildCheckpoint ?? 0) <= s.head, "\(s.name) after kill \(run)")
            }
            if process.terminationReason == .uncaughtSignal, status.contains(where: { $0.lagEvents > 0 || $0.buildCheckpoint != nil }) {
                killedMidway += 1
            }
            log.close()
        }
        print("projection crash test: killed in the middle of its work \(killedMidway) of 12 times")
        #expect(killedMidway >= 3, "the child was killed in the middle of its work at least a few times")
        let log = try EventLog.open(path: dir.ledger, options: { var o = EventLogOptions(); o.writable = false; return o }())
        defer { log.close() }
        let projections = try LedgerProjections(log: log)
        try projections.catchUp()
        let live = try expectDeterministic(projections)
        for name in LedgerProjections.names { try projections.rebuild(name) }
        let rebuilt = try expectDeterministic(projections)
        #expect(live == rebuilt, "a rebuild from position 0 reproduces the recovered projections byte for byte")
    }
}

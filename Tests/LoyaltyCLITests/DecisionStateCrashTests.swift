import Foundation
import LedgerTestSupport
import Testing

/// SIGKILL during imports that flush the decision state every few hundred keys: after every kill
/// the state opens at a checkpoint and, caught up, equals a fold of the log from position 0.
@Suite(.serialized) struct DecisionStateCrashTests {
    @Test(.timeLimit(.minutes(6)))
    func sigkillMidImportLeavesAStateEqualToAFreshFold() async throws {
        let dir = TemporaryDirectory()
        #expect(try await runBounded(["init", "--ledger", dir.ledger]).exitCode == 0)
        let commands = try await DamagedFilesTests().generatedCommands(dir.path + "/gen", count: 60_000, members: 300)
        var random = SystemRandomNumberGenerator()
        var killed = 0
        for round in 0..<6 {
            let importer = try BoundedProcess(["import", commands, "--enroll-unknown", "--ledger", dir.ledger],
                                              environment: ["LOYALTY_STATE_FLUSH_KEYS": "400"])
            // Early enough that the first rounds are cut mid-way however fast the machine is
            // (each round replays what the killed ones wrote, then goes on).
            try await Task.sleep(for: .milliseconds(Int.random(in: 300...1_500, using: &random)))
            let run = await importer.finish(seconds: 0)
            // (An import ends with 1 when some commands were refused: the generator makes some.)
            if run.timedOut { killed += 1 } else { #expect(run.signal == nil && run.err.contains("refused") || run.exitCode == 0, "round \(round): \(run.summary)") }
            let check = try await runBounded(["decisions", "check", "--ledger", dir.ledger], seconds: 120)
            #expect(check.exitCode == 0 && check.out.contains("OK"), "round \(round): \(check)")
        }
        #expect(killed > 0, "at least one import was killed mid-way")
        let rest = try await runBounded(["import", commands, "--enroll-unknown", "--ledger", dir.ledger], seconds: 300)
        #expect(rest.signal == nil && !rest.timedOut && rest.out.contains("imported"), "\(rest.summary)")
        let status = try await runBounded(["decisions", "status", "--ledger", dir.ledger])
        let head = try await runBounded(["stats", "--ledger", dir.ledger])
        #expect(status.exitCode == 0 && head.exitCode == 0)
        let check = try await runBounded(["decisions", "check", "--ledger", dir.ledger], seconds: 120)
        #expect(check.exitCode == 0 && check.out.contains("OK"), "\(check)")
    }

    /// Every writing command leaves the decision state flushed through the head at its close,
    /// so the next process folds nothing.
    @Test(.timeLimit(.minutes(2)))
    func aCommandLeavesTheStateCheckpointedAtTheHead() async throws {
        let dir = TemporaryDirectory()
        for arguments in [["init"], ["enroll", "M1", "--store", "S1"], ["adjust", "M1", "--points", "5", "--reason", "goodwill", "--id", "K1"]] {
            let run = try await runBounded(arguments + ["--ledger", dir.ledger])
            #expect(run.exitCode == 0, "\(run)")
        }
        let status = try await runBounded(["decisions", "status", "--format", "json", "--ledger", dir.ledger])
        #expect(status.out.contains(#""checkpoint":2"#) && status.out.contains(#""head":2"#), "\(status)")
    }
}

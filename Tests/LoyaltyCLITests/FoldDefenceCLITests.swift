import Foundation
import LedgerStore
import LedgerTestSupport
import Testing

/// Regressions through the real `loyalty` binary for the domain model's fold: a credit pays debt
/// first, reversals included (issue 13, case 11); a stored event the model cannot fold is named by
/// every write command, never a trap.
@Suite struct FoldDefenceCLITests {
    /// Earn 600, redeem 600, return the purchase (600 of debt under `unlimited`), reverse the
    /// redemption: the 600 restored points pay the debt first.
    func debtThenReversal(_ dir: borrowing TemporaryDirectory) throws -> [String] {
        let l = ["--ledger", dir.ledger]
        let rules = dir.path + "/rules.json"
        try #"{"version": 1, "currency": "EUR", "minorUnitExponent": 2, "returnPolicy": "unlimited"}"#.write(toFile: rules, atomically: true, encoding: .utf8)
        for step in [["program", "publish", rules, "--at", "2026-01-01T00:00:00Z"],
                     ["enroll", "M1", "--store", "S1", "--at", "2026-01-02T00:00:00Z"],
                     ["purchase", "M1", "--id", "P1", "--amount", "600", "--store", "S1", "--at", "2026-01-03T00:00:00Z"],
                     ["redeem", "M1", "--points", "600", "--id", "R1", "--at", "2026-01-04T00:00:00Z"],
                     ["return", "P1", "--id", "RT1", "--at", "2026-01-05T00:00:00Z"]] {
            let r = try runTool("loyalty", step + l)
            #expect(r.status == 0, "\(step): \(r.err)")
        }
        let owing = try runTool("loyalty", ["balance", "M1", "--as-of", "2026-01-05T12:00:00Z", "--format", "json"] + l)
        #expect(owing.out.contains(#""available":0"#) && owing.out.contains(#""debt":600"#), "\(owing.out)\(owing.err)")
        let reversed = try runTool("loyalty", ["reverse-redemption", "R1", "--at", "2026-01-06T00:00:00Z"] + l)
        #expect(reversed.status == 0 && reversed.out.contains("debtPaid 600"), "\(reversed.out)\(reversed.err)")
        return l
    }

    @Test(.timeLimit(.minutes(2)))
    func case11ARedemptionReversalPaysTheDebtFirstInTheModel() throws {
        let dir = try TemporaryDirectory.withLedger()
        let l = try debtThenReversal(dir)
        // The model (as-of view, and what the next decision sees): nothing spendable, no debt.
        let asOf = try runTool("loyalty", ["balance", "M1", "--as-of", "2026-01-07T00:00:00Z", "--format", "json"] + l)
        #expect(asOf.status == 0 && asOf.out.contains(#""available":0"#) && asOf.out.contains(#""debt":0"#), "\(asOf.out)\(asOf.err)")
        let redeem = try runTool("loyalty", ["redeem", "M1", "--points", "1", "--id", "R2", "--at", "2026-01-07T00:00:00Z"] + l)
        #expect(redeem.status == 1 && redeem.err.contains("has 0 spendable points, 1 requested"), "\(redeem.err)")
    }

    /// `balance` reads the balances projection: it holds only once the projection applies the
    /// reversal's `debtPaid` (`LifetimeFigures.lotCredits`) as the model does.
    @Test(.timeLimit(.minutes(2)))
    func case11ARedemptionReversalPaysTheDebtFirstInTheBalance() throws {
        let dir = try TemporaryDirectory.withLedger()
        let l = try debtThenReversal(dir)
        let balance = try runTool("loyalty", ["balance", "M1", "--at", "2026-01-07T00:00:00Z", "--format", "json"] + l)
        #expect(balance.status == 0 && balance.out.contains(#""available":0"#) && balance.out.contains(#""debt":0"#), "\(balance.out)\(balance.err)")
    }

    @Test(.timeLimit(.minutes(2)))
    func aStoredEventTheModelCannotFoldIsNamedByWriteCommandsAndReadsOfTheLogGoOn() async throws {
        let dir = try TemporaryDirectory.withLedger()
        let l = ["--ledger", dir.ledger]
        #expect(try runTool("loyalty", ["enroll", "M1", "--store", "S1", "--at", "2026-01-02T00:00:00Z"] + l).status == 0)
        #expect(try runTool("loyalty", ["purchase", "M1", "--id", "P1", "--amount", "10", "--store", "S1", "--at", "2026-01-03T00:00:00Z"] + l).status == 0)
        // A redemption from a lot the member never had, written past the domain (a damaged or
        // foreign writer).
        var options = EventLogOptions()
        options.writable = true
        let log = try EventLog.open(path: dir.ledger, options: options)
        _ = try await log.append([EventDraft(type: "points.redeemed", member: "M1", occurredAt: 1_767_398_400_000_000,
                                             data: Array(#"{"allocations":[{"lotId":"P:nope","points":5}],"member":"M1","points":5,"redemptionId":"R1"}"#.utf8))])
        log.close()
        let named = "event at position 4 (points.redeemed, member M1) cannot be applied: member 'M1' has no lot 'P:nope'"
        for command in [["purchase", "M1", "--id", "P2", "--amount", "10", "--store", "S1"], ["redeem", "M1", "--points", "1", "--id", "R2"],
                        ["expire"]] {
            let r = try runTool("loyalty", command + l)
            #expect(r.status == 1 && r.err.contains(named), "\(command): \(r.status) \(r.err)")
        }
        let events = try runTool("loyalty", ["events"] + l)
        #expect(events.status == 0 && events.out.split(separator: "\n").count == 4)
        #expect(try runTool("loyalty", ["verify"] + l).status == 0)
    }
}

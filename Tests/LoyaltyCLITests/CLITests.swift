import Foundation
import Testing

/// The `loyalty` binary as an operator uses it: exit codes, one-line reasons, idempotent re-runs.
@Suite struct CLITests {
    @Test func commandsRefuseWithAOneLineReasonAndExitNonZero() throws {
        let dir = TemporaryDirectory()
        let l = ["--ledger", dir.ledger]
        #expect(try runTool("loyalty", ["init"] + l).status == 0)  // only init creates a ledger
        #expect(try runTool("loyalty", ["enroll", "M1", "--store", "S1", "--at", "2026-02-01T09:00:00Z"] + l).status == 0)
        let bought = try runTool("loyalty", ["purchase", "M1", "--id", "P1", "--amount", "42.50", "--store", "S1", "--at", "2026-02-01T10:00:00Z"] + l)
        #expect(bought.status == 0 && bought.out.contains("points.earned"))
        let again = try runTool("loyalty", ["purchase", "M1", "--id", "P1", "--amount", "42.50", "--store", "S1", "--at", "2026-02-01T10:00:00Z"] + l)
        #expect(again.status == 0 && again.out.contains("already done"))
        let conflict = try runTool("loyalty", ["purchase", "M1", "--id", "P1", "--amount", "43", "--store", "S1", "--at", "2026-02-01T10:00:00Z"] + l)
        #expect(conflict.status != 0 && conflict.err.contains("'purchase:P1' was already used for a different command"))
        let tooMuch = try runTool("loyalty", ["redeem", "M1", "--points", "100", "--id", "R1", "--at", "2026-02-02T10:00:00Z"] + l)
        #expect(tooMuch.status != 0 && tooMuch.err.contains("has 42 spendable points, 100 requested"))
        let badAmount = try runTool("loyalty", ["purchase", "M1", "--id", "P2", "--amount", "1.234", "--store", "S1"] + l)
        #expect(badAmount.status != 0 && badAmount.err.contains("field 'amount': '1.234'"))
        let balance = try runTool("loyalty", ["balance", "M1", "--format", "json", "--at", "2026-02-03T00:00:00Z"] + l)
        #expect(balance.status == 0 && balance.out.contains(#""available":42"#) && balance.out.contains(#""debt":0"#))
        let unknown = try runTool("loyalty", ["balance", "nobody"] + l)
        #expect(unknown.status != 0 && unknown.err.contains("unknown member 'nobody'"))
    }

    @Test func importReportsBadLinesByNumberAndReRunsWriteNothing() throws {
        let dir = TemporaryDirectory()
        let csv = dir.path + "/purchases.csv"
        try """
        member_id,purchase_id,occurred_at,amount,currency,store_id
        C1,T1,2026-02-01T10:00:00Z,10.00,EUR,S1
        C1,T2,2026-02-30,10.00,EUR,S1
        C2,T3,2026-02-02,12.345,EUR,S1
        C2,T4,2026-02-02,"7.50",EUR,S1

        """.write(toFile: csv, atomically: true, encoding: .utf8)
        let l = ["--ledger", dir.ledger]
        #expect(try runTool("loyalty", ["init"] + l).status == 0)  // only init creates a ledger
        let strict = try runTool("loyalty", ["import", csv] + l)
        #expect(strict.status != 0)
        #expect(strict.err.contains("line 2: unknown member 'C1'"))
        #expect(strict.err.contains("line 3: field 'occurred_at': '2026-02-30'"))
        #expect(strict.err.contains("line 4: field 'amount': '12.345'"))
        let first = try runTool("loyalty", ["import", csv, "--enroll-unknown", "--retry-refused"] + l)
        #expect(first.out.contains("3 commands written") || first.out.contains("4 commands written"), "\(first.out)")
        let again = try runTool("loyalty", ["import", csv, "--enroll-unknown"] + l)
        #expect(again.out.contains("0 commands written"), "\(again.out)")
        let events = try runTool("loyalty", ["events"] + l)
        #expect(events.out.split(separator: "\n").filter { !$0.contains(#""type":"command.refused""#) }.count == 6, "2 enrollments, 2 purchases with 2 lots")
        #expect(try runTool("loyalty", ["verify"] + l).status == 0)
        let notCSV = dir.path + "/junk.txt"
        try "hello\n".write(toFile: notCSV, atomically: true, encoding: .utf8)
        let junk = try runTool("loyalty", ["import", notCSV] + l)
        #expect(junk.status != 0 && junk.err.contains("line 1: not a JSON command nor a known CSV header"))
    }
}

import Foundation
import Testing

/// `history`, `balance --as-of/--known-at`, `explain` and `reconcile` as an operator runs them:
/// exit codes, reports, one-line refusals.
@Suite struct AuditCLITests {
    @Test(.timeLimit(.minutes(2)))
    func disputeAndReconcileCommandsAnswerAndRefuseWithOneLine() throws {
        let dir = TemporaryDirectory()
        let l = ["--ledger", dir.ledger]
        #expect(try runTool("loyalty", ["init"] + l).status == 0)  // only init creates a ledger
        #expect(try runTool("loyalty", ["enroll", "M1", "--store", "S1", "--at", "2026-02-01T09:00:00Z"] + l).status == 0)
        #expect(try runTool("loyalty", ["purchase", "M1", "--id", "P1", "--amount", "42.50", "--store", "S1", "--at", "2026-02-10T10:00:00Z"] + l).status == 0)
        #expect(try runTool("loyalty", ["purchase", "M1", "--id", "P0", "--amount", "10.00", "--store", "S1", "--at", "2026-02-05T10:00:00Z"] + l).status == 0)
        let history = try runTool("loyalty", ["history", "M1", "--format", "json"] + l)
        #expect(history.status == 0 && history.out.split(separator: "\n").count == 5)
        #expect(history.out.contains(#""ruleVersion":1"#))
        let asOf = try runTool("loyalty", ["balance", "M1", "--as-of", "2026-02-06", "--format", "json"] + l)
        #expect(asOf.status == 0 && asOf.out.contains(#""available":10"#), "\(asOf.out)")
        let early = try runTool("loyalty", ["balance", "M1", "--known-at", "2026-01-01", "--format", "json"] + l)
        #expect(early.status == 0 && early.out.contains(#""available":0"#) && early.err.contains("no events in this view"))
        let both = try runTool("loyalty", ["balance", "M1", "--as-of", "2026-02-06", "--at", "2026-02-06"] + l)
        #expect(both.status != 0 && both.err.contains("--as-of and --at"))
        let badTime = try runTool("loyalty", ["history", "M1", "--from", "yesterday"] + l)
        #expect(badTime.status != 0 && badTime.err.contains("--from") && badTime.err.contains("'yesterday' is not an RFC 3339 time"))
        let explain = try runTool("loyalty", ["explain", "M1", "--at", "2026-03-01"] + l)
        #expect(explain.status == 0 && explain.out.contains("P:P1: 42 of 42 left, purchase P1"))
        let report = dir.path + "/reconcile.json"
        let reconcile = try runTool("loyalty", ["reconcile", "--report", report] + l)
        #expect(reconcile.status == 0 && reconcile.out.contains("OK: every member matches"), "\(reconcile.out)\(reconcile.err)")
        let json = try String(contentsOfFile: report, encoding: .utf8)
        #expect(json.contains(#""matched":true"#) && json.contains(#""headPosition":5"#))
        let unknown = try runTool("loyalty", ["history", "nobody"] + l)
        #expect(unknown.status != 0 && unknown.err.contains("unknown member 'nobody'"))
    }

    @Test(.timeLimit(.minutes(2)))
    func reconcilePurchasesExitsNonZeroNamingLinesAndKinds() throws {
        let dir = TemporaryDirectory()
        let l = ["--ledger", dir.ledger]
        #expect(try runTool("loyalty", ["init"] + l).status == 0)  // only init creates a ledger
        #expect(try runTool("loyalty", ["enroll", "M1", "--store", "S1", "--at", "2026-02-01T09:00:00Z"] + l).status == 0)
        #expect(try runTool("loyalty", ["purchase", "M1", "--id", "P1", "--amount", "42.50", "--store", "S1", "--at", "2026-02-10T10:00:00Z"] + l).status == 0)
        let csv = dir.path + "/till.csv"
        try """
        member_id,purchase_id,occurred_at,amount,currency,store_id
        M1,P1,2026-02-10T10:00:00Z,42.50,EUR,S1

        """.write(toFile: csv, atomically: true, encoding: .utf8)
        let good = try runTool("loyalty", ["reconcile", "purchases", "--source", csv, "--report", dir.path + "/a.json"] + l)
        #expect(good.status == 0 && good.out.contains("OK: all matched"), "\(good.out)\(good.err)")
        try """
        member_id,purchase_id,occurred_at,amount,currency,store_id
        M1,P1,2026-02-10T10:00:00Z,42.51,EUR,S1
        M1,P2,2026-02-30,1.00,EUR,S1

        """.write(toFile: csv, atomically: true, encoding: .utf8)
        let bad = try runTool("loyalty", ["reconcile", "purchases", "--source", csv, "--report", dir.path + "/b.json"] + l)
        #expect(bad.status == 1)
        #expect(bad.out.contains("field_mismatch: purchase P1 (line 2)") && bad.out.contains("bad_line: (line 3) field 'occurred_at'"), "\(bad.out)")
        let missing = try runTool("loyalty", ["reconcile", "purchases", "--source", dir.path + "/none.csv"] + l)
        #expect(missing.status != 0 && missing.err.contains("cannot open"))
    }
}

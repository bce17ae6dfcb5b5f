import Foundation
import LedgerTestSupport
import Testing

/// `loyalty tier set` through the real tool: audited in history and explain, honoured by
/// `tiers evaluate`, refused with a reason for bad input.
@Suite struct TierSetCLITests {
    static func run(_ ledger: String, _ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        try runTool("loyalty", arguments + ["--ledger", ledger])
    }

    @Test(.timeLimit(.minutes(2)))
    func aFloorIsAuditedAndHonouredByEvaluation() throws {
        let dir = TemporaryDirectory()
        let l = dir.ledger
        let rules = dir.path + "/tiers.json"
        try #"{"version":2,"tiers":{"measure":"spend","window":"rolling_days","windowDays":365,"downgradeGraceDays":30,"levels":[{"name":"silver","threshold":50000},{"name":"gold","threshold":100000}]}}"#
            .write(toFile: rules, atomically: true, encoding: .utf8)
        for args in [["init"], ["program", "publish", rules, "--at", "2026-01-01T00:00:00Z"],
                     ["enroll", "A", "--store", "S1", "--at", "2026-01-01T10:00:00Z"],
                     ["card", "issue", "A", "--number", "77", "--id", "C1", "--at", "2026-01-01T11:00:00Z"]] {
            let r = try Self.run(l, args)
            #expect(r.status == 0, "\(args): \(r)")
        }
        let set = try Self.run(l, ["tier", "set", "--card", "77", "--tier", "gold", "--reason", "status match", "--id", "T1", "--operator", "anna",
                                   "--floor", "--until", "2026-09-01", "--at", "2026-01-02T10:00:00Z"])
        #expect(set.status == 0 && set.out.contains("tier.set") && set.out.contains("floor true"), "\(set)")
        #expect(try Self.run(l, ["tier", "set", "A", "--tier", "gold", "--reason", "status match", "--id", "T1", "--operator", "anna",
                                 "--floor", "--until", "2026-09-01", "--at", "2026-01-02T10:00:00Z"]).out.contains("already done"))
        let conflict = try Self.run(l, ["tier", "set", "A", "--tier", "silver", "--reason", "x", "--id", "T1", "--at", "2026-01-02T10:00:00Z"])
        #expect(conflict.status == 1 && conflict.err.contains("'tier:T1' was already used for a different command"), "\(conflict)")
        let unknown = try Self.run(l, ["tier", "set", "A", "--tier", "platinum", "--reason", "x", "--id", "T2", "--at", "2026-01-02T10:00:00Z"])
        #expect(unknown.status == 1 && unknown.err.contains("is not a tier of the rules in force (silver, gold)"), "\(unknown)")
        let untilAlone = try Self.run(l, ["tier", "set", "A", "--tier", "gold", "--reason", "x", "--id", "T3", "--until", "2026-09-01", "--at", "2026-01-02T10:00:00Z"])
        #expect(untilAlone.status == 1 && untilAlone.err.contains("is the end of a floor"), "\(untilAlone)")
        let noReason = try Self.run(l, ["tier", "set", "A", "--tier", "gold", "--reason", "", "--id", "T4", "--at", "2026-01-02T10:00:00Z"])
        #expect(noReason.status == 1 && noReason.err.contains("reason"), "\(noReason)")
        // No spend: while the floor lasts, evaluation keeps gold.
        let during = try Self.run(l, ["tiers", "evaluate", "--as-of", "2026-08-01"])
        #expect(during.status == 0 && during.out.contains("nothing to do"), "\(during)")
        let history = try Self.run(l, ["history", "A"])
        #expect(history.out.contains("tier none -> gold set by anna: status match (a floor until 2026-09-01"), "\(history)")
        let explain = try Self.run(l, ["explain", "--card", "77"])
        #expect(explain.out.contains("tiers set by operators: gold by anna"), "\(explain)")
        let show = try Self.run(l, ["member", "show", "A", "--format", "json"])
        #expect(show.out.contains(#""tier":"gold""#), "\(show)")
        #expect(try Self.run(l, ["decisions", "check"]).status == 0)
        #expect(try Self.run(l, ["reconcile", "--report", dir.path + "/r.json"]).status == 0)
    }
}

import Foundation
import LedgerJSON
import LedgerTestSupport
import Testing

/// `loyalty targets set` and `loyalty report` through the real tool: the JSON field names, the
/// CSV, and edge inputs refused with a clear message and nothing written.
@Suite struct ReportsCLITests {
    static func run(_ ledger: String, _ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        try runTool("loyalty", arguments + ["--ledger", ledger])
    }

    static func eventCount(_ ledger: String) throws -> Int {
        try run(ledger, ["events"]).out.split(separator: "\n").count
    }

    @Test(.timeLimit(.minutes(1)))
    func targetsAndReportsThroughTheTool() throws {
        let dir = TemporaryDirectory()
        let l = dir.ledger
        for args in [["init", "--currency", "CNY", "--time-zone", "+08:00"],
                     ["enroll", "M1", "--store", "S1", "--brand", "b1", "--at", "2026-01-10T02:00:00Z"],
                     ["enroll", "M2", "--store", "S1", "--at", "2026-01-20T00:00:00Z"],
                     ["purchase", "M1", "--id", "P1", "--amount", "10.00", "--store", "S1", "--at", "2026-01-15T00:00:00Z"],
                     ["purchase", "M1", "--id", "P2", "--amount", "5.00", "--store", "S1", "--at", "2026-01-16T00:00:00Z"],
                     ["purchase", "M1", "--id", "P3", "--amount", "20.00", "--store", "S1", "--at", "2026-03-05T00:00:00Z"],
                     ["targets", "set", "--store", "S1", "--month", "2026-01", "--enrollments", "3", "--at", "2026-01-01"],
                     ["targets", "set", "--store", "S1", "--month", "2026-01", "--enrollments", "4", "--at", "2026-01-02"],
                     ["targets", "set", "--store", "S9", "--month", "9999-12", "--enrollments", "0", "--at", "2026-01-02"]] {
            let r = try Self.run(l, args)
            #expect(r.status == 0, "\(args): \(r)")
        }
        let kpis = try Self.run(l, ["report", "kpis", "--period", "month", "--by", "store", "--format", "json", "--as-of", "2026-03-31"])
        #expect(kpis.status == 0, "\(kpis)")
        let json = try JSONCanonical.parse(kpis.out)
        guard case .array(let rows)? = json["rows"] else { Issue.record("no rows: \(kpis.out)"); return }
        #expect(rows.count == 3, "January S1, March S1, the 9999-12 target of S9: \(kpis.out)")
        let jan = rows[0]
        #expect(jan["period"] == .string("2026-01") && jan["store"] == .string("S1") && jan["enrollments"] == .int(2))
        #expect(jan["enrollmentTarget"] == .int(4) && jan["targetReached"] == .string("0.5000") && jan["conversion"] == .string("0.5000"))
        #expect(jan["active"] == .int(1) && jan["repurchaseRate"] == .string("1.0000") && jan["averageSpend"] == .integer("1500"))
        #expect(rows[2]["period"] == .string("9999-12") && rows[2]["enrollmentTarget"] == .int(0) && rows[2]["targetReached"] == .null)

        let cohorts = try Self.run(l, ["report", "cohorts", "--format", "csv", "--as-of", "2026-03-31"])
        #expect(cohorts.status == 0 && cohorts.out == "cohort,size,m1,m2\n2026-01,2,0.0000,0.5000\n", "\(cohorts)")
        let cohortJSON = try Self.run(l, ["report", "cohorts", "--format", "json", "--as-of", "2026-03-31"])
        #expect(cohortJSON.out.contains(#""cohort":"2026-01""#) && cohortJSON.out.contains(#""retention":["0.0000","0.5000"]"#), "\(cohortJSON)")
        let warnings = try Self.run(l, ["report", "warnings", "--in", "2026-06", "--as-of", "2026-07-01", "--format", "json"])
        #expect(warnings.status == 0 && warnings.out.contains(#""member":"M1""#) && warnings.out.contains(#""to":"defecting""#), "\(warnings)")
        let table = try Self.run(l, ["report", "kpis", "--as-of", "2026-03-31", "--period", "week"])
        #expect(table.status == 0 && table.out.hasPrefix("period") && table.out.contains("2026-W03"), "\(table)")
        let segments = try Self.run(l, ["report", "segments", "--as-of", "2026-03-31", "--format", "json"])
        #expect(segments.status == 0 && segments.out.contains(#"{"counts":[{"members":2,"value":"S1"}],"dimension":"store"}"#), "\(segments)")
        let list = try Self.run(l, ["report", "segments", "--as-of", "2026-01-21", "--list", "newWithoutSecondPurchase", "--format", "csv"])
        #expect(list.status == 0 && list.out == "member\n", "M1 has two purchases by then: \(list)")
        let categories = try Self.run(l, ["report", "categories", "--as-of", "2026-03-31", "--format", "csv"])
        #expect(categories.status == 0 && categories.out.hasPrefix("period,store,category,purchases,spend,points\n2026-01,S1,(none),2,1500,"), "\(categories)")
        let farFuture = try Self.run(l, ["report", "kpis", "--as-of", "9999-12-31T23:59:59Z", "--by", "brand"])
        #expect(farFuture.status == 0, "\(farFuture)")
    }

    @Test(.timeLimit(.minutes(1)))
    func badTargetsAndReportOptionsAreRefusedNamingWhatAndWritingNothing() throws {
        let dir = TemporaryDirectory()
        let l = dir.ledger
        #expect(try Self.run(l, ["init"]).status == 0)
        let before = try Self.eventCount(l)
        let long = String(repeating: "S", count: 129)
        let cases: [([String], Int32, String)] = [
            (["targets", "set", "--store", "S1", "--month", "2026-13", "--enrollments", "1"], 64, "2026-13"),
            (["targets", "set", "--store", "S1", "--month", "2026-W05", "--enrollments", "1"], 64, "--month"),
            (["targets", "set", "--store", "S1", "--week", "2026-W54", "--enrollments", "1"], 64, "2026-W54"),
            (["targets", "set", "--store", "S1", "--enrollments", "1"], 64, "--month, --week, --day"),
            (["targets", "set", "--store", "S1", "--month", "2026-11", "--day", "2026-11-01", "--enrollments", "1"], 64, "exactly one"),
            (["targets", "set", "--store", "S1", "--month", "2026-11", "--enrollments=-1"], 1, "value"),
            (["targets", "set", "--store", "S1", "--month", "2026-11", "--enrollments", "9223372036854775807"], 1, "value"),
            (["targets", "set", "--store", "S1", "--month", "2026-11", "--enrollments", "99999999999999999999"], 64, "enrollments"),
            (["targets", "set", "--store", "店铺", "--month", "2026-11", "--enrollments", "1"], 1, "store"),
            (["targets", "set", "--store", long, "--month", "2026-11", "--enrollments", "1"], 1, "store"),
            (["targets", "set", "--store", "S1", "--month", "0000-01", "--enrollments", "1"], 64, "0000-01"),
            (["report", "kpis", "--period", "year"], 64, "year"),
            (["report", "kpis", "--from", "2026-13"], 64, "--from"),
            (["report", "kpis", "--within-days", "-1"], 64, "--within-days"),
            (["report", "kpis", "--as-of", "tomorrow"], 64, "tomorrow"),
            (["report", "warnings", "--in", "2026-W60"], 64, "--in"),
            (["report", "warnings", "--defecting-days", "400"], 64, "--inactive-days"),
            (["report", "cohorts", "--format", "jsonl"], 64, "--format"),
            (["report", "segments", "--list", "everyone"], 64, "--list"),
            (["report", "segments", "--age-bands", "30,20"], 64, "ascending"),
            (["report", "segments", "--spend-bands", "1,x"], 64, "--spend-bands"),
        ]
        for (args, status, mention) in cases {
            let r = try Self.run(l, args)
            #expect(r.status == status && r.err.contains(mention), "\(args): \(r)")
        }
        #expect(try Self.eventCount(l) == before, "nothing written")
        // An empty ledger answers empty reports.
        let empty = try Self.run(l, ["report", "kpis", "--format", "json"])
        #expect(empty.status == 0 && empty.out.contains(#""rows":[]"#), "\(empty)")
    }
}

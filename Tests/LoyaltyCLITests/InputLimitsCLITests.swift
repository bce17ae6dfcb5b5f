import Foundation
import Testing

/// Input that once broke a ledger for good (issue 13), through the real `loyalty` binary: each is
/// refused with a one-line reason naming the field, exit 1 (not a signal), nothing written; or,
/// where it is valid input (a purchase in year 9999), accepted with its derived times clamped.
/// Either way the ledger keeps working: enrollments, balances, figures and reconcile.
@Suite(.timeLimit(.minutes(5))) struct InputLimitsCLITests {
    /// A fresh ledger with member A enrolled at store S1 (1 event).
    private struct Fixture: ~Copyable {
        let dir = TemporaryDirectory()
        var l: [String] { ["--ledger", dir.ledger] }

        init() throws {
            #expect(try runTool("loyalty", ["init", "--ledger", dir.ledger]).status == 0)
            let enrolled = try runTool("loyalty", ["enroll", "A", "--store", "S1", "--at", "2026-01-05T09:00:00Z", "--ledger", dir.ledger])
            #expect(enrolled.status == 0, "\(enrolled.err)")
        }

        /// Events other than the import's remembered refusals (`command.refused`, which no fold reads).
        func events() throws -> Int {
            let out = try runTool("loyalty", ["events"] + l)
            #expect(out.status == 0, "\(out.err)")
            return out.out.split(separator: "\n").filter { !$0.contains(#""type":"command.refused""#) }.count
        }

        /// Runs `arguments`; expects exit 1, a reason on standard error containing `reason`, and
        /// nothing written.
        func refused(_ arguments: [String], input: String = "", _ reason: String,
                     sourceLocation: SourceLocation = #_sourceLocation) throws {
            let before = try events()
            let r = try runTool("loyalty", arguments + l, input: input)
            #expect(r.status == 1, "exit \(r.status): \(r.err)", sourceLocation: sourceLocation)
            #expect(r.err.contains(reason), "\(r.err)", sourceLocation: sourceLocation)
            #expect(try events() == before, "something was written", sourceLocation: sourceLocation)
        }

        /// The ledger still takes writes and answers reads.
        func stillWorks(sourceLocation: SourceLocation = #_sourceLocation) throws {
            for arguments in [["enroll", "B", "--store", "S1", "--at", "2026-01-06T09:00:00Z"],
                              ["purchase", "B", "--id", "PB", "--amount", "5.00", "--store", "S1", "--at", "2026-01-06T10:00:00Z"],
                              ["balance", "A"], ["balance", "B"], ["figures"], ["verify"],
                              ["reconcile", "balances", "--report", dir.path + "/reconcile.json"]] {
                let r = try runTool("loyalty", arguments + l)
                #expect(r.status == 0, "\(arguments.joined(separator: " ")): exit \(r.status): \(r.err)", sourceLocation: sourceLocation)
            }
        }
    }

    @Test func case1PurchaseInYear9999IsAcceptedWithItsExpiryClamped() throws {
        let f = try Fixture()
        let bought = try runTool("loyalty", ["purchase", "A", "--id", "P9", "--amount", "10.00", "--store", "S1", "--at", "9999-06-01", "--allow-future"] + f.l)
        #expect(bought.status == 0, "\(bought.err)")
        let events = try runTool("loyalty", ["events"] + f.l)
        #expect(events.out.contains(#""expiresAt":"9999-12-31T23:59:59.999999Z""#), "\(events.out)")
        // An offset that carries the time past year 9999 is refused, naming the field.
        try f.refused(["purchase", "A", "--id", "P10", "--amount", "1.00", "--store", "S1", "--at", "9999-12-31T23:00:00-05:00", "--allow-future"],
                      "field 'occurredAt'")
        try f.refused(["purchase", "A", "--id", "P11", "--amount", "1.00", "--store", "S1", "--at", "1899-12-31"], "field 'occurredAt'")
        try f.stillWorks()
    }

    @Test func case1ThroughCSVImport() throws {
        let f = try Fixture()
        let csv = f.dir.path + "/purchases.csv"
        try "member_id,purchase_id,occurred_at,amount,currency,store_id\nA,T1,9999-06-01,10.00,EUR,S1\n"
            .write(toFile: csv, atomically: true, encoding: .utf8)
        let imported = try runTool("loyalty", ["import", csv, "--allow-future"] + f.l)
        #expect(imported.status == 0, "\(imported.err)")
        try f.stillWorks()
    }

    @Test func case2AdjustmentsBeyondTheLimitAreRefused() throws {
        let f = try Fixture()
        for points in ["9223372036854775807", "-9223372036854775808", "1000000000001", "-1000000000001"] {
            try f.refused(["adjust", "A", "--points", points, "--reason", "test", "--id", "K" + points], "field 'points': '\(points)'")
        }
        let jsonl = #"{"command":"adjust","member":"A","points":-9223372036854775808,"reason":"x","key":"K1"}"# + "\n"
        let file = f.dir.path + "/commands.jsonl"
        try jsonl.write(toFile: file, atomically: true, encoding: .utf8)
        try f.refused(["import", file], "field 'points'")
        try f.stillWorks()
    }

    @Test func case3AmountsBeyondTheLimitOrMalformedAreRefused() throws {
        let f = try Fixture()
        for amount in ["92233720368547758.07", "10000000000000.01", "-0", "+1", "1e5", " 1", "1 "] {
            try f.refused(["purchase", "A", "--id", "P1", "--amount=" + amount, "--store", "S1"], "field 'amount'")
        }
        try f.stillWorks()
    }

    @Test func case4RawAppendRefusesDomainEventTypes() throws {
        let f = try Fixture()
        let lines = [
            #"{"type":"points.earned","member":"A","occurredAt":"2026-02-01T00:00:00Z","data":{"points":"lots"}}"#,
            #"{"type":"points.redeemed","member":"A","occurredAt":"2026-02-01T00:00:00Z","data":{"points":5,"redemptionId":"R","allocations":[{"lotId":"nope","points":5}]}}"#,
            #"{"type":"tier.changed","member":"A","occurredAt":"2026-02-01T00:00:00Z","data":{}}"#,
            #"{"type":"program.published","member":"$program","occurredAt":"2026-02-01T00:00:00Z","data":{}}"#,
        ]
        for line in lines {
            let type = line.split(separator: "\"")[3]
            try f.refused(["append"], input: line + "\n", "line 1: type '\(type)' is a domain event")
        }
        // After a good line, in the same batch: nothing of the batch is written.
        try f.refused(["append"], input: #"{"type":"note.added","member":"A","occurredAt":"2026-02-01T00:00:00Z","data":{}}"# + "\n" + lines[0] + "\n",
                      "use `loyalty import`")
        let free = try runTool("loyalty", ["append"] + f.l, input: #"{"type":"note.added","member":"A","occurredAt":"2026-02-01T00:00:00Z","data":{"text":"hello"}}"# + "\n")
        #expect(free.status == 0, "\(free.err)")
        let generated = try runTool("loyalty", ["generate", "--count", "200", "--members", "20"])
        let appended = try runTool("loyalty", ["append"] + f.l, input: generated.out)
        #expect(appended.status == 0 && appended.out.contains("appended 200 events"), "\(appended.err)")
        try f.stillWorks()
    }

    @Test func case5RulesOutOfRangeAreRefusedByField() throws {
        let f = try Fixture()
        let cases: [(String, String)] = [
            (#"{"version":2,"expiry":{"policy":"months_after_availability","months":1000000000000000}}"#, "expiry.months"),
            (#"{"version":2,"expiry":{"policy":"months_after_availability","months":-1}}"#, "expiry.months"),
            (#"{"version":2,"pendingDays":9223372036854775807}"#, "pendingDays"),
            (#"{"version":9223372036854775807}"#, "version"),
            (#"{"version":1001}"#, "version"),
            (#"{"version":2,"campaigns":[{"id":"c","from":"2026-03-01","to":"2026-02-01"}]}"#, "campaigns[0].to"),
            (#"{"version":2,"tiers":{"levels":[{"name":"silver","threshold":-1}]}}"#, "tiers.levels[0].threshold"),
            (#"{"version":2,"currency":""}"#, "currency"),
        ]
        for (i, (json, field)) in cases.enumerated() {
            let file = f.dir.path + "/rules\(i).json"
            try json.write(toFile: file, atomically: true, encoding: .utf8)
            try f.refused(["program", "publish", file], "field '\(field)'")
        }
        let good = f.dir.path + "/good.json"
        try #"{"version":2,"pendingDays":0}"#.write(toFile: good, atomically: true, encoding: .utf8)
        #expect(try runTool("loyalty", ["program", "publish", good] + f.l).status == 0)
        try f.stillWorks()
    }

    @Test func case6IdsAndTextsAreBounded() throws {
        let f = try Fixture()
        try f.refused(["enroll", "C", "--store", String(repeating: "S", count: 500)], "field 'store'")
        try f.refused(["enroll", "C", "--store", ""], "field 'store'")
        try f.refused(["enroll", "C", "--store", "S\u{1}1"], "field 'store'")
        try f.refused(["enroll", "C", "--store", "S1", "--gender", "f\u{7}"], "field 'gender'")
        try f.refused(["purchase", "A", "--id", String(repeating: "P", count: 129), "--amount", "1.00", "--store", "S1"], "field 'purchaseId'")
        try f.refused(["adjust", "A", "--points", "1", "--reason", String(repeating: "r", count: 1025), "--id", "K"], "field 'reason'")
        try f.stillWorks()
    }
}

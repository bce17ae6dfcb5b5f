import Foundation
import LedgerJSON
import LedgerStore
import LedgerTestSupport
import Testing
@testable import Projections

/// The read commands through the real `loyalty` tool: events the folds cannot apply, long ids,
/// as-of views and the figures against the independent fold of `reconcile`.
@Suite struct ReadCommandsCLITests {
    static func run(_ ledger: String, _ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        try runTool("loyalty", arguments + ["--ledger", ledger])
    }

    static func json(_ text: String) throws -> JSONValue {
        try JSONCanonical.parse(text)
    }

    /// Case 3: sums past 64 bits in stored events. No command traps; what depends on the
    /// stopped projections names the position; the other members still answer.
    @Test(.timeLimit(.minutes(2)))
    func overflowingSumsAreErrorsNamingThePositionNeverTraps() async throws {
        let dir = TemporaryDirectory()
        do {
            let log = try StoredEventDrafts.open(dir)
            defer { log.close() }
            _ = try await log.append([StoredEventDrafts.enrolled("A"), StoredEventDrafts.enrolled("B"),
                                      StoredEventDrafts.purchased("A", id: "p1", amount: Int64.max),
                                      StoredEventDrafts.purchased("A", id: "p2", amount: 100), StoredEventDrafts.purchased("B", id: "p3", amount: 100),
                                      StoredEventDrafts.earned("A", lot: "P:x", points: Int64.max), StoredEventDrafts.earned("A", lot: "P:y", points: 1),
                                      StoredEventDrafts.earned("B", lot: "P:z", points: 3)])
        }
        let figures = try Self.run(dir.ledger, ["figures"])
        #expect(figures.status == 1 && figures.err.contains("position 4 (purchase.recorded, member A): "), "\(figures)")
        let a = try Self.run(dir.ledger, ["balance", "A"])
        #expect(a.status == 1 && a.err.contains("position 7 (points.earned, member A): earned"), "\(a)")
        let b = try Self.run(dir.ledger, ["balance", "B", "--format", "json"])
        #expect(b.status == 0, "\(b)")
        let showA = try Self.run(dir.ledger, ["member", "show", "A"])
        #expect(showA.status == 1 && showA.err.contains("position 4"), "\(showA)")
        #expect(try Self.run(dir.ledger, ["member", "show", "B"]).status == 0)
        let export = try Self.run(dir.ledger, ["members", "export"])
        #expect(export.status == 1 && export.err.contains("position 4"), "\(export)")
        let status = try Self.run(dir.ledger, ["projections", "status"])
        #expect(status.status == 0 && status.out.contains("stopped before position 4 (purchase.recorded, member A)")
                && status.out.contains("stopped before position 7 (points.earned, member A)"), "\(status)")
        let reconcile = try Self.run(dir.ledger, ["reconcile", "--report", dir.path + "/r.json"])
        #expect(reconcile.status == 1 && reconcile.out.contains("position 7 (points.earned, member A)"), "\(reconcile)")
        for r in [figures, a, b, showA, export, status, reconcile] { #expect(r.status != 132 && !r.err.contains("Fatal error")) }
    }

    /// Case 6: ids too long to be a key component never reach LMDB as they are.
    @Test(.timeLimit(.minutes(2)))
    func longStoreAndMemberIdsKeepEveryReadModelWorking() async throws {
        let dir = TemporaryDirectory()
        let store = String(repeating: "S", count: 600), member = String(repeating: "M", count: 250)
        do {
            let log = try StoredEventDrafts.open(dir)
            defer { log.close() }
            _ = try await log.append([StoredEventDrafts.enrolled(member, store: store), StoredEventDrafts.enrolled("B", store: store),
                                      StoredEventDrafts.purchased(member, id: "p1", amount: 1_000, store: store),
                                      StoredEventDrafts.earned(member, lot: "P:p1", points: 10)])
        }
        let figures = try Self.run(dir.ledger, ["figures", "--by", "store", "--format", "csv", "--store", store])
        #expect(figures.status == 0 && figures.out.contains("\n" + store + ",2,1,1000,"), "\(figures)")
        let balance = try Self.run(dir.ledger, ["balance", member, "--format", "json"])
        #expect(balance.status == 0 && balance.out.contains(#""available":10"#), "\(balance)")
        let show = try Self.run(dir.ledger, ["member", "show", member, "--format", "json"])
        #expect(show.status == 0 && show.out.contains(store), "\(show)")
        #expect(try Self.run(dir.ledger, ["members", "export"]).status == 0)
        #expect(try Self.run(dir.ledger, ["projections", "check"]).status == 0)
    }

    /// Case 12: `member show --at T` and `members export --at T` leave out members enrolled and
    /// purchases made after T.
    @Test(.timeLimit(.minutes(2)))
    func memberViewsAtATimeHoldOnlyWhatOccurredByThen() throws {
        let dir = TemporaryDirectory()
        let l = dir.ledger
        for args in [["init"], ["enroll", "A", "--store", "S1", "--at", "2026-01-01T10:00:00Z"],
                     ["purchase", "A", "--id", "p1", "--amount", "10.00", "--store", "S1", "--at", "2026-01-10T10:00:00Z"],
                     ["enroll", "B", "--store", "S2", "--at", "2026-03-01T10:00:00Z"],
                     ["purchase", "A", "--id", "p2", "--amount", "20.00", "--store", "S1", "--at", "2026-03-05T10:00:00Z"]] {
            let r = try Self.run(l, args)
            #expect(r.status == 0, "\(args): \(r.err)")
        }
        let t = "2026-02-01T00:00:00Z"
        let show = try Self.json(try Self.run(l, ["member", "show", "A", "--at", t, "--format", "json"]).out)
        #expect(show["purchaseCount"] == .int(1) && show["totalSpend"] == .int(1_000), "\(show)")
        #expect(show["lastPurchaseAt"] == .string("2026-01-10T10:00:00Z"))
        #expect(show["earned"] == .int(10), "only the first purchase's points")
        let b = try Self.run(l, ["member", "show", "B", "--at", t])
        #expect(b.status == 1 && b.err.contains("unknown member 'B' at"), "\(b)")
        let export = try Self.run(l, ["members", "export", "--at", t, "--format", "jsonl"])
        let lines = export.out.split(separator: "\n")
        #expect(export.status == 0 && lines.count == 1 && lines.first?.contains(#""member":"A""#) == true, "\(export)")
        // Now: both members, both purchases.
        let now = try Self.run(l, ["members", "export", "--format", "jsonl"]).out.split(separator: "\n")
        #expect(now.count == 2 && now.contains { $0.contains(#""purchaseCount":2"#) })
    }

    /// Case 13: the figures' pending and expired equal what `reconcile` reports at the same time,
    /// on a generated ledger with expiry and tier runs; pending is what is pending, not issued.
    @Test(.timeLimit(.minutes(5)))
    func figuresAgreeWithTheIndependentFold() throws {
        let dir = TemporaryDirectory()
        let l = dir.ledger
        try makeLedger(l, commands: 5_000, members: 200, start: "2025-01-06")
        #expect(try Self.run(l, ["tiers", "evaluate", "--as-of", "2025-06-30T00:00:00Z"]).status == 0)
        // Before any expiry run: points pending early on; lots lapsed (no expiry event) later.
        let early = try compare(l, dir.path, at: "2025-01-13T00:00:00Z")
        #expect(early.pending != .int(0) && early.pending != early.issued, "pending is what is pending, not what was issued")
        let lapsed = try compare(l, dir.path, at: "2026-09-30T00:00:00Z")
        #expect(lapsed.expired != .int(0), "lapsed lots count as expired before their expiry event")
        // Expiry events written for part of the lots (the generated year's lots expire month by
        // month through 2026, the first ones at the end of January): written and lapsed expiries
        // add up as reconcile's.
        #expect(try Self.run(l, ["expire", "--as-of", "2026-02-01T00:00:00Z"]).status == 0)
        for t in ["2025-01-13T00:00:00Z", "2026-02-15T00:00:00Z", "2026-09-30T00:00:00Z"] {
            let after = try compare(l, dir.path, at: t)
            if t.hasPrefix("2026-09") { #expect(after.expired == lapsed.expired, "the same points expired, written or not") }
        }
    }

    /// `figures --at t` against `reconcile --at t`: pending, expired and issued totals, the
    /// outstanding pending, and the day rows adding up to the total. Returns the figures' totals.
    func compare(_ l: String, _ dir: String, at t: String) throws -> (pending: JSONValue?, expired: JSONValue?, issued: JSONValue?) {
        let out = try Self.run(l, ["figures", "--by", "day", "--format", "json", "--at", t])
        #expect(out.status == 0, "\(out.err)")
        let figures = try Self.json(out.out)
        let report = dir + "/reconcile.json"
        let r = try Self.run(l, ["reconcile", "--at", t, "--report", report])
        #expect(r.status == 0, "reconcile at \(t): \(r.out)")
        let totals = try Self.json(String(decoding: try Data(contentsOf: URL(fileURLWithPath: report)), as: UTF8.self))["totals"]
        let total = figures["total"]
        #expect(total?["pointsPending"] == totals?["pending"], "pending at \(t)")
        #expect(total?["pointsExpired"] == totals?["expired"], "expired at \(t)")
        #expect(total?["pointsIssued"] == totals?["earned"], "issued at \(t)")
        #expect(figures["outstanding"]?["pending"] == totals?["pending"])
        for field in ["pointsExpired", "pointsPending"] {
            guard case .array(let rows)? = figures["rows"], case .integer(let sum)? = total?[field] else {
                Issue.record("no rows or total")
                continue
            }
            let days = rows.compactMap { row -> Int64? in
                if case .integer(let v)? = row["figures"]?[field] { return Int64(v) }
                return nil
            }.reduce(0, +)
            #expect(String(days) == sum, "the days' \(field) add up to the total at \(t)")
        }
        return (total?["pointsPending"], total?["pointsExpired"], total?["pointsIssued"])
    }
}

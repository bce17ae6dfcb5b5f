import Foundation
import LedgerJSON
import LedgerStore
import LoyaltyAudit
import LoyaltyDomain
import Testing

/// A balance source that serves the model's figures with one value changed: a tampered
/// projection.
struct TamperedSource: BalanceSource {
    let base: ModelSource
    let member: String
    let change: @Sendable (inout MemberFigures) -> Void
    var extraMember: String? = nil

    func position() throws -> UInt64 { try base.position() }
    func allMembers() throws -> [String] { try base.allMembers() + (extraMember.map { [$0] } ?? []) }
    func figures(member m: String, at: Timestamp) throws -> MemberFigures? {
        if m == extraMember { return MemberFigures() }
        guard var f = try base.figures(member: m, at: at) else { return nil }
        if m == member { change(&f) }
        return f
    }
}

/// A source with fixed figures, for logs the domain model cannot open (raw, impossible events).
struct FixedSource: BalanceSource {
    let through: UInt64
    let members: [String: MemberFigures]
    func position() throws -> UInt64 { through }
    func allMembers() throws -> [String] { Array(members.keys) }
    func figures(member: String, at: Timestamp) throws -> MemberFigures? { members[member] }
}

@Suite struct ReconcileTests {
    static let evaluation = t("2026-03-15T00:00:00Z")

    /// Every kind of points movement: accruals, a partial return that runs into debt, a
    /// redemption and its reversal, adjustments both ways, a transfer, a hold, an expiry.
    func busyLedger() async throws -> TestLedger {
        let l = try TestLedger()
        try await l.publish(#"{"version": 1, "currency": "EUR", "pendingDays": 3, "expiry": {"policy": "months_after_availability", "months": 1, "roundTo": "end_of_day"}}"#, at: "2026-01-01T00:00:00Z")
        for m in ["A", "B", "C"] { try await l.enroll(m, store: m == "C" ? "S2" : "S1") }
        try await l.buy("A", "P1", "100.00", at: "2026-02-01T10:00:00Z")
        try await l.buy("A", "P2", "60.00", at: "2026-02-02T10:00:00Z")
        try await l.buy("B", "P3", "80.00", at: "2026-02-01T10:00:00Z")
        try await l.buy("C", "P4", "20.00", at: "2026-05-30T10:00:00Z")
        try await l.run(.redeem(member: "A", points: 120, redemptionId: "R1", reward: nil, at: t("2026-02-10T10:00:00Z")))
        try await l.run(.returnPurchase(purchaseId: "P2", returnId: "RT1", amount: "60.00", at: t("2026-02-11T10:00:00Z")))
        try await l.run(.reverseRedemption(redemptionId: "R1", at: t("2026-02-12T10:00:00Z")))
        try await l.run(.redeem(member: "A", points: 50, redemptionId: "R2", reward: nil, at: t("2026-02-13T10:00:00Z")))
        try await l.run(.adjust(member: "B", points: -5, reason: "correction", operatorId: "ops", key: "K1", at: t("2026-02-14T10:00:00Z")))
        try await l.run(.adjust(member: "C", points: 7, reason: "goodwill", operatorId: "ops", key: "K2", at: t("2026-02-14T10:00:00Z")))
        try await l.run(.transfer(from: "B", to: "C", points: 30, key: "X1", at: t("2026-02-15T10:00:00Z")))
        try await l.buy("C", "P5", "10.00", at: "2026-02-20T10:00:00Z", store: "S2")
        try await l.run(.hold(member: "C", points: 5, holdId: "H1", expiresAt: t("2026-12-01T00:00:00Z"), at: t("2026-02-21T10:00:00Z")))
        try await l.run(.returnPurchase(purchaseId: "P1", returnId: "RT2", amount: "100.00", at: t("2026-02-17T10:00:00Z")))
        // A's debt of 50 is paid first by a later accrual (30) and a credit adjustment (5).
        try await l.buy("A", "P6", "30.00", at: "2026-02-18T10:00:00Z")
        try await l.run(.adjust(member: "A", points: 5, reason: "goodwill", operatorId: "ops", key: "K3", at: t("2026-02-19T10:00:00Z")))
        try await l.run(.expire(asOf: t("2026-03-10T00:00:00Z")))
        return l
    }

    @Test(.timeLimit(.minutes(1)))
    func aConsistentLogMatchesEveryMemberAndEveryIdentityHolds() async throws {
        let l = try await busyLedger()
        defer { l.done() }
        for partitions in [1, 2, 3] {
            let r = try Reconciler(evaluatedAt: Self.evaluation, partitions: partitions, batchEvents: 7)
                .run(log: l.log, source: ModelSource(ledger: l))
            #expect(r.matched, "\(r.summary())")
            #expect(r.membersChecked == 3)
            #expect(r.headPosition == (try l.log.headPosition()))
            #expect(r.headHash == (try l.log.head().hash.hex))
            #expect(r.totals.credits == r.totals.holdings)
            // The figures are not trivially zero: debt, written and unwritten expiry, a hold and
            // pending points all occur (C: P5 10 available less a hold of 5, P4 20 pending; K2 lapsed).
            #expect(r.totals.debt == 15 && r.totals.expired == 45 + 30 + 7 && r.totals.held == 5 && r.totals.pending == 20)
            #expect(r.liabilityByStore["S2"] == 30 && r.liabilityByStore["S1"] == -15 && r.liabilityByBrand["main"] == r.totals.holdings)
        }
    }

    /// History keeps its running figures incrementally; debug builds assert every row against a
    /// full pass over the lots. Here: pending lots turning available, expiry (written and not),
    /// debt and its payment, a reversal restoring lots, transfers and a hold.
    @Test(.timeLimit(.minutes(1)))
    func historyRunningFiguresEndAtTheBalanceOfTheLastBusinessTime() async throws {
        let l = try await busyLedger()
        defer { l.done() }
        for m in ["A", "B", "C"] {
            let rows = try History.rows(member: m, log: l.log)
            let last = try #require(rows.last)
            let b = try #require(l.balance(m, at: last.evaluatedAt))
            #expect([last.available, last.pending, last.held, last.debt] == [b.available, b.pending, b.held, b.debt], "member \(m)")
            #expect(rows.map(\.evaluatedAt) == rows.map(\.evaluatedAt).sorted())
        }
        let a = try History.rows(member: "A", log: l.log)
        #expect(a.contains { $0.type == "redemption.reversed" && $0.available > 0 })
        #expect(a.map(\.debt).max() == 50)
    }

    @Test(.timeLimit(.minutes(1)))
    func aTamperedProjectionValueIsCaughtAndTheMemberNamed() async throws {
        let l = try await busyLedger()
        defer { l.done() }
        let base = ModelSource(ledger: l)
        let tampered = TamperedSource(base: base, member: "B", change: { $0.available += 1 })
        let r = try Reconciler(evaluatedAt: Self.evaluation).run(log: l.log, source: tampered)
        #expect(!r.matched)
        let truth = try #require(try base.figures(member: "B", at: Self.evaluation))
        #expect(r.mismatches.map { "\($0.member).\($0.field) \($0.expected ?? -1) \($0.found ?? -1)" } == ["B.available \(truth.available) \(truth.available + 1)"])
        #expect(r.identityFailures.map(\.member).sorted() == ["*", "B"])
        #expect(r.identityFailures.allSatisfy { $0.side == "source" })
        #expect(r.membersInError == ["B"])
        #expect(r.summary().last?.contains("members: B") == true)
        let json = String(decoding: JSONCanonical.encode(r.json), as: UTF8.self)
        #expect(json.contains(#""matched":false"#) && json.contains(#""field":"available""#))
    }

    @Test(.timeLimit(.minutes(1)))
    func aConsistentlyTamperedLifetimeFigureAndAnUnknownMemberAreCaughtToo() async throws {
        let l = try await busyLedger()
        defer { l.done() }
        // Identity still holds in the source (earned and available both +5): only the comparison catches it.
        var tampered = TamperedSource(base: ModelSource(ledger: l), member: "C", change: { $0.earned += 5; $0.available += 5 })
        tampered.extraMember = "GHOST"
        let r = try Reconciler(evaluatedAt: Self.evaluation).run(log: l.log, source: tampered)
        #expect(r.identityFailures.isEmpty)
        #expect(Set(r.mismatches.map { "\($0.member).\($0.field)" }) == ["C.available", "C.earned", "GHOST.member"])
        #expect(r.membersInError == ["C", "GHOST"])
    }

    @Test(.timeLimit(.minutes(1)))
    func impossibleEventsInTheLogAreFaultsNotCrashes() async throws {
        let dir = NSTemporaryDirectory() + "audit-raw-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var options = EventLogOptions()
        options.create = true
        let log = try EventLog.open(path: dir, options: options)
        defer { log.close() }
        let redeem = #"{"allocations":[{"lotId":"P:nowhere","points":5}],"member":"Z","points":5,"redemptionId":"R1"}"#
        _ = try await log.append([
            EventDraft(type: "points.redeemed", member: "Z", occurredAt: 1, data: Array(redeem.utf8)),
            EventDraft(type: "points.earned", member: "Z", occurredAt: 2, data: Array(#"{"member":"Z"}"#.utf8)),
            EventDraft(type: "custom.note", member: "Z", occurredAt: 3, data: Array(#"{"anything":1}"#.utf8)),
        ])
        // An event the fold cannot apply changes nothing (as the balances projection stops before it).
        let r = try Reconciler(evaluatedAt: Self.evaluation).run(log: log, source: FixedSource(through: 3, members: ["Z": MemberFigures()]))
        #expect(!r.matched)
        #expect(r.faults.count == 2)
        #expect(r.faults.contains { $0.contains("position 1 (points.redeemed, member Z): takes 5 from unknown lot P:nowhere") }, "\(r.faults)")
        #expect(r.faults.contains { $0.contains("position 2 (points.earned, member Z): does not decode") }, "\(r.faults)")
        #expect(r.mismatches.isEmpty)
        #expect(r.eventsFolded == 1)
    }

    @Test(.timeLimit(.minutes(1)))
    func sumsPastSixtyFourBitsAreFaultsNamingThePosition() async throws {
        let dir = NSTemporaryDirectory() + "audit-overflow-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var options = EventLogOptions()
        options.create = true
        let log = try EventLog.open(path: dir, options: options)
        defer { log.close() }
        func earned(_ lot: String, _ points: Int64) -> EventDraft {
            EventDraft(type: "points.earned", member: "Z", occurredAt: 1, data: Array(
                #"{"availableAt":"2026-01-01T00:00:00Z","lotId":"\#(lot)","member":"Z","points":\#(points),"rule":"base","ruleVersion":1,"source":{"id":"\#(lot)","kind":"purchase"}}"#.utf8))
        }
        let transferIn = #"{"allocations":[{"lotId":"L","points":9223372036854775807}],"from":"Y","points":9223372036854775807,"to":"Z","transferId":"T1"}"#
        _ = try await log.append([earned("A", Int64.max), earned("B", 1),
                                  EventDraft(type: "points.transferred_in", member: "Z", occurredAt: 1, data: Array(transferIn.utf8))])
        var z = MemberFigures()
        (z.earned, z.available) = (Int64.max, Int64.max)
        let r = try Reconciler(evaluatedAt: Self.evaluation).run(log: log, source: FixedSource(through: 3, members: ["Z": z]))
        #expect(r.faults.contains { $0.contains("position 2 (points.earned, member Z): earned: 9223372036854775807 + 1 does not fit in 64 bits") },
                "\(r.faults)")
        // Two lots of 2^63 - 1 each: the member's available points do not fit; named, never a trap.
        #expect(r.faults.contains { $0.contains("member Z: available of 18446744073709551614 points does not fit in 64 bits") }, "\(r.faults)")
        #expect(!r.matched)
    }
}

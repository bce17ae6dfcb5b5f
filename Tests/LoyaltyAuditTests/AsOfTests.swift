import Foundation
import LedgerStore
import LoyaltyAudit
import LoyaltyDomain
import Testing

/// As-of and known-at views over histories with late-arriving purchases (occurredAt earlier than
/// events already recorded), built through `Ledger.execute` with explicit business times.
@Suite struct AsOfTests {
    func view(_ l: TestLedger, _ m: String, asOf: String? = nil, knownAt: Timestamp? = nil) throws -> AsOfView {
        try AsOfView.load(member: m, log: l.log, filter: ViewFilter(asOf: asOf.map(t), knownAt: knownAt))
    }

    func available(_ l: TestLedger, _ m: String, asOf: String, knownAt: Timestamp? = nil) throws -> Points? {
        try view(l, m, asOf: asOf, knownAt: knownAt).balance(at: t(asOf))?.available
    }

    @Test(.timeLimit(.minutes(1)))
    func lateArrivingPurchaseCountsAsOfItsBusinessTimeNowButNotAsKnownBeforeItWasRecorded() async throws {
        let l = try TestLedger()
        defer { l.done() }
        try await l.enroll("M1")
        try await l.buy("M1", "P1", "100.00", at: "2026-02-01T10:00:00Z")
        try await l.buy("M1", "P2", "50.00", at: "2026-02-10T10:00:00Z")
        try await l.run(.redeem(member: "M1", points: 120, redemptionId: "R1", reward: nil, at: t("2026-02-12T10:00:00Z")))
        let beforeLate = try l.recordedNow()
        try await Task.sleep(for: .milliseconds(5))
        // The till uploads a purchase of 5 February only now, after the redemption of the 12th.
        try await l.buy("M1", "P3", "40.00", at: "2026-02-05T10:00:00Z")
        #expect(try l.recordedNow() > beforeLate)

        #expect(try available(l, "M1", asOf: "2026-02-06T00:00:00Z") == 140)
        #expect(try available(l, "M1", asOf: "2026-02-06T00:00:00Z", knownAt: beforeLate) == 100)
        #expect(try available(l, "M1", asOf: "2026-02-11T00:00:00Z") == 190)
        #expect(try available(l, "M1", asOf: "2026-02-11T00:00:00Z", knownAt: beforeLate) == 150)
        #expect(try available(l, "M1", asOf: "2026-02-13T00:00:00Z") == 70)
        #expect(try available(l, "M1", asOf: "2026-02-13T00:00:00Z", knownAt: beforeLate) == 30)
        // Before enrollment the view is empty; before P1 only the enrollment is in it.
        #expect(try view(l, "M1", asOf: "2025-12-31T00:00:00Z").state == nil)
        #expect(try available(l, "M1", asOf: "2026-01-15T00:00:00Z") == 0)
        // The view at the head equals the model's balance.
        let now = t("2026-03-01T00:00:00Z")
        #expect(try view(l, "M1").balance(at: now) == (l.balance("M1", at: now)))
    }

    @Test(.timeLimit(.minutes(1)))
    func knownAtAloneIsTheLedgerAsItWasAndPendingPointsFollowTheEvaluationTime() async throws {
        let l = try TestLedger()
        defer { l.done() }
        try await l.publish(#"{"version": 1, "currency": "EUR", "pendingDays": 14}"#, at: "2026-01-01T00:00:00Z")
        try await l.enroll("M1")
        try await l.buy("M1", "P1", "100.00", at: "2026-02-01T10:00:00Z")
        let known = try l.recordedNow()
        try await Task.sleep(for: .milliseconds(5))
        try await l.buy("M1", "P2", "30.00", at: "2026-01-20T10:00:00Z")
        let then = try view(l, "M1", knownAt: known)
        #expect(then.balance(at: t("2026-02-10T00:00:00Z"))?.pending == 100)
        #expect(then.balance(at: t("2026-02-16T00:00:00Z"))?.available == 100)
        let now = try view(l, "M1")
        #expect(now.balance(at: t("2026-02-10T00:00:00Z"))?.available == 30)
        #expect(now.balance(at: t("2026-02-10T00:00:00Z"))?.pending == 100)
        #expect(try view(l, "M1", asOf: "2026-01-25T00:00:00Z").balance(at: t("2026-01-25T00:00:00Z"))?.pending == 30)
    }

    @Test(.timeLimit(.minutes(1)))
    func aBackdatedReturnOfALaterPurchaseIsLeftOutOfAViewWithoutThePurchaseInsteadOfCrashing() async throws {
        let l = try TestLedger()
        defer { l.done() }
        try await l.enroll("M1")
        try await l.buy("M1", "P1", "100.00", at: "2026-02-01T10:00:00Z")
        try await l.run(.returnPurchase(purchaseId: "P1", returnId: "RT1", amount: "50.00", at: t("2026-01-20T10:00:00Z")))
        let v = try view(l, "M1", asOf: "2026-01-25T00:00:00Z")
        #expect(v.exclusions.count == 1)
        #expect(v.exclusions.first?.reason.contains("P:P1") == true)
        #expect(v.balance(at: t("2026-01-25T00:00:00Z"))?.available == 0)
        let full = try view(l, "M1", asOf: "2026-02-02T00:00:00Z")
        #expect(full.exclusions.isEmpty)
        #expect(full.balance(at: t("2026-02-02T00:00:00Z"))?.available == 50)
    }

    @Test(.timeLimit(.minutes(1)))
    func historyShowsBothTimesRunningFiguresConsumedLotsAndRules() async throws {
        let l = try TestLedger()
        defer { l.done() }
        try await l.enroll("M1")
        try await l.buy("M1", "P1", "100.00", at: "2026-02-01T10:00:00Z")
        try await l.buy("M1", "P2", "50.00", at: "2026-02-10T10:00:00Z")
        try await l.run(.redeem(member: "M1", points: 120, redemptionId: "R1", reward: nil, at: t("2026-02-12T10:00:00Z")))
        try await l.buy("M1", "P3", "40.00", at: "2026-02-05T10:00:00Z")
        try await l.enroll("M2")
        try await l.buy("M2", "P9", "10.00", at: "2026-02-05T10:00:00Z")
        let rows = try History.rows(member: "M1", log: l.log)
        #expect(rows.map(\.type) == ["member.enrolled", "purchase.recorded", "points.earned", "purchase.recorded", "points.earned",
                                     "points.redeemed", "purchase.recorded", "points.earned"])
        #expect(rows.map(\.position) == rows.map(\.position).sorted())
        #expect(rows.map(\.available) == [0, 0, 100, 100, 150, 30, 30, 70])
        #expect(rows[5].consumed == [LotAllocation(lotId: "P:P1", points: 100), LotAllocation(lotId: "P:P2", points: 20)])
        #expect(rows[2].ruleVersion == 1 && rows[2].rule?.contains("base 100") == true)
        // The late purchase does not turn the evaluation clock back.
        #expect(rows[7].occurredAt == t("2026-02-05T10:00:00Z") && rows[7].evaluatedAt == t("2026-02-12T10:00:00Z"))
        #expect(rows.allSatisfy { $0.recordedAt >= rows[0].recordedAt })
        let window = try History.rows(member: "M1", log: l.log, from: t("2026-02-04T00:00:00Z"), to: t("2026-02-11T00:00:00Z"))
        #expect(window.map(\.available) == [100, 150, 30, 70])
        #expect(throws: AuditError.self) { try History.rows(member: "nobody", log: l.log) }
    }

    @Test(.timeLimit(.minutes(1)))
    func explainNamesWhereEachOpenLotCameFromAndWhoAdjusted() async throws {
        let l = try TestLedger()
        defer { l.done() }
        try await l.enroll("M1")
        try await l.buy("M1", "P1", "100.00", at: "2026-02-01T10:00:00Z", store: "S7")
        try await l.run(.redeem(member: "M1", points: 30, redemptionId: "R1", reward: nil, at: t("2026-02-02T10:00:00Z")))
        try await l.run(.adjust(member: "M1", points: 25, reason: "late delivery", operatorId: "support-1", key: "K1", at: t("2026-02-03T10:00:00Z")))
        let x = try Explanation.explain(member: "M1", log: l.log, at: t("2026-02-04T00:00:00Z"))
        let text = x.lines.joined(separator: "\n")
        #expect(x.balance.available == 95)
        #expect(text.contains("P:P1: 70 of 100 left, purchase P1 (10000 minor units at S7)"))
        #expect(text.contains("30 redeemed (R1)"))
        #expect(text.contains("A:K1: 25 of 25 left, adjustment +25 by support-1"))
        #expect(text.contains("adjusted 25 points: +25 by support-1"))
    }
}

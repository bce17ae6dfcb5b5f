import LedgerJSON
import Testing
@testable import LoyaltyDomain

/// The time rules of `decide(_:clock:)`, on the pure model.
@Suite struct TimeRuleTests {
    private func modelWithALot(expiringAt expiry: String) throws -> LedgerModel {
        var model = LedgerModel()
        try run(&model, .publishProgram(try rules(#"{"version":1,"expiry":{"policy":"months_after_availability","months":1,"roundTo":"end_of_day"}}"#), at: t("2026-01-01")))
        try enroll(&model, "M1", at: "2026-03-01T08:00:00Z")
        try buy(&model, "M1", "P1", "100", at: "2026-03-01T09:00:00Z")
        #expect(model.members["M1"]?.lots.first?.expiresAt == t(expiry))
        return model
    }

    @Test func expireWithinTheToleranceNeverTakesALotBeforeItsExpiry() throws {
        let model = try modelWithALot(expiringAt: "2026-04-01T23:59:59.999999Z")
        // The clock is 2 minutes before the lot expires; as-of 4 minutes later is within the
        // 5-minute tolerance, yet the lot is not expired: an expiry applies at once.
        let clock = DecisionClock(now: t("2026-04-01T23:58:00Z"))
        #expect(try model.decide(.expire(asOf: t("2026-04-02T00:02:00Z")), clock: clock) == .append([]))
        // Without a clock (a pure fold), as-of is taken as it is.
        #expect(try model.decide(.expire(asOf: t("2026-04-02T00:02:00Z"))) == .append([.pointsExpired(member: "M1", lotId: "P:P1", points: 100)]))
        // Past the tolerance: refused, with or without allowFuture.
        for allow in [false, true] {
            #expect(throws: DomainError.self) {
                try model.decide(.expire(asOf: t("2026-04-02T00:04:00Z")), clock: DecisionClock(now: t("2026-04-01T23:58:00Z"), allowFuture: allow))
            }
        }
        let after = DecisionClock(now: t("2026-04-02T00:00:00Z"))
        #expect(try model.decide(.expire(asOf: t("2026-04-02T00:00:00Z")), clock: after) == .append([.pointsExpired(member: "M1", lotId: "P:P1", points: 100)]))
    }

    @Test func aReplayIsAnsweredBeforeTheTimeRules() throws {
        var model = LedgerModel()
        try enroll(&model, "M1", at: "2026-03-01T08:00:00Z")
        let future = Command.purchase(.init(member: "M1", purchaseId: "P1", amount: "10", store: "S1", at: t("2026-06-01")))
        let clock = DecisionClock(now: t("2026-03-02T00:00:00Z"))
        #expect(throws: DomainError.self) { try model.decide(future, clock: clock) }
        guard case .append(let events) = try model.decide(future, clock: DecisionClock(now: clock.now, allowFuture: true)) else {
            Issue.record("expected events"); return
        }
        for e in events { try model.apply(e, at: future.at) }
        #expect(try model.decide(future, clock: clock) == .replay(key: "purchase:P1"))
    }

    @Test func rulesFieldsRoundTripAndAreBounded() throws {
        let r = try rules(#"{"version":1,"retroClaimDays":30,"futureToleranceSeconds":60}"#)
        #expect(r.retroClaimDays == 30 && r.futureToleranceSeconds == 60)
        #expect(try ProgramRules(json: r.json) == r)
        #expect(ProgramRules.default.json["retroClaimDays"] == nil, "defaults are not written: older rule events keep their bytes")
        #expect(throws: DomainError.self) { try rules(#"{"version":1,"retroClaimDays":-1}"#) }
        #expect(throws: DomainError.self) { try rules(#"{"version":1,"futureToleranceSeconds":86401}"#) }
    }
}

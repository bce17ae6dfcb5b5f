import LedgerJSON
import Testing
@testable import LoyaltyDomain

/// Events the model cannot apply (from a damaged log, or a decision gone wrong) are a thrown
/// `FoldError` that leaves the model exactly as it was: never a trap, never a wrap.
@Suite struct FoldDefenceTests {
    let at = t("2026-03-01T10:00:00Z")

    /// M1 enrolled with one lot `P:P1` of 100 points.
    func model() throws -> LedgerModel {
        var m = LedgerModel()
        try enroll(&m, "M1")
        try buy(&m, "M1", "P1", "100", at: "2026-02-01T10:00:00Z")
        return m
    }

    func earned(_ m: String, lot: String, points: Points, debtPaid: Points = 0) -> DomainEvent {
        .pointsEarned(.init(member: m, lotId: lot, points: points, source: .bonus(lot), ruleVersion: 0, rule: "test",
                            availableAt: at, expiresAt: nil, debtPaid: debtPaid))
    }

    func redeemed(_ m: String, id: String, _ allocations: [LotAllocation]) -> DomainEvent {
        .pointsRedeemed(.init(member: m, redemptionId: id, points: allocations.reduce(0) { $0 + $1.points }, reward: nil, allocations: allocations))
    }

    /// Applies `event`, expecting a `FoldError` with `code`, and the model unchanged.
    func expectRefused(_ event: DomainEvent, _ code: FoldError.Code, in model: LedgerModel,
                       sourceLocation: SourceLocation = #_sourceLocation) {
        var m = model
        do {
            try m.apply(event, at: at)
            Issue.record("applied: \(event)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == code, "\(error.message)", sourceLocation: sourceLocation)
        }
        expectSame(m, model, sourceLocation: sourceLocation)
    }

    func expectSame(_ a: LedgerModel, _ b: LedgerModel, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.eventCount == b.eventCount && a.pointsMoved == b.pointsMoved && a.moneyRecorded == b.moneyRecorded, sourceLocation: sourceLocation)
        #expect(a.members.keys.sorted() == b.members.keys.sorted(), sourceLocation: sourceLocation)
        for (id, s) in b.members {
            let o = a.members[id]
            #expect(o == s && o?.lots == s.lots && o?.earned == s.earned && o?.redeemed == s.redeemed && o?.expired == s.expired
                    && o?.redemptions == s.redemptions && o?.lastActivityAt == s.lastActivityAt, "member \(id)", sourceLocation: sourceLocation)
        }
        #expect(a.redemptionOwners == b.redemptionOwners && a.purchaseOwners == b.purchaseOwners && a.rewards == b.rewards,
                sourceLocation: sourceLocation)
    }

    @Test func anAllocationFromAnUnknownLotIsRefused() throws {
        let m = try model()
        expectRefused(redeemed("M1", id: "R1", [LotAllocation(lotId: "P:nope", points: 1)]), .unknownLot, in: m)
        expectRefused(.pointsExpired(member: "M1", lotId: "P:nope", points: 1), .unknownLot, in: m)
        // The first allocation is fine: nothing of it stays taken either.
        expectRefused(redeemed("M1", id: "R1", [LotAllocation(lotId: "P:P1", points: 10), LotAllocation(lotId: "P:nope", points: 1)]), .unknownLot, in: m)
        // A member the model has never seen.
        expectRefused(redeemed("M9", id: "R1", [LotAllocation(lotId: "P:P1", points: 1)]), .unknownLot, in: m)
    }

    @Test func aLotNeverGoesBelowZero() throws {
        let m = try model()
        expectRefused(redeemed("M1", id: "R1", [LotAllocation(lotId: "P:P1", points: 101)]), .lotBelowZero, in: m)
        // Two allocations of one lot add up.
        expectRefused(redeemed("M1", id: "R1", [LotAllocation(lotId: "P:P1", points: 60), LotAllocation(lotId: "P:P1", points: 60)]), .lotBelowZero, in: m)
        expectRefused(.pointsExpired(member: "M1", lotId: "P:P1", points: 101), .lotBelowZero, in: m)
        expectRefused(.pointsTransferredOut(.init(from: "M1", to: "M2", transferId: "T1", points: .max,
                                                  allocations: [LotAllocation(lotId: "P:P1", points: .max)], expiries: [nil])), .overflow, in: m)
        expectRefused(redeemed("M1", id: "R1", [LotAllocation(lotId: "P:P1", points: -5)]), .negativeValue, in: m)
    }

    @Test func aLotIdIsNeverCreatedTwice() throws {
        let m = try model()
        expectRefused(earned("M1", lot: "P:P1", points: 5), .duplicateLot, in: m)
        expectRefused(.pointsAdjusted(.init(member: "M1", key: "K", points: 5, reason: "r", operatorId: "op", lotId: "P:P1", expiresAt: nil)),
                      .duplicateLot, in: m)
    }

    @Test func int64MaxPointsAndOverflowingTotalsAreRefused() throws {
        var m = try model()
        expectRefused(earned("M1", lot: "B1", points: .max), .limitExceeded, in: m)
        expectRefused(.pointsAdjusted(.init(member: "M1", key: "K", points: .min, reason: "r", operatorId: "op", allocations: [])), .overflow, in: m)
        expectRefused(.pointsHeld(member: "M1", holdId: "H", points: .max, expiresAt: at), .limitExceeded, in: m)
        expectRefused(.purchaseRecorded(.init(member: "M1", purchaseId: "P2", store: "S1", amount: .max, currency: "EUR", lines: [], paidWithPoints: 0)),
                      .limitExceeded, in: m)
        // Up to the limit is fine; one point past it is not, and neither is anything that would
        // make a sum of two such figures overflow.
        let room = FoldLimits.movedTotalMaxPoints - m.pointsMoved
        try m.apply(earned("M1", lot: "B1", points: room), at: at)
        #expect(m.pointsMoved == FoldLimits.movedTotalMaxPoints)
        expectRefused(earned("M1", lot: "B2", points: 1), .limitExceeded, in: m)
        expectRefused(.pointsExpired(member: "M1", lotId: "B1", points: 1), .limitExceeded, in: m)
        let b = try #require(m.balance("M1", at: at))
        #expect(b.identity.credits == b.identity.holdings)
    }

    @Test func anEventAtATimeCalendarArithmeticCannotReachIsRefused() throws {
        var m = LedgerModel()
        // In a zone east of UTC, the local day of Int64.max microseconds would overflow.
        try run(&m, .publishProgram(try rules(#"{"version": 1, "currency": "EUR", "minorUnitExponent": 2, "timeZone": "+14:00"}"#), at: t("2026-01-01T00:00:00Z")))
        try enroll(&m, "M1")
        let birthday = DomainEvent.pointsEarned(.init(member: "M1", lotId: "B1", points: 5, source: .bonus("B1"), ruleVersion: 0, rule: "birthday",
                                                      availableAt: at, expiresAt: nil, birthdayBonus: 5))
        for far in [Int64.max, Int64.min, FoldLimits.timeMagnitudeMaxMicroseconds + 1] {
            var copy = m
            #expect(throws: FoldError.self) { try copy.apply(birthday, at: Timestamp(microseconds: far)) }
            expectSame(copy, m)
        }
        try m.apply(birthday, at: Timestamp(microseconds: FoldLimits.timeMagnitudeMaxMicroseconds))
        #expect(m.members["M1"]?.lastBirthdayBonusYear != nil)
    }

    @Test func negativeCountsAndDebtPaidBeyondTheDebtAreRefused() throws {
        let m = try model()
        expectRefused(earned("M1", lot: "B1", points: -1), .negativeValue, in: m)
        expectRefused(earned("M1", lot: "B1", points: 10, debtPaid: 5), .debtBelowZero, in: m)
        expectRefused(.purchaseReturned(.init(member: "M1", purchaseId: "P1", returnId: "RT", amount: -1, clawedBack: [], debt: 0, forgiven: 0)),
                      .negativeValue, in: m)
    }

    @Test func aReversalOfAnUnknownOrReversedRedemptionIsRefused() throws {
        var m = try model()
        let reversal = DomainEvent.redemptionReversed(.init(member: "M1", redemptionId: "R1", restored: [LotAllocation(lotId: "P:P1", points: 30)], expired: []))
        expectRefused(reversal, .unknownRedemption, in: m)
        try m.apply(redeemed("M1", id: "R1", [LotAllocation(lotId: "P:P1", points: 30)]), at: at)
        // More back than was taken.
        expectRefused(.redemptionReversed(.init(member: "M1", redemptionId: "R1", restored: [LotAllocation(lotId: "P:P1", points: 31)], expired: [])),
                      .inconsistent, in: m)
        try m.apply(reversal, at: at)
        #expect(m.balance("M1", at: at)?.available == 100)
        expectRefused(reversal, .redemptionAlreadyReversed, in: m)
    }

    @Test func theEventsOfOneCommandApplyAllOrNone() throws {
        let m = try model()
        var copy = m
        let events: [DomainEvent] = [
            .purchaseRecorded(.init(member: "M1", purchaseId: "P2", store: "S1", amount: 500, currency: "EUR", lines: [], paidWithPoints: 0)),
            earned("M1", lot: "P:P2", points: 5),
            redeemed("M1", id: "R1", [LotAllocation(lotId: "P:P1", points: 100)]),
            earned("M1", lot: "P:P1", points: 5),  // a lot id used twice: the whole command is refused
        ]
        #expect(throws: FoldError.self) { try copy.apply(contentsOf: events, at: at) }
        expectSame(copy, m)
        #expect(copy.members["M1"]?.purchases["P2"] == nil && copy.members["M1"]?.lot(id: "P:P2") == nil)
        try copy.apply(contentsOf: Array(events.prefix(3)), at: at)
        #expect(copy.eventCount == m.eventCount + 3 && copy.balance("M1", at: at)?.available == 5)
    }

    @Test func aTransferWhoseSecondHalfFailsLeavesBothMembersAsTheyWere() throws {
        var m = try model()
        try m.apply(.memberEnrolled(.init(member: "M2", brand: "main", store: "S1", channel: "store", birthDate: nil, gender: nil, profile: [:])), at: at)
        try m.apply(earned("M2", lot: "T:X1:0", points: 1), at: at)
        let before = m
        let transfer = DomainEvent.PointsTransfer(from: "M1", to: "M2", transferId: "X1", points: 40,
                                                  allocations: [LotAllocation(lotId: "P:P1", points: 40)], expiries: [nil])
        // M2 already has the lot the transfer would create.
        #expect(throws: FoldError.self) { try m.apply(contentsOf: [.pointsTransferredOut(transfer), .pointsTransferredIn(transfer)], at: at) }
        expectSame(m, before)
        #expect(m.members["M1"]?.transferKeys.isEmpty == true && m.balance("M1", at: at)?.available == 100)
        // A member the command would create is gone again.
        let toNew = DomainEvent.PointsTransfer(from: "M1", to: "M3", transferId: "X2", points: 40,
                                               allocations: [LotAllocation(lotId: "P:P1", points: 40)], expiries: [])
        #expect(throws: FoldError.self) { try m.apply(contentsOf: [.pointsTransferredOut(toNew), .pointsTransferredIn(toNew)], at: at) }
        expectSame(m, before)
        #expect(m.members["M3"] == nil)
    }

    @Test func restoredPointsOfAReversalPayTheDebtFirst() throws {
        var m = LedgerModel()
        try run(&m, .publishProgram(try rules(#"{"version": 1, "currency": "EUR", "minorUnitExponent": 2, "returnPolicy": "unlimited"}"#), at: t("2026-01-01T00:00:00Z")))
        try enroll(&m, "M1")
        try buy(&m, "M1", "P1", "600", at: "2026-01-03T00:00:00Z")
        try run(&m, .redeem(member: "M1", points: 600, redemptionId: "R1", reward: nil, at: t("2026-01-04T00:00:00Z")))
        try run(&m, .returnPurchase(purchaseId: "P1", returnId: "RT1", amount: "200", at: t("2026-01-05T00:00:00Z")))
        #expect(m.balance("M1", at: t("2026-01-05T00:00:00Z"))?.debt == 200)
        let events = try run(&m, .reverseRedemption(redemptionId: "R1", at: t("2026-01-06T00:00:00Z")))
        guard case .redemptionReversed(let r) = events.first else { Issue.record("no reversal"); return }
        #expect(r.debtPaid == 200)
        let b = try #require(m.balance("M1", at: t("2026-01-07T00:00:00Z")))
        #expect(b.available == 400 && b.debt == 0, "600 restored: 200 pay the debt, 400 spendable")
        #expect(b.identity.credits == b.identity.holdings)
        #expect(b.lots.map(\.remaining) == [400])
    }

    @Test func pointsTransferredInPayTheDebtFirst() throws {
        var m = LedgerModel()
        try run(&m, .publishProgram(try rules(#"{"version": 1, "currency": "EUR", "minorUnitExponent": 2, "returnPolicy": "unlimited"}"#), at: t("2026-01-01T00:00:00Z")))
        try enroll(&m, "M1")
        try enroll(&m, "M2")
        try buy(&m, "M1", "P1", "50", at: "2026-01-03T00:00:00Z")
        try buy(&m, "M2", "P2", "80", at: "2026-01-03T00:00:00Z")
        try run(&m, .redeem(member: "M1", points: 50, redemptionId: "R1", reward: nil, at: t("2026-01-04T00:00:00Z")))
        try run(&m, .returnPurchase(purchaseId: "P1", returnId: "RT1", amount: nil, at: t("2026-01-05T00:00:00Z")))
        try run(&m, .transfer(from: "M2", to: "M1", points: 80, key: "T1", at: t("2026-01-06T00:00:00Z")))
        let b = try #require(m.balance("M1", at: t("2026-01-07T00:00:00Z")))
        #expect(b.debt == 0 && b.available == 30 && b.transferredIn == 80)
        #expect(b.identity.credits == b.identity.holdings)
    }

    @Test func aReversalStoredWithoutDebtPaidDecodesAsZero() throws {
        let json = #"{"expired":[],"member":"M1","redemptionId":"R1","restored":[{"lotId":"P:P1","points":30}]}"#
        let fromJSON = try DomainEvent.decode(type: "redemption.reversed", schemaVersion: 1, json: try JSONCanonical.parse(json))
        let fromBytes = try DomainEvent.decode(type: "redemption.reversed", schemaVersion: 1, bytes: Array(json.utf8))
        guard case .redemptionReversed(let a) = fromJSON, case .redemptionReversed(let b) = fromBytes else { Issue.record("not a reversal"); return }
        #expect(a.debtPaid == 0 && b.debtPaid == 0)
        let withDebt = DomainEvent.redemptionReversed(.init(member: "M1", redemptionId: "R1", restored: [], expired: [], debtPaid: 7))
        #expect(try DomainEvent.decode(type: "redemption.reversed", schemaVersion: 1, bytes: withDebt.canonicalJSON) == withDebt)
    }
}

import Testing
@testable import LoyaltyDomain

@Suite struct DefaultProgramTests {
    @Test func oneWholePointPerCurrencyUnitAvailableAtOnceExpiringAtEndOfMonthAYearLater() throws {
        var m = LedgerModel()
        try enroll(&m, "M1")
        let events = try buy(&m, "M1", "P1", "12.99", at: "2026-03-15T10:00:00Z")
        guard case .pointsEarned(let e) = events[1] else { Issue.record("no accrual"); return }
        #expect(e.points == 12)
        #expect(e.availableAt == t("2026-03-15T10:00:00Z"))
        #expect(e.expiresAt == t("2027-03-31T23:59:59.999999Z"))
        let b = balance(m, "M1", at: "2026-03-15T10:00:00Z")
        #expect(b.available == 12 && b.pending == 0 && b.debt == 0 && b.earned == 12)
    }

    @Test func amountsAreExactDecimalsAndBadOnesAreRefusedWithTheirField() throws {
        var m = LedgerModel()
        try enroll(&m, "M1")
        #expect(throws: DomainError.invalid(field: "amount", value: "12.999", reason: "is not a non-negative amount with at most 2 decimals")) {
            try buy(&m, "M1", "P1", "12.999", at: "2026-03-15T10:00:00Z")
        }
        #expect(throws: DomainError.self) { try buy(&m, "M1", "P1", "-5", at: "2026-03-15T10:00:00Z") }
        #expect(throws: DomainError.self) { try buy(&m, "M1", "P1", "1e3", at: "2026-03-15T10:00:00Z") }
        #expect(throws: DomainError.unknownMember("nobody")) { try buy(&m, "nobody", "P1", "5", at: "2026-03-15T10:00:00Z") }
        #expect(m.eventCount == 1, "nothing written for refused commands")
    }
}

@Suite struct DebitTests {
    /// Lots A (expires first), B and C (same expiry; B older), D (no expiry).
    func model() throws -> LedgerModel {
        var m = LedgerModel()
        try enroll(&m, "M1")
        try buy(&m, "M1", "B", "30", at: "2026-02-01T10:00:00Z")
        try buy(&m, "M1", "C", "30", at: "2026-02-20T10:00:00Z")
        try buy(&m, "M1", "A", "30", at: "2026-01-10T10:00:00Z")
        return m
    }

    @Test func debitsTakeNearestExpiryThenOldestThenLowestLotId() throws {
        var m = try model()
        let events = try run(&m, .redeem(member: "M1", points: 50, redemptionId: "R1", reward: nil, at: t("2026-03-01T00:00:00Z")))
        guard case .pointsRedeemed(let r) = events[0] else { Issue.record("no redemption"); return }
        // A expires end of January 2027; B and C end of February 2027, B older.
        #expect(r.allocations == [LotAllocation(lotId: "P:A", points: 30), LotAllocation(lotId: "P:B", points: 20)])
    }

    @Test func neverBelowZeroAndExactlyOneOfManyRedemptionsSucceeds() throws {
        var m = LedgerModel()
        try enroll(&m, "M1")
        try buy(&m, "M1", "P1", "100", at: "2026-02-01T10:00:00Z")
        var successes = 0
        for i in 0..<20 {
            do {
                try run(&m, .redeem(member: "M1", points: 100, redemptionId: "R\(i)", reward: nil, at: t("2026-02-02T00:00:00Z")))
                successes += 1
            } catch let error as DomainError {
                #expect(error == .insufficientPoints(member: "M1", requested: 100, spendable: 0))
            }
        }
        #expect(successes == 1)
        #expect(balance(m, "M1", at: "2026-02-02T00:00:00Z").available == 0)
    }

    @Test func expiredPointsAreNeverSpendableAndExpireExactlyOnce() throws {
        var m = try model()
        let after = "2027-02-15T00:00:00Z"  // A expired (end of Jan 2027), B and C not yet
        #expect(balance(m, "M1", at: after).available == 60)
        #expect(throws: DomainError.insufficientPoints(member: "M1", requested: 70, spendable: 60)) {
            try run(&m, .redeem(member: "M1", points: 70, redemptionId: "R1", reward: nil, at: t(after)))
        }
        let first = try run(&m, .expire(asOf: t(after)))
        #expect(first == [.pointsExpired(member: "M1", lotId: "P:A", points: 30)])
        #expect(try run(&m, .expire(asOf: t(after))).isEmpty, "exactly once")
        let b = balance(m, "M1", at: after)
        #expect(b.expired == 30 && b.available == 60)
        #expect(b.identity.credits == b.identity.holdings)
    }

    @Test func holdsCutSpendablePointsUntilReleasedOrExpired() throws {
        var m = try model()
        try run(&m, .hold(member: "M1", points: 80, holdId: "H1", expiresAt: t("2026-03-02T00:00:00Z"), at: t("2026-03-01T00:00:00Z")))
        #expect(balance(m, "M1", at: "2026-03-01T12:00:00Z").available == 10)
        #expect(balance(m, "M1", at: "2026-03-01T12:00:00Z").held == 80)
        #expect(throws: DomainError.self) {
            try run(&m, .redeem(member: "M1", points: 20, redemptionId: "R1", reward: nil, at: t("2026-03-01T12:00:00Z")))
        }
        #expect(balance(m, "M1", at: "2026-03-03T00:00:00Z").available == 90, "the hold's time limit passed")
        try run(&m, .release(holdId: "H1", at: t("2026-03-01T13:00:00Z")))
        #expect(balance(m, "M1", at: "2026-03-01T13:00:00Z").available == 90)
    }

    @Test func transfersMoveLotsWithTheirExpiry() throws {
        var m = try model()
        try enroll(&m, "M2")
        try run(&m, .transfer(from: "M1", to: "M2", points: 40, key: "T1", at: t("2026-03-01T00:00:00Z")))
        let b1 = balance(m, "M1", at: "2026-03-01T00:00:00Z"), b2 = balance(m, "M2", at: "2026-03-01T00:00:00Z")
        #expect(b1.available == 50 && b2.available == 40)
        #expect(b2.lots.map(\.expiresAt) == [t("2027-01-31T23:59:59.999999Z"), t("2027-02-28T23:59:59.999999Z")])
        #expect(throws: DomainError.sameMember("M1")) { try run(&m, .transfer(from: "M1", to: "M1", points: 1, key: "T2", at: t("2026-03-01T00:00:00Z"))) }
        #expect(try run(&m, .transfer(from: "M1", to: "M2", points: 40, key: "T1", at: t("2026-03-01T00:00:00Z"))).isEmpty, "replay")
        #expect(throws: DomainError.idempotencyConflict(key: "transfer:T1")) {
            try run(&m, .transfer(from: "M1", to: "M2", points: 41, key: "T1", at: t("2026-03-01T00:00:00Z")))
        }
    }
}

@Suite struct ReturnTests {
    @Test func partialReturnsClawBackProportionallyFromThePurchasesOwnLotsFirst() throws {
        var m = LedgerModel()
        try enroll(&m, "M1")
        try buy(&m, "M1", "P0", "50", at: "2026-01-10T10:00:00Z")
        try buy(&m, "M1", "P1", "100", at: "2026-02-10T10:00:00Z")
        let e = try run(&m, .returnPurchase(purchaseId: "P1", returnId: "RT1", amount: "25", at: t("2026-02-11T10:00:00Z")))
        guard case .purchaseReturned(let r) = e[0] else { Issue.record("no return"); return }
        #expect(r.clawedBack == [LotAllocation(lotId: "P:P1", points: 25)], "own lot first, though P0 expires sooner")
        try run(&m, .returnPurchase(purchaseId: "P1", returnId: "RT2", amount: "75", at: t("2026-02-12T10:00:00Z")))
        #expect(balance(m, "M1", at: "2026-02-12T10:00:00Z").available == 50)
        #expect(throws: DomainError.overReturn(purchase: "P1", requested: 1, returnable: 0)) {
            try run(&m, .returnPurchase(purchaseId: "P1", returnId: "RT3", amount: "0.01", at: t("2026-02-12T10:00:00Z")))
        }
        #expect(m.members["M1"]!.totalSpend == 5_000)
    }

    @Test func unlimitedPolicyTurnsWhatLotsCannotCoverIntoDebtThatLaterEarningsPayFirst() throws {
        var m = LedgerModel()
        try enroll(&m, "M1")
        try buy(&m, "M1", "P1", "100", at: "2026-02-10T10:00:00Z")
        try run(&m, .redeem(member: "M1", points: 90, redemptionId: "R1", reward: nil, at: t("2026-02-10T11:00:00Z")))
        try run(&m, .returnPurchase(purchaseId: "P1", returnId: "RT1", amount: nil, at: t("2026-02-11T10:00:00Z")))
        var b = balance(m, "M1", at: "2026-02-11T10:00:00Z")
        #expect(b.available == 0 && b.debt == 90, "available is never negative; the clawback is never lost")
        #expect(b.identity.credits == b.identity.holdings)
        try buy(&m, "M1", "P2", "120", at: "2026-02-12T10:00:00Z")
        b = balance(m, "M1", at: "2026-02-12T10:00:00Z")
        #expect(b.debt == 0 && b.available == 30)
        #expect(b.identity.credits == b.identity.holdings)
    }

    @Test func withinBalanceAndOnlyPendingPoliciesForgiveWhatTheyMayNotTake() throws {
        for (policy, pendingDays, expectedForgiven) in [("within_balance", 0, Int64(90)), ("only_pending", 14, Int64(100))] {
            var m = LedgerModel()
            try run(&m, .publishProgram(try rules(#"{"version":2,"returnPolicy":"\#(policy)","pendingDays":\#(pendingDays)}"#), at: t("2026-01-01T00:00:00Z")))
            try enroll(&m, "M1")
            try buy(&m, "M1", "P1", "100", at: "2026-02-10T10:00:00Z")
            let when = policy == "only_pending" ? "2026-03-10T10:00:00Z" : "2026-02-10T11:00:00Z"  // after the return window
            try run(&m, .redeem(member: "M1", points: 90, redemptionId: "R1", reward: nil, at: t(when)))
            let e = try run(&m, .returnPurchase(purchaseId: "P1", returnId: "RT1", amount: nil, at: t(when)))
            guard case .purchaseReturned(let r) = e[0] else { Issue.record("no return"); return }
            #expect(r.debt == 0 && r.forgiven == expectedForgiven, "\(policy)")
            #expect(balance(m, "M1", at: when).available >= 0)
        }
    }
}

@Suite struct ReversalTests {
    @Test func reversalRestoresOriginalLotsAndExpiredPointsComeBackExpired() throws {
        var m = LedgerModel()
        try enroll(&m, "M1")
        try buy(&m, "M1", "A", "30", at: "2026-01-10T10:00:00Z")  // expires 2027-01-31
        try buy(&m, "M1", "B", "30", at: "2026-06-10T10:00:00Z")  // expires 2027-06-30
        try run(&m, .redeem(member: "M1", points: 50, redemptionId: "R1", reward: nil, at: t("2026-07-01T00:00:00Z")))
        let e = try run(&m, .reverseRedemption(redemptionId: "R1", at: t("2027-02-15T00:00:00Z")))
        guard case .redemptionReversed(let r) = e[0] else { Issue.record("no reversal"); return }
        #expect(r.expired == [LotAllocation(lotId: "P:A", points: 30)])
        #expect(r.restored == [LotAllocation(lotId: "P:B", points: 20)])
        let b = balance(m, "M1", at: "2027-02-15T00:00:00Z")
        #expect(b.available == 30 && b.lots.map(\.expiresAt) == [t("2027-06-30T23:59:59.999999Z")])
        #expect(b.identity.credits == b.identity.holdings)
        #expect(try run(&m, .reverseRedemption(redemptionId: "R1", at: t("2027-02-15T00:00:00Z"))).isEmpty, "once")
    }
}

@Suite struct IdempotencyAndLimitsTests {
    @Test func retriesReplayAndDifferentCommandsUnderOneKeyConflict() throws {
        var m = LedgerModel()
        try enroll(&m, "M1")
        try buy(&m, "M1", "P1", "10", at: "2026-02-10T10:00:00Z")
        #expect(try m.decide(.purchase(.init(member: "M1", purchaseId: "P1", amount: "10", store: "S1", at: t("2026-02-10T10:00:00Z")))) == .replay(key: "purchase:P1"))
        #expect(throws: DomainError.idempotencyConflict(key: "purchase:P1")) {
            try m.decide(.purchase(.init(member: "M1", purchaseId: "P1", amount: "11", store: "S1", at: t("2026-02-10T10:00:00Z"))))
        }
    }

    @Test func overflowIsAnErrorNeverAWrap() throws {
        var m = LedgerModel()
        try run(&m, .publishProgram(try rules(#"{"version":2,"earning":{"pointsPerUnit":"1000000"}}"#), at: t("2026-01-01T00:00:00Z")))
        try enroll(&m, "M1")
        // 10^19 points: past Int64, computed in 128 bits and refused (DomainLimits.pointsMax).
        #expect(throws: DomainError.invalid(field: "amount", value: "10000000000000.00",
                                            reason: "would earn 10000000000000000000 points, more than the 1000000000000 one accrual may carry")) {
            try buy(&m, "M1", "P1", "10000000000000", at: "2026-02-10T10:00:00Z")
        }
    }

    @Test func rewardsHaveStockAndBudget() throws {
        var m = LedgerModel()
        try enroll(&m, "M1")
        try buy(&m, "M1", "P1", "1000", at: "2026-02-10T10:00:00Z")
        try run(&m, .defineReward(rewardId: "mug", name: "Mug", cost: 100, stock: 2, budget: nil, at: t("2026-02-10T10:00:00Z")))
        try run(&m, .defineReward(rewardId: "bag", name: "Bag", cost: 100, stock: nil, budget: 150, at: t("2026-02-10T10:00:00Z")))
        for i in 0..<2 { try run(&m, .redeem(member: "M1", points: nil, redemptionId: "m\(i)", reward: "mug", at: t("2026-02-11T00:00:00Z"))) }
        #expect(throws: DomainError.rewardOutOfStock("mug")) { try run(&m, .redeem(member: "M1", points: nil, redemptionId: "m9", reward: "mug", at: t("2026-02-11T00:00:00Z"))) }
        try run(&m, .redeem(member: "M1", points: nil, redemptionId: "b0", reward: "bag", at: t("2026-02-11T00:00:00Z")))
        #expect(throws: DomainError.rewardOverBudget(reward: "bag", budgetLeft: 50, cost: 100)) {
            try run(&m, .redeem(member: "M1", points: nil, redemptionId: "b1", reward: "bag", at: t("2026-02-11T00:00:00Z")))
        }
        #expect(throws: DomainError.unknownReward("cup")) { try run(&m, .redeem(member: "M1", points: nil, redemptionId: "c", reward: "cup", at: t("2026-02-11T00:00:00Z"))) }
    }
}

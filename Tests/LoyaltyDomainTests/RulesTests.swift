import Testing
@testable import LoyaltyDomain

@Suite struct AccrualRulesTests {
    func earned(_ events: [DomainEvent]) -> DomainEvent.PointsEarned? {
        for case .pointsEarned(let e) in events { return e }
        return nil
    }

    @Test func roundingModesAreExact() throws {
        for (mode, expected) in [("down", Int64(12)), ("half_up", 13), ("up", 13)] {
            var m = LedgerModel()
            try run(&m, .publishProgram(try rules(#"{"version":2,"earning":{"pointsPerUnit":"1","rounding":"\#(mode)"}}"#), at: t("2026-01-01T00:00:00Z")))
            try enroll(&m, "M1")
            #expect(earned(try buy(&m, "M1", "P1", "12.50", at: "2026-02-01T10:00:00Z"))?.points == expected, "\(mode)")
        }
    }

    @Test func tierCategoryAndCampaignMultipliersStackAndBonusesAdd() throws {
        var m = LedgerModel()
        try run(&m, .publishProgram(try rules(#"""
        {"version":2,"categoryMultipliers":{"beauty":"3/2"},"campaigns":[
          {"id":"wknd","from":"2026-02-01","to":"2026-02-28","daysOfWeek":[5,6],"multiplier":2,"bonusPoints":10},
          {"id":"other-store","from":"2026-02-01","to":"2026-02-28","stores":["S9"],"multiplier":5}]}
        """#), at: t("2026-01-01T00:00:00Z")))
        try enroll(&m, "M1")
        // 2026-02-07 is a Saturday: (40 grocery * 1 + 60 beauty * 1.5) * 2 + 10 = 270
        let e = earned(try buy(&m, "M1", "P1", "100", at: "2026-02-07T10:00:00Z", lines: [("grocery", "40"), ("beauty", "60")]))
        #expect(e?.points == 270)
        #expect(e?.rule.contains("campaigns wknd") == true)
        // A Monday: no campaign.
        #expect(earned(try buy(&m, "M1", "P2", "100", at: "2026-02-09T10:00:00Z", lines: [("grocery", "40"), ("beauty", "60")]))?.points == 130)
    }

    @Test func capsApplyAfterMultipliersByDefaultOrBeforeWhenStated() throws {
        for (order, first, second) in [("after_multipliers", Int64(100), Int64(0)), ("before_multipliers", Int64(400), Int64(0))] {
            var m = LedgerModel()
            try run(&m, .publishProgram(try rules(#"{"version":2,"caps":{"perDay":100,"order":"\#(order)"},"campaigns":[{"id":"x4","from":"2026-01-01","to":"2026-12-31","multiplier":4}]}"#), at: t("2026-01-01T00:00:00Z")))
            try enroll(&m, "M1")
            #expect(earned(try buy(&m, "M1", "P1", "150", at: "2026-02-01T10:00:00Z"))?.points == first, "\(order)")
            #expect(earned(try buy(&m, "M1", "P2", "10", at: "2026-02-01T11:00:00Z"))?.points ?? 0 == second, "the day's cap is used up")
            #expect(earned(try buy(&m, "M1", "P3", "10", at: "2026-02-02T11:00:00Z"))?.points == 40, "a new day")
        }
    }

    @Test func noPointsOnThePartPaidWithPointsAndPendingPointsWaitForTheReturnWindow() throws {
        var m = LedgerModel()
        try run(&m, .publishProgram(try rules(#"{"version":2,"pendingDays":14}"#), at: t("2026-01-01T00:00:00Z")))
        try enroll(&m, "M1")
        let e = earned(try buy(&m, "M1", "P1", "100", at: "2026-02-01T10:00:00Z", paidWithPoints: "30"))
        #expect(e?.points == 70)
        #expect(e?.availableAt == t("2026-02-15T10:00:00Z"))
        #expect(e?.expiresAt == t("2027-02-28T23:59:59.999999Z"), "the expiry clock starts at availability")
        #expect(balance(m, "M1", at: "2026-02-10T00:00:00Z").pending == 70)
        #expect(balance(m, "M1", at: "2026-02-10T00:00:00Z").available == 0)
        #expect(balance(m, "M1", at: "2026-02-16T00:00:00Z").available == 70)
    }

    @Test func birthdayBonusOncePerYearInTheProgramsTimeZone() throws {
        var m = LedgerModel()
        try run(&m, .publishProgram(try rules(#"{"version":2,"birthdayBonus":50,"timeZone":"+02:00"}"#), at: t("2026-01-01T00:00:00Z")))
        try enroll(&m, "M1", birthDate: "1990-03-15")
        // 23:30 UTC on 14 March is already 15 March at +02:00.
        #expect(earned(try buy(&m, "M1", "P1", "10", at: "2026-03-14T23:30:00Z"))?.points == 60)
        #expect(earned(try buy(&m, "M1", "P2", "10", at: "2026-03-15T10:00:00Z"))?.points == 10, "once a year")
    }

    @Test func everyAccrualUsesTheRulesInForceAtThePurchasesTime() throws {
        var m = LedgerModel()
        try run(&m, .publishProgram(try rules(#"{"version":2,"earning":{"pointsPerUnit":2}}"#), at: t("2026-03-01T00:00:00Z")))
        try enroll(&m, "M1")
        // A late purchase from February (before the new rules) arrives after they were published.
        #expect(earned(try buy(&m, "M1", "P1", "10", at: "2026-02-20T10:00:00Z"))?.ruleVersion == 1)
        let e = earned(try buy(&m, "M1", "P2", "10", at: "2026-03-02T10:00:00Z"))
        #expect(e?.points == 20 && e?.ruleVersion == 2)
    }

    @Test func badRulesAreRefusedNamingTheField() throws {
        #expect(throws: DomainError.invalid(field: "timeZone", value: "Europe/Paris", reason: "must be UTC or a fixed offset like +01:00")) {
            try rules(#"{"version":2,"timeZone":"Europe/Paris"}"#)
        }
        #expect(throws: (any Error).self) { try rules(#"{"version":2,"earnings":{}}"#) }
        #expect(throws: DomainError.self) { try rules(#"{"version":2,"returnPolicy":"sometimes"}"#) }
    }
}

@Suite struct TierTests {
    let tiers = #"{"version":2,"tierMultipliers":{"gold":2},"tiers":{"measure":"spend","window":"rolling_days","windowDays":365,"downgradeGraceDays":30,"levels":[{"name":"silver","threshold":50000},{"name":"gold","threshold":100000}]}}"#

    @Test func upgradeAtOnceDowngradeOnlyAfterWindowAndGraceAndReturnsReverseQualification() throws {
        var m = LedgerModel()
        try run(&m, .publishProgram(try rules(tiers), at: t("2026-01-01T00:00:00Z")))
        try enroll(&m, "M1")
        let events = try buy(&m, "M1", "P1", "1000", at: "2026-02-01T10:00:00Z")
        #expect(events.contains { if case .tierChanged(let c) = $0 { return c.to == "gold" && c.qualifyingValue == 100_000 } else { return false } })
        #expect(m.members["M1"]!.tier == "gold")
        // The gold multiplier applies to later purchases.
        #expect(try buy(&m, "M1", "P2", "10", at: "2026-02-02T10:00:00Z").contains { if case .pointsEarned(let e) = $0 { return e.points == 20 } else { return false } })
        // A return reverses the qualifying spend, but a downgrade waits for window + grace.
        try run(&m, .returnPurchase(purchaseId: "P1", returnId: "RT1", amount: "600", at: t("2026-02-03T10:00:00Z")))
        #expect(try run(&m, .evaluateTiers(asOf: t("2026-06-01T00:00:00Z"))).isEmpty)
        let later = try run(&m, .evaluateTiers(asOf: t("2027-03-10T00:00:00Z")))
        #expect(later.count == 1)
        if case .tierChanged(let c)? = later.first { #expect(c.from == "gold" && c.to == nil) }
    }
}

@Suite struct TimeArithmeticTests {
    @Test func endOfMonthAndMonthAdditionInTheProgramZone() {
        let zone = ProgramTimeZone("+01:00")!
        #expect(zone.endOfMonth(t("2026-01-31T23:30:00Z")) == t("2026-02-28T22:59:59.999999Z"), "already February locally")
        #expect(zone.adding(months: 1, to: t("2026-01-31T12:00:00Z")) == t("2026-02-28T12:00:00Z"), "clamped to the month")
        #expect(zone.adding(months: 12, to: t("2024-02-29T12:00:00Z")) == t("2025-02-28T12:00:00Z"))
        #expect(zone.weekday(t("2026-11-23T12:00:00Z")) == 0, "a Monday")
        #expect(ProgramTimeZone("Europe/Paris") == nil)
    }
}

@Suite struct CampaignDatesTests {
    @Test func bareDatesCoverWholeLocalDays() throws {
        let r = try rules(#"{"version":2,"timeZone":"+01:00","campaigns":[{"id":"bf","from":"2026-11-27","to":"2026-11-30","multiplier":2}]}"#)
        #expect(r.campaigns[0].from == t("2026-11-26T23:00:00Z"))
        #expect(r.campaigns[0].to == t("2026-11-30T22:59:59.999999Z"))
    }
}

import LedgerJSON
import Testing
@testable import LoyaltyDomain

/// Decides with every check the ledger's writer runs (`decideChecked`) and applies the events.
@discardableResult
private func write(_ model: inout LedgerModel, _ command: Command) throws -> [DomainEvent] {
    switch try model.decideChecked(command) {
    case .replay: return []
    case .append(let events):
        for e in events { try model.apply(e, at: command.at) }
        return events
    }
}

private func enrolled(_ members: String...) throws -> LedgerModel {
    var m = LedgerModel()
    for id in members {
        try write(&m, .enroll(member: id, store: "S1", brand: "main", channel: "store", birthDate: nil, gender: nil, profile: [:],
                              at: t("2026-01-01T09:00:00Z")))
    }
    return m
}

private func purchase(_ id: String, _ amount: String, at: Timestamp = t("2026-02-01T10:00:00Z"), store: String = "S1",
                      member: String = "A") -> Command {
    .purchase(.init(member: member, purchaseId: id, amount: amount, store: store, at: at))
}

/// The field a refusal names (nil: not an `invalid` refusal).
private func refusedField(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch let DomainError.invalid(field, _, _) {
        return field
    } catch {
        return "other: \(error)"
    }
}

@Suite struct TimeLimitsTests {
    static let edges = [
        "0001-01-01T00:00:00Z", "0001-12-31T23:59:59.999999Z", "1899-12-31T23:59:59.999999Z", "1900-01-01T00:00:00Z",
        "1900-02-28T12:00:00Z", "1904-02-29T00:00:00Z", "1969-12-31T23:59:59.999999Z", "1970-01-01T00:00:00Z",
        "2000-02-29T23:59:59.5Z", "2024-02-29T00:00:00.000001Z", "9996-02-29T00:00:00Z", "9998-12-31T23:59:59Z",
        "9999-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z",
    ]

    /// The encoder, the String parser and the stored events' decoders (fast and general) agree on a time.
    static func agree(_ time: Timestamp) throws {
        var bytes: [UInt8] = []
        time.appendRFC3339(to: &bytes)
        #expect(bytes == Array(time.rfc3339.utf8), "\(time.rfc3339)")
        #expect(Timestamp(rfc3339: time.rfc3339) == time, "\(time.rfc3339)")
        let event = DomainEvent.pointsHeld(member: "A", holdId: "H1", points: 1, expiresAt: time)
        try event.validate()
        try event.checkRoundTrip()
        // The fast decoder itself (`decode(type:...)` falls back to the general one when it fails).
        let fast = try event.canonicalJSON.withUnsafeBufferPointer { try DomainEvent.fastDecode(.pointsHeld, $0) }
        #expect(fast == event, "\(time.rfc3339)")
        let general = try DomainEvent.decode(type: event.type, schemaVersion: 1, json: try JSONCanonical.parse(String(decoding: event.canonicalJSON, as: UTF8.self)))
        #expect(general == event)
    }

    @Test func encoderAndDecodersAgreeOnEveryEdgeOfTheRange() throws {
        for text in Self.edges {
            let time = try #require(Timestamp(rfc3339: text), "\(text)")
            try Self.agree(time)
        }
        #expect(DomainLimits.timeMax.rfc3339 == "9999-12-31T23:59:59.999999Z")
        #expect(DomainLimits.commandTimeMin.rfc3339 == "1900-01-01T00:00:00Z")
        #expect(DomainLimits.eventTimeMin.rfc3339 == "0001-01-01T00:00:00Z")
    }

    @Test func encoderAndDecodersAgreeAcrossTheWholeEventRange() throws {
        var rng = SplitMix64(seed: 13)
        let span = DomainLimits.timeMax.microseconds - DomainLimits.eventTimeMin.microseconds
        for _ in 0..<20_000 {
            let offset = Int64(rng.next() % UInt64(span))
            try Self.agree(Timestamp(microseconds: DomainLimits.eventTimeMin.microseconds + offset))
        }
    }

    @Test func leapDaysExistOnlyInLeapYears() {
        for text in ["1900-02-29", "2100-02-29", "9999-02-29", "0001-02-29", "2026-02-29"] { #expect(Timestamp(rfc3339: text) == nil, "\(text)") }
        for text in ["1904-02-29", "2000-02-29", "2024-02-29", "9996-02-29", "0004-02-29"] { #expect(Timestamp(rfc3339: text) != nil, "\(text)") }
    }

    @Test func commandTimesAreBoundedAtBothEnds() throws {
        #expect(!DomainLimits.isCommandTime(t("1899-12-31T23:59:59.999999Z")))
        #expect(DomainLimits.isCommandTime(t("1900-01-01T00:00:00Z")))
        #expect(DomainLimits.isCommandTime(t("9999-12-31T23:59:59.999999Z")))
        #expect(!DomainLimits.isCommandTime(Timestamp(microseconds: DomainLimits.timeMax.microseconds + 1)))
        var m = try enrolled("A")
        // An offset can carry a four-digit year past the end: 10000-01-01T04:00:00Z.
        #expect(refusedField { try write(&m, purchase("P1", "1.00", at: t("9999-12-31T23:00:00-05:00"))) } == "occurredAt")
        #expect(refusedField { try write(&m, purchase("P1", "1.00", at: t("1899-12-31T23:59:59Z"))) } == "occurredAt")
        #expect(refusedField { try write(&m, purchase("P1", "1.00", at: Timestamp(microseconds: .max))) } == "occurredAt")
        #expect(refusedField { try write(&m, purchase("P1", "1.00", at: Timestamp(microseconds: .min))) } == "occurredAt")
        #expect(refusedField { try write(&m, .expire(asOf: Timestamp(microseconds: .max))) } == "asOf")
        #expect(refusedField {
            try write(&m, .hold(member: "A", points: 1, holdId: "H", expiresAt: Timestamp(microseconds: .max), at: t("2026-02-01T00:00:00Z")))
        } == "expiresAt")
    }

    @Test func derivedTimesAreClampedToTheEndOfTheRange() throws {
        var m = try enrolled("A")
        for at in ["9999-06-01T00:00:00Z", "9999-12-31T23:59:59.999999Z", "9998-12-31T00:00:00Z"] {
            let events = try write(&m, purchase("P" + at, "10.00", at: t(at)))
            guard case .pointsEarned(let e)? = events.last else { Issue.record("no points earned at \(at)"); continue }
            #expect(e.expiresAt == DomainLimits.timeMax, "\(at)")
        }
        let rules = try rules(#"{"version":2,"pendingDays":36500,"expiry":{"policy":"months_after_availability","months":1200,"roundTo":"end_of_day"}}"#)
        try write(&m, .publishProgram(rules, at: t("9000-01-01T00:00:00Z")))
        let events = try write(&m, purchase("P9", "10.00", at: t("9999-12-31T12:00:00Z")))
        guard case .pointsEarned(let e)? = events.last else { Issue.record("no points earned"); return }
        #expect(e.availableAt == DomainLimits.timeMax && e.expiresAt == DomainLimits.timeMax)
        #expect(DomainLimits.adding(days: Int.max, to: t("2026-01-01T00:00:00Z")) == DomainLimits.timeMax)
        #expect(DomainLimits.adding(days: 1, to: t("2026-01-01T00:00:00Z")) == t("2026-01-02T00:00:00Z"))
    }

    @Test func birthDatesAreDatesInTheRange() throws {
        var m = LedgerModel()
        func enroll(_ id: String, _ birthDate: String) throws {
            try write(&m, .enroll(member: id, store: "S1", brand: "main", channel: "store", birthDate: birthDate, gender: nil, profile: [:],
                                  at: t("2026-01-01T00:00:00Z")))
        }
        #expect(refusedField { try enroll("A", "1899-12-31") } == "birthDate")
        #expect(refusedField { try enroll("A", "2000-02-30") } == "birthDate")
        #expect(refusedField { try enroll("A", "2000-01-01T00:00:00Z") } == "birthDate")
        try enroll("A", "1900-01-01")
        try enroll("B", "2000-02-29")
    }
}

@Suite struct PointsAndMoneyLimitsTests {
    @Test func adjustmentsAreBoundedBothWaysAndNeverTrap() throws {
        var m = try enrolled("A")
        func adjust(_ points: Int64, _ key: String) throws {
            try write(&m, .adjust(member: "A", points: points, reason: "test", operatorId: "op", key: key, at: t("2026-02-01T00:00:00Z")))
        }
        #expect(refusedField { try adjust(0, "k0") } == "points")
        for (i, points) in [Int64.max, .min, DomainLimits.pointsMax + 1, -DomainLimits.pointsMax - 1].enumerated() {
            #expect(refusedField { try adjust(points, "k\(i)") } == "points", "\(points)")
        }
        try adjust(1, "one")
        try adjust(DomainLimits.pointsMax, "max")
        try adjust(-1, "minus-one")
        try adjust(-DomainLimits.pointsMax, "minus-max")
        #expect(m.balance("A", at: t("2026-02-02T00:00:00Z"))?.available == 0)
    }

    @Test func redeemTransferHoldAndRewardsAreBounded() throws {
        var m = try enrolled("A", "B")
        let at = t("2026-02-01T00:00:00Z")
        for points in [Int64.min, -1, 0, DomainLimits.pointsMax + 1, .max] {
            #expect(refusedField { try write(&m, .redeem(member: "A", points: points, redemptionId: "R", reward: nil, at: at)) } == "points")
            #expect(refusedField { try write(&m, .transfer(from: "A", to: "B", points: points, key: "T", at: at)) } == "points")
            #expect(refusedField { try write(&m, .hold(member: "A", points: points, holdId: "H", expiresAt: t("2027-01-01"), at: at)) } == "points")
            #expect(refusedField { try write(&m, .defineReward(rewardId: "W", name: "W", cost: points, stock: nil, budget: nil, at: at)) } == "cost")
        }
        #expect(refusedField { try write(&m, .defineReward(rewardId: "W", name: "W", cost: 1, stock: .max, budget: nil, at: at)) } == "stock")
        #expect(refusedField { try write(&m, .defineReward(rewardId: "W", name: "W", cost: 1, stock: nil, budget: .max, at: at)) } == "budget")
        #expect(refusedField { try write(&m, .defineReward(rewardId: "W", name: "", cost: 1, stock: nil, budget: nil, at: at)) } == "name")
        try write(&m, .defineReward(rewardId: "W", name: "W", cost: DomainLimits.pointsMax, stock: DomainLimits.stockMax,
                                    budget: DomainLimits.pointsMax, at: at))
    }

    @Test func moneyIsPlainDigitsAndBounded() throws {
        for text in ["-0", "-0.00", "+1", "1e5", " 1", "1 ", "1.", ".5", "", "1,00", "0x10", "١", "92233720368547758.07", "99999999999999999999"] {
            var m = try enrolled("A")
            #expect(refusedField { try write(&m, purchase("P1", text)) } == "amount", "'\(text)'")
        }
        var m = try enrolled("A")
        #expect(refusedField { try write(&m, purchase("P1", "10000000000000.01")) } == "amount")
        try write(&m, purchase("P0", "0"))
        try write(&m, purchase("P2", "0.01"))
        // 10^15 minor units, the largest amount (paid with points: at 1 point per unit it would
        // earn 10^13 points, more than one accrual may carry, and be refused for that).
        let events = try write(&m, .purchase(.init(member: "A", purchaseId: "P3", amount: "10000000000000.00", store: "S1",
                                                   paidWithPoints: "10000000000000.00", at: t("2026-02-01T10:00:00Z"))))
        guard case .purchaseRecorded(let p)? = events.first else { Issue.record("no purchase"); return }
        #expect(p.amount == DomainLimits.moneyMinorUnitsMax)
        #expect(refusedField {
            try write(&m, .purchase(.init(member: "A", purchaseId: "P4", amount: "1.00", store: "S1",
                                          lines: [(category: "x", amount: "10000000000000.01")], at: t("2026-02-01T10:00:00Z"))))
        } == "lines[0].amount")
        #expect(refusedField { try write(&m, .returnPurchase(purchaseId: "P3", returnId: "R1", amount: "-0", at: t("2026-02-02"))) } == "amount")
        #expect(Decimal10.minorUnits("-0", exponent: 2) == nil)
        #expect(Decimal10.minorUnits("12.5", exponent: 2) == 1250)
    }

    @Test func accrualArithmeticRefusesOverflowInsteadOfTrapping() throws {
        var m = try enrolled("A")
        // Ten campaigns of x1,000,000: their product (10^60) passes even 128 bits.
        let campaigns = (0..<10).map { #"{"id":"c\#($0)","from":"2026-01-01","to":"2026-12-31","multiplier":"1000000"}"# }
        let r = try rules(#"{"version":2,"earning":{"pointsPerUnit":"1000000"},"campaigns":[\#(campaigns.joined(separator: ","))]}"#)
        try write(&m, .publishProgram(r, at: t("2026-01-01T00:00:00Z")))
        #expect(throws: DomainError.overflow("points of purchase P1")) { try write(&m, purchase("P1", "10000000000000.00")) }
        // One campaign: the product fits, the result is more points than one accrual may carry.
        var n = try enrolled("A")
        let one = try rules(#"{"version":2,"earning":{"pointsPerUnit":"1000000"},"categoryMultipliers":{"x":1000000}}"#)
        try write(&n, .publishProgram(one, at: t("2026-01-01T00:00:00Z")))
        #expect(refusedField { try write(&n, purchase("P1", "10000000000000.00")) } == "amount")
        try write(&n, purchase("P2", "1000000.00"))  // 10^12 points: the largest accrual
    }

    @Test func aLongAccrualExplanationIsShortenedNotRefused() throws {
        var m = try enrolled("A")
        let id = String(repeating: "c", count: 120)
        // x3/2 and x2/3 alternately: 40 campaign ids in the explanation, a product of exactly 1.
        let campaigns = (0..<40).map { #"{"id":"\#(id)\#($0)","from":"2026-01-01","to":"2026-12-31","multiplier":"\#($0 % 2 == 0 ? "3/2" : "2/3")"}"# }
        try write(&m, .publishProgram(try rules(#"{"version":2,"campaigns":[\#(campaigns.joined(separator: ","))]}"#), at: t("2026-01-01T00:00:00Z")))
        let events = try write(&m, purchase("P1", "10.00"))
        guard case .pointsEarned(let e)? = events.last else { Issue.record("no points earned"); return }
        #expect(e.points == 10 && e.rule.utf8.count <= DomainLimits.textBytesMax && e.rule.hasSuffix(" ... = 10"), "\(e.rule)")
    }
}

@Suite struct IdAndTextLimitsTests {
    @Test func idsAreOneTo128PrintableASCIIBytes() throws {
        let at = t("2026-01-01T00:00:00Z")
        func enroll(_ member: String, store: String = "S1", brand: String = "main", channel: String = "store") -> String? {
            var m = LedgerModel()
            return refusedField {
                try write(&m, .enroll(member: member, store: store, brand: brand, channel: channel, birthDate: nil, gender: nil,
                                      profile: [:], at: at))
            }
        }
        for bad in ["", String(repeating: "s", count: 129), String(repeating: "s", count: 500), "a b", "a\u{0}b", "a\nb", "é", "\u{7F}"] {
            #expect(enroll("A", store: bad) == "store", "\(bad.debugDescription)")
            #expect(enroll("A", brand: bad) == "brand")
            #expect(enroll("A", channel: bad) == "channel")
            #expect(enroll(bad) == "member")
        }
        #expect(enroll("A", store: String(repeating: "s", count: 128)) == nil)
        var m = try enrolled("A")
        #expect(refusedField { try write(&m, purchase("P1", "1.00", store: String(repeating: "s", count: 500))) } == "store")
        #expect(refusedField { try write(&m, purchase("", "1.00")) } == "purchaseId")
        #expect(refusedField {
            try write(&m, .adjust(member: "A", points: 1, reason: "r", operatorId: "", key: "k", at: at))
        } == "operator")
        #expect(refusedField { try write(&m, .hold(member: "A", points: 1, holdId: "h\n", expiresAt: t("2027-01-01"), at: at)) } == "holdId")
    }

    @Test func textsAreBoundedUTF8WithoutControlCharacters() throws {
        let at = t("2026-01-02T00:00:00Z")
        var m = try enrolled("A")
        func close(_ reason: String) -> String? { var copy = m; return refusedField { try write(&copy, .closeMember(member: "A", reason: reason, at: at)) } }
        #expect(close(String(repeating: "é", count: 512)) == nil)  // 1024 bytes
        #expect(close(String(repeating: "é", count: 512) + "x") == "reason")
        for bad in ["a\u{0}", "line\nbreak", "tab\t", "\u{1B}[31m", "\u{85}", "\u{2028}", "\u{FFFD}"] {
            #expect(close(bad) == "reason", "\(bad.debugDescription)")
        }
        func profile(_ p: [String: String]) -> String? {
            var copy = m
            return refusedField { try write(&copy, .updateProfile(member: "A", changes: p, at: at)) }
        }
        #expect(profile(["city": "Köln"]) == nil)
        #expect(profile(["city": "a\nb"]) == "changes.city")
        #expect(profile(["": "x"]) == "changes key")
        #expect(profile(Dictionary(uniqueKeysWithValues: (0...DomainLimits.profileEntriesMax).map { ("k\($0)", "v") })) == "changes")
        #expect(refusedField {
            try write(&m, .adjust(member: "A", points: 1, reason: String(repeating: "x", count: 1025), operatorId: "op", key: "k", at: at))
        } == "reason")
        // The message names the field and a shortened value.
        do {
            try write(&m, purchase("P1", "1.00", store: String(repeating: "s", count: 500)))
            Issue.record("accepted")
        } catch {
            let text = "\(error)"
            #expect(text.contains("field 'store'") && text.contains("500 bytes") && text.utf8.count < 200, "\(text)")
        }
    }
}

@Suite struct EventLimitsTests {
    @Test func eventsOutsideTheLimitsFailValidation() {
        let bad: [DomainEvent] = [
            .pointsHeld(member: "A", holdId: "H", points: 1, expiresAt: Timestamp(microseconds: DomainLimits.timeMax.microseconds + 1)),
            .pointsHeld(member: "A", holdId: "H", points: 0, expiresAt: t("2026-01-01")),
            .pointsExpired(member: "A", lotId: "", points: 1),
            .pointsRedeemed(.init(member: "A", redemptionId: "R", points: 5, reward: nil, allocations: [LotAllocation(lotId: "L", points: -5)])),
            .memberClosed(member: String(repeating: "m", count: 129), reason: "x"),
            .holdReleased(member: "A", holdId: "a\u{0}"),
        ]
        for event in bad { #expect(throws: DomainError.self, "\(event)") { try event.validate() } }
    }

    @Test func anEventThatCannotBeReadBackIsRefused() {
        // Year 10000: encoded as five digits, which no reader of RFC 3339 accepts.
        let event = DomainEvent.pointsHeld(member: "A", holdId: "H", points: 1, expiresAt: Timestamp(microseconds: DomainLimits.timeMax.microseconds + 1))
        #expect(throws: DomainError.self) { try event.checkRoundTrip() }
    }
}

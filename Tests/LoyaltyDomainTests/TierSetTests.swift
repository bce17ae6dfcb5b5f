import DomainTestSupport
import PropertyBased
import Testing
@testable import LoyaltyDomain

/// Operators' tiers (`tier.set`): refusals, idempotency, and what tier evaluation makes of them.
@Suite struct TierSetTests {
    static let tiers = #"{"version":2,"tiers":{"measure":"spend","window":"rolling_days","windowDays":365,"downgradeGraceDays":30,"levels":[{"name":"silver","threshold":50000},{"name":"gold","threshold":100000}]}}"#

    static func program() throws -> LedgerModel {
        var m = LedgerModel()
        try run(&m, .publishProgram(try rules(tiers), at: t("2026-01-01T00:00:00Z")))
        try enroll(&m, "M1")
        return m
    }

    static func set(_ tier: String, key: String, at: String, floor: Bool = false, until: String? = nil, member: String = "M1") -> Command {
        .setTier(.init(member: member, tier: tier, reason: "status match", operatorId: "anna", key: key, until: until.map(t), floor: floor, at: t(at)))
    }

    @Test func refusalsNameTheFieldAndRetriesReplay() throws {
        var m = try Self.program()
        #expect(throws: DomainError.invalid(field: "tier", value: "platinum", reason: "is not a tier of the rules in force (silver, gold)")) {
            try run(&m, Self.set("platinum", key: "K1", at: "2026-02-01T10:00:00Z"))
        }
        #expect(throws: DomainError.unknownMember("M9")) { try run(&m, Self.set("gold", key: "K1", at: "2026-02-01T10:00:00Z", member: "M9")) }
        #expect(throws: DomainError.self) { try run(&m, Self.set("gold", key: "K1", at: "2026-02-01T10:00:00Z", until: "2026-12-31")) }
        #expect(throws: DomainError.self) { try run(&m, Self.set("gold", key: "K1", at: "2026-02-01T10:00:00Z", floor: true, until: "2026-01-31")) }
        let events = try run(&m, Self.set("gold", key: "K1", at: "2026-02-01T10:00:00Z", floor: true, until: "2026-12-31"))
        guard case .tierSet(let e)? = events.first else { Issue.record("no tier.set"); return }
        #expect(e.from == nil && e.tier == "gold" && e.floor && e.operatorId == "anna")
        #expect(m.members["M1"]?.tier == "gold")
        #expect(try m.decide(Self.set("gold", key: "K1", at: "2026-02-01T10:00:00Z", floor: true, until: "2026-12-31")) == .replay(key: "tier:K1"))
        #expect(throws: DomainError.idempotencyConflict(key: "tier:K1")) { try m.decide(Self.set("silver", key: "K1", at: "2026-02-01T10:00:00Z")) }
    }

    @Test func aFloorHoldsUntilItsEndThenTheEarnedTierReturnsAfterTheGrace() throws {
        var m = try Self.program()
        try run(&m, Self.set("gold", key: "K1", at: "2026-02-01T10:00:00Z", floor: true, until: "2026-06-01T00:00:00Z"))
        // No spend at all: evaluation keeps gold while the floor lasts, even past window + grace.
        #expect(try run(&m, .evaluateTiers(asOf: t("2026-05-31T00:00:00Z"))).isEmpty)
        #expect(m.members["M1"]?.tier == "gold")
        // After the floor, the downgrade still waits a window plus the grace from the set.
        #expect(try run(&m, .evaluateTiers(asOf: t("2026-07-01T00:00:00Z"))).isEmpty)
        let down = try run(&m, .evaluateTiers(asOf: t("2027-03-05T00:00:00Z")))
        #expect(down.contains { if case .tierChanged(let c) = $0 { return c.from == "gold" && c.to == nil } else { return false } })
    }

    @Test func withoutAFloorQualificationStillUpgradesAndAnEarlierFloorEnds() throws {
        var m = try Self.program()
        try run(&m, Self.set("gold", key: "K1", at: "2026-02-01T10:00:00Z", floor: true))
        try run(&m, Self.set("silver", key: "K2", at: "2026-02-02T10:00:00Z"))
        #expect(m.members["M1"]?.tierFloor == nil)
        // Spend past gold's threshold upgrades at once.
        let bought = try buy(&m, "M1", "P1", "1000", at: "2026-02-03T10:00:00Z")
        #expect(bought.contains { if case .tierChanged(let c) = $0 { return c.from == "silver" && c.to == "gold" } else { return false } })
    }

    /// Over random histories of purchases, operators' tiers and evaluations: while a floor lasts
    /// the member's tier is never ranked below it, and every tier.set reads back from its JSON.
    @Test func whileAFloorLastsTheTierIsNeverBelowIt() async {
        await propertyCheck(count: 40, input: Gen.int(in: 0...Int.max)) { seed in
            var random = SplitMix64(seed: UInt64(seed))
            var m = try Self.program()
            var now = t("2026-01-02T00:00:00Z").microseconds
            var floor: (rank: Int, until: Int64)?
            let names = ["silver", "gold"]
            for step in 0..<80 {
                now += Int64(random.next(in: 1...20)) * 86_400_000_000
                let at = Timestamp(microseconds: now)
                switch random.next(in: 0...9) {
                case 0...4:
                    _ = try? run(&m, .purchase(.init(member: "M1", purchaseId: "P\(step)", amount: "\(random.next(in: 1...400))", store: "S1", at: at)))
                case 5...6:
                    let rank = random.next(in: 0...1), withFloor = random.next(in: 0...1) == 1
                    let until = withFloor && random.next(in: 0...1) == 1 ? now + Int64(random.next(in: 1...200)) * 86_400_000_000 : nil
                    try run(&m, .setTier(.init(member: "M1", tier: names[rank], reason: "r", operatorId: "op", key: "K\(step)",
                                                until: until.map(Timestamp.init(microseconds:)), floor: withFloor, at: at)))
                    floor = withFloor ? (rank, until ?? .max) : nil
                default:
                    try run(&m, .evaluateTiers(asOf: at))
                }
                if let f = floor, f.until > now {
                    let tier = m.members["M1"]?.tier
                    let rank = tier.flatMap { names.firstIndex(of: $0) } ?? -1
                    #expect(rank >= f.rank, "step \(step): tier \(tier ?? "none") below the floor \(names[f.rank])")
                }
            }
        }
    }
}

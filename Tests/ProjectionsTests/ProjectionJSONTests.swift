import Foundation
import LedgerJSON
@testable import LoyaltyDomain
import Testing
@testable import Projections

/// The JSON that `member show` and `balance` print has exactly the fields their schemas document.
@Suite struct ProjectionJSONTests {
    func schemaFields(_ file: String) throws -> Set<String> {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("schemas/projections/\(file)")
        let schema = try JSONCanonical.parse(String(decoding: try Data(contentsOf: url), as: UTF8.self))
        guard case .object(let props)? = schema["properties"] else { throw TestFailure("\(file) has no properties") }
        return Set(props.map(\.key))
    }

    func keys(_ v: JSONValue) -> Set<String> {
        guard case .object(let members) = v else { return [] }
        return Set(members.map(\.key))
    }

    @Test func memberViewAndBalanceJSONMatchTheirSchemas() throws {
        var view = MemberView()
        view.enrolledAt = Timestamp(microseconds: 0)
        let b = Balances.Record().balance("M1", at: Timestamp(microseconds: 0))
        #expect(keys(view.json(member: "M1", balance: b, at: Timestamp(microseconds: 0), thresholds: LifecycleThresholds())) == (try schemaFields("member-view.schema.json")))
        #expect(keys(b.json) == (try schemaFields("balance.schema.json")))
    }

    @Test func lifecycleStagesFollowTheThresholds() {
        let day = Timestamp.microsecondsPerDay
        var v = MemberView()
        let now = Timestamp(microseconds: 1_000 * day)
        #expect(v.stage(at: now) == "lead")
        (v.firstPurchaseAt, v.lastPurchaseAt) = (Timestamp(microseconds: 950 * day), Timestamp(microseconds: 990 * day))
        #expect(v.stage(at: now) == "new")
        v.firstPurchaseAt = Timestamp(microseconds: 100 * day)
        #expect(v.stage(at: now) == "active")
        v.lastPurchaseAt = Timestamp(microseconds: 800 * day)
        #expect(v.stage(at: now) == "defecting")
        #expect(v.stage(at: now, LifecycleThresholds(newDays: 90, defectingDays: 250, inactiveDays: 365)) == "active")
        v.lastPurchaseAt = Timestamp(microseconds: 600 * day)
        #expect(v.stage(at: now) == "inactive")
    }

    @Test func valuesRoundTripAndShortOrTrailingBytesAreRefused() throws {
        var r = Balances.Record()
        r.lots = [Lot(id: "P:1", points: 10, remaining: 4, earnedAt: Timestamp(microseconds: 1), availableAt: Timestamp(microseconds: 2),
                      expiresAt: nil, source: .purchase("1"))]
        r.holds = ["H": MemberState.Hold(holding: 3, until: Timestamp(microseconds: 9))]
        (r.debt, r.earned, r.redeemed) = (1, 10, 6)
        let bytes = Balances.encoded(r)
        #expect(try bytes.withUnsafeBytes { try Balances.decoded($0) } == r)
        for cut in [1, bytes.count / 2, bytes.count - 1] {
            #expect(throws: ProjectionError.self) { try Array(bytes.prefix(cut)).withUnsafeBytes { try Balances.decoded($0) } }
        }
        #expect(throws: ProjectionError.self) { try (bytes + [0]).withUnsafeBytes { try Balances.decoded($0) } }
        var bad = bytes
        // The lot's expiryWritten flag (after the lot count and its remaining points) is a boolean byte.
        bad[4 + 8] = 7
        #expect(throws: ProjectionError.self) { try bad.withUnsafeBytes { try Balances.decoded($0) } }
    }

    /// The lots' form the fold keeps up to date (patched as lots are spent, restored and expired)
    /// is byte for byte the form written lot by lot.
    @Test func keptLotFormEqualsTheFormWrittenLotByLot() throws {
        var r = Balances.Record()
        let t = Timestamp(microseconds: 1_000)
        let events: [DomainEvent] = [
            .pointsEarned(.init(member: "M1", lotId: "P:1", points: 100, source: .purchase("1"), ruleVersion: 1, rule: "r",
                                availableAt: t, expiresAt: Timestamp(microseconds: 9_000), debtPaid: 0, capCounted: nil, birthdayBonus: nil)),
            .pointsEarned(.init(member: "M1", lotId: "P:2", points: 40, source: .purchase("2"), ruleVersion: 1, rule: "r",
                                availableAt: t, expiresAt: nil, debtPaid: 0, capCounted: nil, birthdayBonus: nil)),
            .pointsRedeemed(.init(member: "M1", redemptionId: "R1", points: 120, reward: nil,
                                  allocations: [LotAllocation(lotId: "P:1", points: 100), LotAllocation(lotId: "P:2", points: 20)])),
            .redemptionReversed(.init(member: "M1", redemptionId: "R1", restored: [LotAllocation(lotId: "P:2", points: 20)],
                                      expired: [LotAllocation(lotId: "P:1", points: 100)])),
            .pointsExpired(member: "M1", lotId: "P:2", points: 40),
        ]
        for (i, e) in events.enumerated() {
            try Balances.apply(e, at: t, position: UInt64(i + 1), to: &r)
            var lotByLot = r
            lotByLot.lots = r.lots  // drops the kept form
            #expect(Balances.encoded(r) == Balances.encoded(lotByLot))
            let decoded = try Balances.encoded(r).withUnsafeBytes { try Balances.decoded($0) }
            #expect(decoded == r && Balances.encoded(decoded) == Balances.encoded(r))
        }
        #expect(r.lots.map(\.remaining) == [0, 0] && r.lots[1].expiryWritten)
    }
}

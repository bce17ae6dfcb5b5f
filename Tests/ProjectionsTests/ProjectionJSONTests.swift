import Foundation
import LedgerJSON
import LedgerTestSupport
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
        // The lot's flags byte (after the lot count and its remaining points) has no bit 7.
        bad[4 + 8] |= 0x80
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
            // A lot id too long for a one-byte length is found all the same.
            .pointsEarned(.init(member: "M1", lotId: "P:" + String(repeating: "x", count: 70), points: 9, source: .purchase("long"),
                                ruleVersion: 1, rule: "r", availableAt: t, expiresAt: nil, debtPaid: 0, capCounted: nil, birthdayBonus: nil)),
            .pointsRedeemed(.init(member: "M1", redemptionId: "R2", points: 4, reward: nil,
                                  allocations: [LotAllocation(lotId: "P:" + String(repeating: "x", count: 70), points: 4)])),
        ]
        for (i, e) in events.enumerated() {
            try Balances.apply(e, at: t, position: UInt64(i + 1), to: &r)
            var lotByLot = r
            lotByLot.lots = r.lots  // decoded, then encoded again lot by lot
            #expect(Balances.encoded(r) == Balances.encoded(lotByLot))
            let decoded = try Balances.encoded(r).withUnsafeBytes { try Balances.decoded($0) }
            #expect(decoded == r && Balances.encoded(decoded) == Balances.encoded(r))
        }
        #expect(r.lots.map(\.remaining) == [0, 0, 5] && r.lots[1].expiryWritten)
        #expect(throws: FoldFault.self) {
            try Balances.apply(.pointsRedeemed(.init(member: "M1", redemptionId: "R3", points: 6, reward: nil,
                                                     allocations: [LotAllocation(lotId: "P:" + String(repeating: "x", count: 70), points: 6)])),
                               at: t, position: 99, to: &r)
        }
    }

    /// Every source kind, implied or not, and times far apart (the form stores wrapping
    /// differences) come back exactly; a varint that runs on is refused.
    @Test func compactLotFormRoundTripsEveryKindOfLot() throws {
        let t = { (us: Int64) in Timestamp(microseconds: us) }
        var r = Balances.Record()
        r.lots = [
            Lot(id: "P:P1", points: 500, remaining: 0, earnedAt: t(1_767_225_600_000_000), availableAt: t(1_767_225_600_000_000),
                expiresAt: t(1_798_761_600_000_000), source: .purchase("P1"), expiryWritten: true),
            Lot(id: "P:X", points: 1, remaining: 1, earnedAt: t(5), availableAt: t(-5), expiresAt: nil, source: .purchase("Y")),
            Lot(id: "A:K", points: Int64.max, remaining: Int64.max, earnedAt: t(Int64.min), availableAt: t(Int64.max),
                expiresAt: t(Int64.min), source: .adjustment("K")),
            Lot(id: "T:X1:0", points: 64, remaining: 63, earnedAt: t(Int64.max), availableAt: t(Int64.min), expiresAt: t(0),
                source: .transfer("X1")),
            Lot(id: "P:\u{301}é", points: 128, remaining: 1, earnedAt: t(0), availableAt: t(0), expiresAt: nil, source: .purchase("\u{301}é")),
            Lot(id: "B", points: 2, remaining: 2, earnedAt: t(0), availableAt: t(0), expiresAt: nil, source: .bonus("")),
        ]
        let bytes = Balances.encoded(r)
        #expect(try bytes.withUnsafeBytes { try Balances.decoded($0) } == r)
        var reader = [UInt8](repeating: 0xFF, count: 11) + [0]
        #expect(throws: ProjectionError.self) { try varints(reader, count: 1) }
        reader = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02]
        #expect(throws: ProjectionError.self) { try varints(reader, count: 1) }
        var w = ValueWriter()
        for v: Int64 in [0, -1, 63, -64, 64, Int64.max, Int64.min] { w.varint(v) }
        #expect(try varints(w.bytes, count: 7) == [0, -1, 63, -64, 64, Int64.max, Int64.min])
    }

    /// Reads `count` varints that fill `bytes` exactly.
    func varints(_ bytes: [UInt8], count: Int) throws -> [Int64] {
        try bytes.withUnsafeBytes { b in
            var rd = ValueReader(b)
            var out: [Int64] = []
            for _ in 0 ..< count { out.append(try rd.varint()) }
            guard rd.isAtEnd else { throw TestFailure("bytes left over") }
            return out
        }
    }
}

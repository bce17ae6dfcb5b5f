import Foundation
import LedgerJSON
import LoyaltyDomain
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
        // The lot's expiryWritten flag (before the holds: 25 bytes, eight figures, lastPosition) is a boolean byte.
        bad[bad.count - 8 - 8 * 8 - 25 - 1] = 7
        #expect(throws: ProjectionError.self) { try bad.withUnsafeBytes { try Balances.decoded($0) } }
    }
}

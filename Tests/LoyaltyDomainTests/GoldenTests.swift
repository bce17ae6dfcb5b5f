import Foundation
import LedgerJSON
import Testing
@testable import LoyaltyDomain

/// One sample of every event type. Its canonical JSON must equal the fixtures in
/// schemas/events/fixtures/ (its stored record: `GoldenRecordTests` in LoyaltyLedgerTests).
/// Run with LEDGER_UPDATE_GOLDEN=1 to rewrite them after a deliberate format change.
enum Samples {
    static let at = Timestamp(rfc3339: "2026-03-15T10:30:00Z")!
    static let later = Timestamp(rfc3339: "2027-03-31T23:59:59.999999Z")!
    static let events: [DomainEvent] = [
        .memberEnrolled(.init(member: "M0001", brand: "main", store: "S012", channel: "app", birthDate: "1985-07-14", gender: "female",
                              profile: ["email_opt_in": "yes"])),
        .profileUpdated(member: "M0001", changes: ["gender": "unspecified"]),
        .memberClosed(member: "M0001", reason: "member request"),
        .purchaseRecorded(.init(member: "M0001", purchaseId: "P-77", store: "S012", amount: 4_250, currency: "EUR",
                                lines: [.init(category: "beauty", amount: 3_000), .init(category: "grocery", amount: 1_250)], paidWithPoints: 500)),
        .purchaseReturned(.init(member: "M0001", purchaseId: "P-77", returnId: "RT-1", amount: 1_250,
                                clawedBack: [LotAllocation(lotId: "P:P-77", points: 10)], debt: 2, forgiven: 0)),
        .pointsEarned(.init(member: "M0001", lotId: "P:P-77", points: 45, source: .purchase("P-77"), ruleVersion: 3,
                            rule: "v3: base 37 x tier gold 6/5 = 45", availableAt: at, expiresAt: later, debtPaid: 5, capCounted: nil, birthdayBonus: nil)),
        .pointsRedeemed(.init(member: "M0001", redemptionId: "R-9", points: 40, reward: "mug",
                              allocations: [LotAllocation(lotId: "P:P-70", points: 25), LotAllocation(lotId: "P:P-77", points: 15)])),
        .redemptionReversed(.init(member: "M0001", redemptionId: "R-9", restored: [LotAllocation(lotId: "P:P-77", points: 15)],
                                  expired: [LotAllocation(lotId: "P:P-70", points: 25)])),
        .pointsAdjusted(.init(member: "M0001", key: "ADJ-5", points: 100, reason: "goodwill: late delivery", operatorId: "anna",
                              lotId: "A:ADJ-5", expiresAt: later)),
        .pointsExpired(member: "M0001", lotId: "P:P-70", points: 12),
        .pointsHeld(member: "M0001", holdId: "H-1", points: 30, expiresAt: later),
        .holdReleased(member: "M0001", holdId: "H-1"),
        .pointsTransferredOut(.init(from: "M0001", to: "M0002", transferId: "X-1", points: 20,
                                    allocations: [LotAllocation(lotId: "P:P-77", points: 20)], expiries: [later])),
        .pointsTransferredIn(.init(from: "M0001", to: "M0002", transferId: "X-1", points: 20,
                                   allocations: [LotAllocation(lotId: "P:P-77", points: 20)], expiries: [later])),
        .tierChanged(.init(member: "M0001", from: "silver", to: "gold", reason: "qualified", qualifyingValue: 105_000,
                           windowFrom: Timestamp(rfc3339: "2025-03-15T10:30:00Z")!, windowTo: at, floorUntil: nil)),
        .rewardDefined(.init(rewardId: "mug", name: "Branded mug", cost: 250, stock: 500, budget: 100_000)),
        .programPublished(ProgramRules.default),
        .cardIssued(.init(member: "M0001", number: "カード-0012", key: nil, replaces: "4000-0011")),
        .cardBlocked(member: "M0001", number: "4000-0011", reason: "lost"),
        .tierSet(.init(member: "M0001", key: "TS-3", tier: "gold", from: "silver", reason: "complaint: status match", operatorId: "anna",
                       floor: true, until: later)),
        .targetSet(.init(store: "S012", period: "2026-11", metric: "enrollments", value: 300)),
    ]
}

@Suite struct GoldenTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("schemas/events/fixtures")

    @Test func everyEventTypeHasASample() {
        #expect(Set(Samples.events.map(\.type)) == Set(DomainEvent.allTypes))
    }

    @Test(arguments: DomainEvent.allTypes)
    func jsonFormsMatchTheFixtures(_ type: String) throws {
        let event = try #require(Samples.events.first { $0.type == type })
        let json = JSONCanonical.encode(event.json)
        let jsonURL = Self.fixtures.appendingPathComponent("\(event.type).json")
        if ProcessInfo.processInfo.environment["LEDGER_UPDATE_GOLDEN"] == "1" { try Data(json + [0x0A]).write(to: jsonURL) }
        let expectedJSON = try Data(contentsOf: jsonURL)
        #expect(Array(expectedJSON) == json + [0x0A], "\(event.type): JSON differs from \(jsonURL.lastPathComponent)")
        // And back: the fixture decodes to the same event.
        let decoded = try DomainEvent.decode(type: event.type, schemaVersion: 1,
                                             json: try JSONCanonical.parse(String(decoding: expectedJSON.dropLast(), as: UTF8.self)))
        #expect(decoded == event)
    }
}

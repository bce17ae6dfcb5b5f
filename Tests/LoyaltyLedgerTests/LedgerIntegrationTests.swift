import Foundation
import LedgerStore
import LoyaltyLedger
import Testing
@testable import LoyaltyDomain

@Suite struct LedgerIntegrationTests {
    func path() -> String { NSTemporaryDirectory() + "ledger-it-" + UUID().uuidString }

    @Test(.timeLimit(.minutes(1)))
    func twentyConcurrentRedemptionsOfOneHundredAgainstOneHundredPointsExactlyOneSucceeds() async throws {
        let dir = path()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ledger = try Ledger.open(path: dir, create: true)
        let now = Timestamp.now()
        try await ledger.execute(.enroll(member: "M1", store: "S1", brand: "main", channel: "store", birthDate: nil, gender: nil, profile: [:], at: now))
        try await ledger.execute(.purchase(.init(member: "M1", purchaseId: "P1", amount: "100.00", store: "S1", at: now)))
        let results = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<20 {
                group.addTask {
                    (try? await ledger.execute(.redeem(member: "M1", points: 100, redemptionId: "R\(i)", reward: nil, at: now))) != nil
                }
            }
            var out: [Bool] = []
            for await r in group { out.append(r) }
            return out
        }
        #expect(results.filter { $0 }.count == 1)
        #expect(try ledger.balance("M1", at: now)?.available == 0)
        ledger.close()
    }

    @Test func replaysReturnTheOriginalOutcomeAndTheModelIsRebuiltFromTheLogAtOpen() async throws {
        let dir = path()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let at = Timestamp(rfc3339: "2026-02-01T10:00:00Z")!
        var ledger = try Ledger.open(path: dir, create: true)
        try await ledger.execute(.enroll(member: "M1", store: "S1", brand: "main", channel: "store", birthDate: nil, gender: nil, profile: [:], at: at))
        let first = try await ledger.execute(.purchase(.init(member: "M1", purchaseId: "P1", amount: "42.00", store: "S1", at: at)))
        #expect(first.events.map(\.event.type) == ["purchase.recorded", "points.earned"])
        let again = try await ledger.execute(.purchase(.init(member: "M1", purchaseId: "P1", amount: "42.00", store: "S1", at: at)))
        #expect(again.replayed && again.originalPosition == first.events[0].position && again.events.isEmpty)
        await #expect(throws: DomainError.idempotencyConflict(key: "purchase:P1")) {
            try await ledger.execute(.purchase(.init(member: "M1", purchaseId: "P1", amount: "43.00", store: "S1", at: at)))
        }
        let before = try ledger.balance("M1", at: at)
        ledger.close()
        ledger = try Ledger.open(path: dir)
        #expect(try ledger.balance("M1", at: at) == before)
        #expect(try ledger.log.headPosition() == 3)
        #expect(try ledger.log.verify().isValid)
        ledger.close()
    }
}

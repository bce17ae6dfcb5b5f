import Foundation
import LedgerStore
import LoyaltyLedger
import PropertyBased
import Projections
import Testing
@testable import LoyaltyDomain

/// The projections, fed through the real log, agree with the deliberately simple reference ledger
/// (balances lot by lot, member views' purchase figures) after random histories, caught up in
/// several increments along the way.
@Suite struct ProjectionReferenceTests {
    @Test(.timeLimit(.minutes(3)))
    func balancesAndMemberViewsEqualTheReferenceOverRandomHistories() async throws {
        await propertyCheck(count: 8, input: Gen.int(in: 0...Int.max)) { seed in
            let dir = NSTemporaryDirectory() + "projection-ref-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: dir) }
            // One sync per commit instead of two: this test is about folds, not durability.
            let ledger = try Ledger.open(path: dir, create: true) { $0.lmdb.durability = .relaxed }
            defer { ledger.close() }
            let projections = try LedgerProjections(log: ledger.log)
            projections.eventsPerStep = 20  // many small checkpointed steps
            var history = ReferenceHistory(seed: UInt64(seed))
            for command in history.enrollments { try await ledger.execute(command) }
            for step in 0..<120 {
                guard let (command, accepted, _) = history.next(step: step) else { continue }
                let ok: Bool
                do { try await ledger.execute(command); ok = true } catch is DomainError { ok = false }
                #expect(ok == accepted, "step \(step): \(command)")
                if step % 30 == 29 { try check(projections, history, step: step) }
            }
            try check(projections, history, step: 120)
        }
    }

    private func check(_ projections: LedgerProjections, _ history: ReferenceHistory, step: Int) throws {
        try projections.catchUp()
        let now = Timestamp(microseconds: history.now)
        for p in history.people {
            let b = try #require(try projections.balance(p, at: now), "member \(p) has a balance")
            history.expectAgreement(b, p, step: step)
            let view = try #require(try projections.memberView(p))
            let purchases = history.ref.purchases.values.filter { $0.member == p }
            #expect(view.purchaseCount == Int64(purchases.count), "step \(step) \(p) purchase count")
            #expect(view.totalSpend == purchases.reduce(0) { $0 + $1.amount - $1.returned }, "step \(step) \(p) spend net of returns")
            #expect(view.enrollmentStore == "S1")
        }
        for name in LedgerProjections.names {
            let d = try projections.checkDeterminism(name)
            #expect(d.live == d.rebuilt, "\(name): live digest equals a fresh fold's")
        }
    }
}

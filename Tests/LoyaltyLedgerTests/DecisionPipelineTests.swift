import Foundation
import LedgerStore
@testable import LoyaltyLedger
import Testing
@testable import LoyaltyDomain

/// Decisions are made ahead, on the caller's thread, and queued to the writer in the order made
/// (`ModelKeeper`). These tests pin what that must keep: the log's order is the decisions' order, a
/// decision resting on one that failed in the log is decided again, and the model always ends equal
/// to a fresh fold of the log.
@Suite struct DecisionPipelineTests {
    func path() -> String { NSTemporaryDirectory() + "ledger-pipe-" + UUID().uuidString }
    let at = Timestamp(rfc3339: "2026-02-01T10:00:00Z")!

    func enroll(_ m: String) -> Command {
        .enroll(member: m, store: "S1", brand: "main", channel: "store", birthDate: nil, gender: nil, profile: [:], at: at)
    }

    func purchase(_ m: String, _ id: String, _ amount: String) -> Command {
        .purchase(.init(member: m, purchaseId: id, amount: amount, store: "S1", at: at))
    }

    /// Closes `ledger` after reading every member's balance from its live model (the log plus the
    /// decisions made ahead and applied), then checks them against a fresh fold of the log (a
    /// read-only reopen), and the log's chain.
    func expectModelMatchesTheLog(_ ledger: Ledger, _ dir: String, members: [String]) throws {
        let live = try members.map { try ledger.balance($0, at: at) }
        #expect(try ledger.modelPosition() == ledger.log.headPosition())
        ledger.close()
        let folded = try Ledger.open(path: dir, writable: false)
        defer { folded.close() }
        #expect(try folded.log.verify().isValid)
        for (m, balance) in zip(members, live) {
            #expect(try folded.balance(m, at: at) == balance, "\(m): the live model against a fold of the log")
        }
    }

    @Test func batchesQueuedBackToBackReachTheLogInTheOrderTheyWereDecided() async throws {
        let dir = path()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ledger = try Ledger.open(path: dir, create: true)
        // Each batch needs the one before it: enrolled, then bought, then spent.
        let members = (0..<50).map { "M\($0)" }
        let enrolled = ledger.submitBatch(members.map(enroll))
        let bought = ledger.submitBatch(members.map { purchase($0, "P-\($0)", "10.00") })
        let spent = ledger.submitBatch(members.map { .redeem(member: $0, points: 10, redemptionId: "R-\($0)", reward: nil, at: at) })
        for batch in [enrolled, bought, spent] {
            let items = try await batch.value()
            #expect(items.allSatisfy { if case .written = $0 { true } else { false } }, "\(items.prefix(3))")
        }
        #expect(try ledger.log.headPosition() == 50 + 100 + 50)
        var types: [String] = []
        for e in try ledger.log.events(after: 0, limit: 1_000) where e.member == "M7" { types.append(e.type) }
        #expect(types == ["member.enrolled", "purchase.recorded", "points.earned", "points.redeemed"])
        #expect(try ledger.balance("M7", at: at)?.available == 0)
        try expectModelMatchesTheLog(ledger, dir, members: members)
    }

    @Test func aDecisionQueuedBehindOneTheLogRefusesIsDecidedAgain() async throws {
        let dir = path()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ledger = try Ledger.open(path: dir, create: true)
        try await ledger.execute(enroll("M1"))
        // A raw event holding the key the purchase's first event will carry: the model does not
        // know it, so it decides the purchase, and the log refuses the batch (a key conflict).
        _ = try await ledger.log.append(EventDraft(type: "test.marker", member: "other", occurredAt: at.microseconds,
                                                   data: Array("{}".utf8), idempotencyKey: "purchase:P1#0"))
        let refused = ledger.submitBatch([purchase("M1", "P1", "100.00")])
        // Decided with the purchase's 100 points already applied to the model.
        let redemption = ledger.submitBatch([.redeem(member: "M1", points: 100, redemptionId: "R1", reward: nil, at: at)])
        await #expect(throws: LedgerError.self) { try await refused.value() }
        let items = try await redemption.value()
        guard case .refused(let error) = items.first else {
            Issue.record("the redemption rested on points the log refused and must be refused too: \(items)")
            return
        }
        #expect(error as? DomainError == .insufficientPoints(member: "M1", requested: 100, spendable: 0))
        #expect(try ledger.balance("M1", at: at)?.available == 0)
        #expect(try ledger.balance("M1", at: at)?.redeemed == 0)
        // The model was folded anew and decides on: the next purchase earns and stands.
        let next = try await ledger.execute(purchase("M1", "P2", "7.00"))
        #expect(next.events.count == 2)
        #expect(try ledger.balance("M1", at: at)?.available == 7)
        #expect(try ledger.log.headPosition() == 4)
        try expectModelMatchesTheLog(ledger, dir, members: ["M1"])
    }

    /// The round trip runs where each event is encoded, on the writer thread (`Ledger.drafts`):
    /// an event that would not read back (here a lot available in year 10000, past the stored
    /// times' range, which only a deciding bug could make) fails its request with the event
    /// named, nothing of it is written, and the model is folded anew from the log.
    @Test func anEventThatWouldNotReadBackFailsItsRequestAndNothingIsWritten() async throws {
        let dir = path()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ledger = try Ledger.open(path: dir, create: true)
        try await ledger.execute(enroll("M1"))
        let year10000 = Timestamp(microseconds: DomainLimits.timeMax.microseconds + 1)
        let bad = DomainEvent.pointsEarned(.init(member: "M1", lotId: "B:far", points: 5, source: .bonus("far"), ruleVersion: 0,
                                                 rule: "test", availableAt: year10000, expiresAt: nil))
        let command = Command.adjust(member: "M1", points: 5, reason: "test", operatorId: "op", key: "far", at: at)
        await #expect(throws: DomainError.self) {
            _ = try await ledger.decideAndAppend { model in
                var decided = ModelKeeper.Decided()
                try decided.append([bad], of: command, applyingTo: &model)
                return (decided, ())
            }
        }
        #expect(try ledger.log.headPosition() == 1, "nothing of the request is written")
        #expect(try ledger.balance("M1", at: at)?.earned == 0, "a read after the failure folds the model anew")
        let next = try await ledger.execute(purchase("M1", "P1", "3.00"))
        #expect(next.events.count == 2)
        #expect(try ledger.balance("M1", at: at)?.earned == 3, "the bad lot is gone from the model")
        try expectModelMatchesTheLog(ledger, dir, members: ["M1"])
    }

    @Test(.timeLimit(.minutes(1)))
    func domainEventsAppendedRawBesideDecisionsMadeAheadKeepTheModelEqualToTheLog() async throws {
        let dir = path()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ledger = try Ledger.open(path: dir, create: true)
        try await ledger.execute(enroll("M1"))
        // A raw credit (not decided by the ledger) races a redemption that needs it: whichever
        // order the log gets, the model must end as a fold of that log.
        for i in 0..<40 {
            let credit = DomainEvent.pointsAdjusted(.init(member: "M1", key: "raw-\(i)", points: 10, reason: "test", operatorId: "op",
                                                          lotId: "A:raw-\(i)", expiresAt: nil))
            let draft = EventDraft(type: credit.type, member: "M1", occurredAt: at.microseconds, data: credit.canonicalJSON,
                                   idempotencyKey: "adjust:raw-\(i)#0")
            async let raw = ledger.log.append([draft])
            let spend = ledger.submitBatch([.redeem(member: "M1", points: 10, redemptionId: "R\(i)", reward: nil, at: at)])
            _ = try await raw
            _ = try await spend.value()
        }
        try expectModelMatchesTheLog(ledger, dir, members: ["M1"])
    }

    @Test(.timeLimit(.minutes(1)))
    func concurrentCommandsAndBatchesLeaveTheModelEqualToTheLog() async throws {
        let dir = path()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ledger = try Ledger.open(path: dir, create: true)
        let members = (0..<8).map { "M\($0)" }
        _ = try await ledger.executeBatch(members.map(enroll))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<6 {
                group.addTask {
                    for i in 0..<40 {
                        let m = members[(worker + i) % members.count]
                        switch i % 4 {
                        case 0, 1:
                            _ = try await ledger.execute(self.purchase(m, "P-\(worker)-\(i)", "\(3 + i % 7).50"))
                        case 2:
                            // Refused when too few points: the race this guards is on the model.
                            _ = try? await ledger.execute(.redeem(member: m, points: 5, redemptionId: "R-\(worker)-\(i)", reward: nil, at: self.at))
                        default:
                            let batch = (0..<5).map { self.purchase(members[($0 + i) % members.count], "B-\(worker)-\(i)-\($0)", "1.00") }
                            _ = try await ledger.submitBatch(batch).value()
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        var total: Int64 = 0
        for m in members { total += try ledger.balance(m, at: at)?.available ?? 0 }
        #expect(total > 0)
        try expectModelMatchesTheLog(ledger, dir, members: members)
    }
}

import Foundation
import LedgerStore
import Testing
@testable import LoyaltyDomain
@testable import LoyaltyLedger

/// The ledger never queues events the model refused, and a stored event the model cannot fold is
/// named to every command instead of trapping.
@Suite struct FoldDefenceLedgerTests {
    func path() -> String { NSTemporaryDirectory() + "ledger-fold-" + UUID().uuidString }
    let at = Timestamp(rfc3339: "2026-02-01T10:00:00Z")!

    func enrolled(_ dir: String) async throws -> Ledger {
        let ledger = try Ledger.open(path: dir, create: true)
        try await ledger.execute(.enroll(member: "M1", store: "S1", brand: "main", channel: "store", birthDate: nil, gender: nil, profile: [:], at: at))
        return ledger
    }

    func adjust(_ points: Points, key: String) -> Command {
        .adjust(member: "M1", points: points, reason: "test", operatorId: "op", key: key, at: at)
    }

    func eventCount(_ log: EventLog) throws -> Int { try log.events(after: 0, limit: 1_000).count }

    @Test(.timeLimit(.minutes(1)))
    func aCommandWhoseEventsWouldPassTheTotalsIsRefusedWithNothingWrittenAndTheModelUnchanged() async throws {
        let dir = path()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ledger = try await enrolled(dir)
        defer { ledger.close() }
        // A program that already moved all but 10 points of its limit (reached through commands,
        // that takes millions of them).
        ledger.keeper.model.withLock { $0.model.pointsMoved = FoldLimits.movedTotalMaxPoints - 10 }
        let before = try ledger.withModel { ($0.eventCount, $0.pointsMoved, $0.members["M1"]?.adjusted) }
        do {
            try await ledger.execute(adjust(11, key: "K1"))
            Issue.record("accepted past the limit")
        } catch let error as DomainError {
            guard case .cannotApply(let fold) = error else { Issue.record("\(error)"); return }
            #expect(fold.code == .limitExceeded)
            #expect("\(error)".contains("would pass its limit of \(FoldLimits.movedTotalMaxPoints)"), "\(error)")
        }
        #expect(try eventCount(ledger.log) == 1, "only the enrollment")
        let after = try ledger.withModel { ($0.eventCount, $0.pointsMoved, $0.members["M1"]?.adjusted) }
        #expect(after == before)
        // A batch: the refused command is skipped, the others stand, in order.
        let items = try await ledger.executeBatch([adjust(4, key: "K2"), adjust(7, key: "K3"), adjust(6, key: "K4")])
        let outcome = items.map { item -> String in
            switch item {
            case .written: return "written"
            case .replayed: return "replayed"
            case .refused: return "refused"
            }
        }
        #expect(outcome == ["written", "refused", "written"])
        #expect(try eventCount(ledger.log) == 3)
        #expect(try ledger.balance("M1", at: at)?.adjusted == 10)
        #expect(try ledger.withModel { $0.pointsMoved } == FoldLimits.movedTotalMaxPoints)
    }

    @Test func theDecidedRecordAndTheModelStayAsTheyWereWhenEventsDoNotApply() throws {
        var state = DecisionState(store: nil)
        try state.model.apply(.memberEnrolled(.init(member: "M1", brand: "main", store: "S1", channel: "store", birthDate: nil, gender: nil, profile: [:])), at: at)
        var decided = ModelKeeper.Decided()
        let command = adjust(-5, key: "K1")
        let bad: [DomainEvent] = [.pointsAdjusted(.init(member: "M1", key: "K1", points: -5, reason: "test", operatorId: "op",
                                                        allocations: [LotAllocation(lotId: "P:nope", points: 5)]))]
        #expect(throws: DomainError.self) { try decided.append(bad, of: command, applyingTo: &state) }
        #expect(decided.eventCount == 0 && decided.commands.isEmpty && state.model.eventCount == 1)
        #expect(state.model.members["M1"]?.adjusted == 0 && state.model.members["M1"]?.adjustmentKeys.isEmpty == true && state.dirty.isEmpty)
    }

    /// Appends `data` as a raw event of `type` straight to the log, as a damaged or foreign writer would.
    func appendRaw(_ dir: String, type: String, data: String) async throws {
        var options = EventLogOptions()
        options.writable = true
        let log = try EventLog.open(path: dir, options: options)
        defer { log.close() }
        _ = try await log.append([EventDraft(type: type, member: "M1", occurredAt: at.microseconds, data: Array(data.utf8))])
    }

    @Test(.timeLimit(.minutes(1)))
    func aStoredEventThatDoesNotApplyOrDecodeIsNamedAtOpenNeverATrap() async throws {
        let dir = path()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await enrolled(dir).close()
        try await appendRaw(dir, type: "points.redeemed",
                            data: #"{"allocations":[{"lotId":"P:nope","points":5}],"member":"M1","points":5,"redemptionId":"R1"}"#)
        do {
            _ = try Ledger.open(path: dir)
            Issue.record("opened")
        } catch let error as StoredEventError {
            #expect(error.position == 2)
            #expect("\(error)" == "event at position 2 (points.redeemed, member M1) cannot be applied: member 'M1' has no lot 'P:nope' (allocation of 5 points)")
        }
        // The log itself still reads and verifies; and it opens again (nothing left locked).
        var options = EventLogOptions()
        options.writable = false
        let log = try EventLog.open(path: dir, options: options)
        #expect(try eventCount(log) == 2)
        log.close()

        let other = path()
        defer { try? FileManager.default.removeItem(atPath: other) }
        try await enrolled(other).close()
        try await appendRaw(other, type: "points.earned", data: #"{"points":5}"#)
        #expect { _ = try Ledger.open(path: other) } throws: { error in
            "\(error)".hasPrefix("event at position 2 (points.earned, member M1) cannot be applied: it does not decode")
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aBadEventAppendedRawWhileOpenRefusesTheNextCommandsAndReadsByName() async throws {
        let dir = path()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ledger = try await enrolled(dir)
        defer { ledger.close() }
        _ = try await ledger.log.append([EventDraft(type: "points.expired", member: "M1", occurredAt: at.microseconds,
                                                    data: Array(#"{"lotId":"P:nope","member":"M1","points":3}"#.utf8))])
        for key in ["K1", "K2"] {
            do {
                try await ledger.execute(adjust(5, key: key))
                Issue.record("decided on a model that cannot follow the log")
            } catch let error as StoredEventError {
                #expect(error.position == 2 && error.type == "points.expired", "\(error)")
            }
        }
        #expect(throws: StoredEventError.self) { try ledger.balance("M1", at: at) }
        #expect(try eventCount(ledger.log) == 2)
    }
}

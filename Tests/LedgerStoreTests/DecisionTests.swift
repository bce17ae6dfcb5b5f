import Foundation
import Synchronization
import Testing
@testable import LedgerStore

/// A toy balance model kept current through `CommitObserver`, as the domain's model is.
final class BalanceModel: CommitObserver {
    struct State { var committed: [String: Int] = [:]; var staged: [String: Int] = [:] }
    let state = Mutex(State())

    func balance(_ member: String) -> Int {
        state.withLock { $0.staged[member] ?? $0.committed[member, default: 0] }
    }
    func groupStarted() { state.withLock { $0.staged = [:] } }
    func staged(_ events: StagedEvents) {
        state.withLock { s in
            for e in events {
                let delta = Int(String(decoding: e.data, as: UTF8.self).dropFirst(5).dropLast())!
                s.staged[e.member] = (s.staged[e.member] ?? s.committed[e.member, default: 0]) + delta
            }
        }
    }
    func groupEnded(committed: Bool) {
        state.withLock { s in
            if committed { s.committed.merge(s.staged) { $1 } }
            s.staged = [:]
        }
    }
}

struct InsufficientPoints: Error {}

@Suite struct DecisionTests {
    @Test(.timeLimit(.minutes(1)))
    func concurrentRedemptionsAgainstOneBalanceNeverBothSucceed() async throws {
        let dir = TemporaryDirectory()
        let model = BalanceModel()
        let log = try openLog(dir.ledger) { $0.commitObserver = model }
        defer { log.close() }
        _ = try await log.append(draft("m1", data: #"{"d":100}"#))
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<20 {
                group.addTask {
                    do {
                        _ = try await log.append(deciding: {
                            guard model.balance("m1") >= 100 else { throw InsufficientPoints() }
                            return [draft("m1", "points.redeemed", key: "r\(i)", data: #"{"d":-100}"#)]
                        })
                        return true
                    } catch {
                        #expect(error is InsufficientPoints)
                        return false
                    }
                }
            }
            var results: [Bool] = []
            for await r in group { results.append(r) }
            return results
        }
        #expect(outcomes.filter { $0 }.count == 1, "exactly one of 20 redemptions of 100 against 100 points")
        #expect(model.balance("m1") == 0)
        #expect(try log.headPosition() == 2)
    }

    @Test func aDecisionThatReturnsNothingWritesNothing() async throws {
        let dir = TemporaryDirectory()
        let log = try openLog(dir.ledger)
        defer { log.close() }
        let result = try await log.append(deciding: { [] })
        #expect(result.events.isEmpty)
        #expect(try log.headPosition() == 0)
    }
}

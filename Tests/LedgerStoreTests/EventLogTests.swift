import Foundation
import Testing
@testable import LedgerStore

@Suite struct EventLogTests {
    @Test func appendsAndReadsBack() async throws {
        let dir = TemporaryDirectory()
        let log = try openLog(dir.ledger)
        let result = try await log.append([draft("m1"), draft("m2"), draft("m1")])
        #expect(result.events.map(\.position) == [1, 2, 3])
        #expect(result.events.map(\.version) == [1, 1, 2])
        #expect(result.headPosition == 3)
        let events = try log.events(after: 0, limit: 10, withHashes: true)
        #expect(events.map(\.member) == ["m1", "m2", "m1"])
        #expect(events[2].previousPosition == 1)
        #expect(try log.head().hash == events[2].hash)
        #expect(try log.stream(member: "m1").map(\.position) == [1, 3])
        #expect(try log.memberVersion("m1") == 2)
        #expect(try log.memberVersion("nobody") == 0)
        log.close()
    }

    @Test func recordedAtNeverDecreases() async throws {
        let dir = TemporaryDirectory()
        let log = try openLog(dir.ledger)
        for i in 0..<20 { _ = try await log.append(draft("m\(i % 3)")) }
        let events = try log.events(after: 0, limit: 100)
        #expect(zip(events, events.dropFirst()).allSatisfy { $0.recordedAt <= $1.recordedAt })
        log.close()
    }
}

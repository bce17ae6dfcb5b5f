import Foundation
import Testing
@testable import LedgerStore

@Suite struct ConcurrencyTests {
    /// Many concurrent appenders and a tail alongside: every event exactly once, gapless positions,
    /// contiguous member versions, and the tail sees exactly the committed sequence.
    @Test(.timeLimit(.minutes(2)))
    func concurrentAppendersAndATailAgreeWithTheLog() async throws {
        let dir = TemporaryDirectory()
        let log = try openLog(dir.ledger) { $0.indexFlushIntervalMilliseconds = 25; $0.indexFlushEntries = 500 }
        defer { log.close() }
        let appenders = 64, perAppender = 60
        let total = appenders * perAppender
        let tail = Task {
            var seen: [RecordedEvent] = []
            for try await event in log.subscribe(after: 0) {
                seen.append(event)
                if seen.count == total { break }
            }
            return seen
        }
        let acknowledged = try await withThrowingTaskGroup(of: [(String, AppendedEvent)].self) { group in
            for a in 0..<appenders {
                group.addTask {
                    var mine: [(String, AppendedEvent)] = []
                    for i in 0..<perAppender {
                        let key = "a\(a)-\(i)"
                        // Every third append is a small batch, the rest single events.
                        if i % 3 == 0 {
                            let result = try await log.append([draft("m\((a + i) % 17)", key: key)])
                            mine.append((key, result.events[0]))
                        } else {
                            mine.append((key, try await log.append(draft("m\((a * 7 + i) % 17)", key: key))))
                        }
                    }
                    return mine
                }
            }
            var all: [(String, AppendedEvent)] = []
            for try await part in group { all += part }
            return all
        }
        let events = try allEvents(log)
        #expect(events.count == total)
        #expect(events.map(\.position) == Array(1...UInt64(total)), "gapless")
        #expect(Set(events.compactMap(\.idempotencyKey)).count == total, "every event exactly once")
        let byKey = Dictionary(uniqueKeysWithValues: events.map { ($0.idempotencyKey!, $0) })
        for (key, ack) in acknowledged {
            #expect(byKey[key]?.position == ack.position && byKey[key]?.version == ack.version)
        }
        var versions: [String: UInt64] = [:]
        for event in events {
            #expect(event.version == versions[event.member, default: 0] + 1, "versions contiguous for \(event.member)")
            versions[event.member] = event.version
        }
        let tailed = try await tail.value
        #expect(tailed.map(\.position) == events.map(\.position))
        #expect(tailed.map(\.idempotencyKey) == events.map(\.idempotencyKey))
        #expect(tailed.last?.hash == (try log.head().hash))
        #expect(try log.verify().isValid)
    }

    /// A tail started in the middle resumes after its checkpoint, with the right hashes.
    @Test(.timeLimit(.minutes(1)))
    func aTailResumesFromACheckpoint() async throws {
        let dir = TemporaryDirectory()
        let log = try openLog(dir.ledger)
        defer { log.close() }
        // Seven commits of 100 (700 fsynced commits outlast the time limit on a loaded machine).
        for start in stride(from: 0, to: 700, by: 100) { _ = try await log.append((start..<start + 100).map { draft("m\($0 % 9)") }) }
        let full = try log.events(after: 0, limit: 4096, withHashes: true)
        var resumed: [RecordedEvent] = []
        for try await event in log.subscribe(after: 300, follow: false) { resumed.append(event) }
        #expect(resumed.map(\.position) == Array(301...700))
        #expect(resumed.map(\.hash) == full[300...].map(\.hash))
    }
}

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

@Suite struct AppendRulesTests {
    @Test func expectedVersionIsCheckedAndAMismatchWritesNothing() async throws {
        let dir = TemporaryDirectory()
        let log = try openLog(dir.ledger)
        defer { log.close() }
        _ = try await log.append([draft("m1", expected: 0), draft("m1", expected: 1)])
        await #expect(throws: LedgerError.wrongExpectedVersion(member: "m1", expected: 1, actual: 2, eventIndex: 1)) {
            try await log.append([draft("m2"), draft("m1", expected: 1)])
        }
        #expect(try log.headPosition() == 2, "the failed batch wrote nothing, not even its valid first event")
        #expect(try log.memberVersion("m2") == 0)
        let ok = try await log.append(draft("m1", expected: 2))
        #expect(ok.position == 3 && ok.version == 3)
    }

    @Test func invalidDraftsAreRejectedWithTheirField() async throws {
        let dir = TemporaryDirectory()
        let log = try openLog(dir.ledger)
        defer { log.close() }
        await #expect(throws: LedgerError.invalidEvent(eventIndex: 1, field: "member", reason: "must not be empty")) {
            try await log.append([draft("m1"), draft("")])
        }
        let big = EventDraft(type: "t", member: "m", occurredAt: 0, data: [UInt8](repeating: 65, count: LogLimits.dataBytesMax + 1))
        await #expect(throws: LedgerError.self) { try await log.append(big) }
        await #expect(throws: LedgerError.invalidBatchSize(count: 0, max: LogLimits.batchEventsMax)) { try await log.append([]) }
        #expect(try log.headPosition() == 0)
    }

    @Test func idempotentReplayReturnsTheOriginalOutcomeAndConflictsAreRejected() async throws {
        let dir = TemporaryDirectory()
        var log = try openLog(dir.ledger)
        let first = try await log.append([draft("m1", key: "k1"), draft("m2", key: "k2")])
        _ = try await log.append(draft("m1"))
        let replay = try await log.append([draft("m1", key: "k1"), draft("m2", key: "k2")])
        #expect(replay.events.map(\.position) == first.events.map(\.position))
        #expect(replay.events.allSatisfy { $0.deduplicated })
        #expect(replay.events.map(\.recordedAt) == first.events.map(\.recordedAt))
        #expect(try log.headPosition() == 3)
        await #expect(throws: LedgerError.idempotencyConflict(key: "k1", position: 1, eventIndex: 0)) {
            try await log.append(draft("m1", key: "k1", data: #"{"amount":9999}"#))
        }
        // A replay mixed with a new event: the replay is answered, the new one appended.
        let mixed = try await log.append([draft("m2", key: "k2"), draft("m3", key: "k3")])
        #expect(mixed.events.map(\.deduplicated) == [true, false])
        #expect(mixed.events[1].position == 4)
        // Same key twice inside one batch: the second is a replay of the first.
        let twice = try await log.append([draft("m4", key: "k4"), draft("m4", key: "k4")])
        #expect(twice.events[0].position == twice.events[1].position && twice.events[1].deduplicated)

        // Permanent: after close (index flushed) and reopen, and after the index is deleted.
        log.close()
        log = try openLog(dir.ledger)
        #expect(try await log.append(draft("m1", key: "k1")).deduplicated)
        log.close()
        try FileManager.default.removeItem(atPath: dir.ledger + "/index")
        log = try openLog(dir.ledger)
        #expect(try await log.append(draft("m1", key: "k1")).position == 1)
        await #expect(throws: LedgerError.self) { try await log.append(draft("m1", key: "k1", data: "{}")) }
        #expect(try log.memberVersion("m1") == 2)
        #expect(try log.verify().isValid)
        log.close()
    }

    @Test func idempotencyHoldsWhileEntriesAreOnlyInTheOverlay() async throws {
        let dir = TemporaryDirectory()
        let log = try openLog(dir.ledger) { $0.indexFlushIntervalMilliseconds = 60_000; $0.indexFlushEntries = 1 << 30 }
        defer { log.close() }
        for i in 0..<200 { _ = try await log.append(draft("m\(i % 7)", key: "key-\(i)")) }
        for i in stride(from: 0, to: 200, by: 13) {
            let again = try await log.append(draft("m\(i % 7)", key: "key-\(i)"))
            #expect(again.deduplicated && again.position == UInt64(i + 1))
        }
        #expect(try log.headPosition() == 200)
    }

    @Test func streamsSurviveReopenAndIndexLoss() async throws {
        let dir = TemporaryDirectory()
        var log = try openLog(dir.ledger)
        for i in 0..<300 { _ = try await log.append(draft("m\(i % 3)")) }
        log.close()
        try FileManager.default.removeItem(atPath: dir.ledger + "/index")
        log = try openLog(dir.ledger)
        #expect(try log.stream(member: "m1").map(\.version) == Array(1...100))
        // The header-only walk finds the same positions, and `events(at:)` the same events.
        let positions = try log.streamPositions(member: "m1")
        #expect(positions == (try log.stream(member: "m1").map(\.position)))
        #expect(try log.events(at: positions[10..<20]) == Array(try log.stream(member: "m1")[10..<20]))
        #expect(try log.streamPositions(member: "nobody").isEmpty)
        let next = try await log.append(draft("m1", expected: 100))
        #expect(next.version == 101)
        log.close()
    }
}

@Suite struct MapGrowthAndTamperTests {
    @Test func theMapGrowsFromATinySizeAndStopsAtItsCeiling() async throws {
        let dir = TemporaryDirectory()
        let log = try openLog(dir.ledger) { $0.lmdb.mapSizeBytes = 64 << 10; $0.lmdb.mapSizeMaxBytes = 4 << 20 }
        defer { log.close() }
        let payload = String(repeating: "x", count: 900)
        for i in 0..<200 { _ = try await log.append(draft("m\(i % 10)", data: #"{"p":"\#(payload)"}"#)) }
        #expect(try log.headPosition() == 200)
        let grown = try log.stats().mapSizeBytes
        #expect(grown > 64 << 10)
        // Keep going until the ceiling: a clear "ledger full" and nothing of that batch written.
        var full: LedgerError?
        var before: UInt64 = 0
        for _ in 0..<100 {
            before = try log.headPosition()
            do {
                _ = try await log.append((0..<100).map { i in draft("m\(i)", data: #"{"p":"\#(payload)"}"#) })
            } catch let error as LedgerError {
                full = error
                break
            }
        }
        #expect(full == .ledgerFull(mapSizeMaxBytes: 4 << 20))
        #expect(try log.headPosition() == before)
        #expect(try log.verify().isValid)
    }

    @Test func verifyNamesTheFirstTamperedPosition() async throws {
        let dir = TemporaryDirectory()
        var log = try openLog(dir.ledger)
        for i in 0..<600 { _ = try await log.append(draft("m\(i % 5)", data: #"{"amount":\#(1000 + i)}"#)) }
        log.close()
        // Rewrite event 300's amount, keeping the record well-formed: only the chain can tell.
        let env = try LMDBEnvironment.open(path: dir.ledger)
        let events = try env.database("events", create: false)
        try env.write { txn in
            let key = ByteCoding.positionKey(300)
            var record = try #require(try txn.value(events, key: key))
            let text = Array("1299".utf8)
            let at = try #require(record.indices.first { Array(record[$0..<min($0 + 4, record.count)]) == text })
            record.replaceSubrange(at..<(at + 4), with: Array("9299".utf8))
            try txn.put(events, key: key, value: record)
        }
        log = try openLog(dir.ledger, writable: false)
        let report = try log.verify()
        #expect(!report.isValid)
        #expect(report.firstBadPosition == 512, "the first checkpoint after the change catches it")
    }

    @Test func verifyCatchesABrokenRecordAndABadIndexEntry() async throws {
        let dir = TemporaryDirectory()
        var log = try openLog(dir.ledger)
        for i in 0..<50 { _ = try await log.append(draft("m\(i % 5)", key: "k\(i)")) }
        log.close()
        let index = try LMDBEnvironment.open(path: dir.ledger + "/index")
        let members = try index.database("members", create: false)
        try index.write { txn in
            try txn.put(members, key: Array("m3".utf8), value: ByteCoding.positionKey(9) + ByteCoding.positionKey(4))
        }
        log = try openLog(dir.ledger, writable: false)
        let report = try log.verify()
        #expect(report.problems.contains { $0.what.contains("index head of member 'm3'") })

        let env = try LMDBEnvironment.open(path: dir.ledger)
        let events = try env.database("events", create: false)
        try env.write { txn in
            var record = try #require(try txn.value(events, key: ByteCoding.positionKey(20)))
            record[0] = 9  // unknown record format
            try txn.put(events, key: ByteCoding.positionKey(20), value: record)
        }
        let broken = try log.verify()
        #expect(broken.firstBadPosition == 20)
    }
}

@Suite struct TextAndBatchRulesTests {
    @Test func idsMustBeNFCSoThatBytesAndStringsAgree() async throws {
        let dir = TemporaryDirectory()
        let log = try openLog(dir.ledger)
        defer { log.close() }
        _ = try await log.append(draft("caf\u{E9}"))  // NFC
        await #expect(throws: LedgerError.invalidEvent(eventIndex: 0, field: "member",
                                                       reason: "is not in Unicode normalization form C (NFC); normalize it before appending")) {
            try await log.append(draft("cafe\u{301}"))  // NFD of the same name
        }
        await #expect(throws: LedgerError.invalidEvent(eventIndex: 0, field: "schemaVersion", reason: "must be at least 1")) {
            try await log.append(EventDraft(type: "t", schemaVersion: 0, member: "m", occurredAt: 0, data: []))
        }
        #expect(try log.verify().isValid)
    }

    @Test func aKeyRepeatedInOneBatchIsComparedLikeAReplayFromAnEarlierBatch() async throws {
        let dir = TemporaryDirectory()
        let log = try openLog(dir.ledger)
        defer { log.close() }
        // Differing only in expectedVersion: the same request, answered with the first's outcome.
        let result = try await log.append([draft("m1", key: "k", expected: 0), draft("m1", key: "k", expected: 7)])
        #expect(result.events[1].deduplicated && result.events[1].position == 1)
        #expect(result.events[1].recordedAt == result.events[0].recordedAt && result.events[1].recordedAt > 0)
        await #expect(throws: LedgerError.idempotencyConflict(key: "k2", position: 0, eventIndex: 1)) {
            try await log.append([draft("m1", key: "k2"), draft("m1", key: "k2", data: #"{"other":1}"#)])
        }
    }

    @Test func verifyFindsAnExtraChainKey() async throws {
        let dir = TemporaryDirectory()
        do {
            let log = try openLog(dir.ledger)
            for i in 0..<300 { _ = try await log.append(draft("m\(i % 3)")) }
            log.close()
        }
        let env = try LMDBEnvironment.open(path: dir.ledger)
        let chain = try env.database("chain", create: false)
        try env.write { txn in try txn.put(chain, key: ByteCoding.positionKey(100), value: [UInt8](repeating: 1, count: 32)) }
        let report = try openLog(dir.ledger, writable: false).verify()
        #expect(report.problems.contains { $0.what.contains("not a checkpoint position") })
    }

    /// Batches of `ChainHasher.batchMin` events or more are hashed on a second thread while the
    /// writer plans them: the chain must come out exactly as one thread would make it, across
    /// checkpoints, replays inside the batch, a refused batch (the job is dropped), and a batch
    /// after it; a small batch in the same group hashes inline from the same head.
    @Test func largeBatchesChainExactlyLikeSmallOnes() async throws {
        let dir = TemporaryDirectory()
        let log = try openLog(dir.ledger)
        defer { log.close() }
        _ = try await log.append((0..<10).map { draft("m\($0 % 3)", key: "s\($0)") })
        var big = (0..<300).map { draft("m\($0 % 7)", key: "b\($0)") }
        big[150] = draft("m1", key: "s4")  // a replay of an earlier batch's event, in the middle
        big[151] = draft("m0", key: "b0")  // a replay of this batch's first event
        let first = try await log.append(big)
        #expect(first.events[150].deduplicated && first.events[150].position == 5)
        #expect(first.events[151].deduplicated && first.events[151].position == 11)
        #expect(first.events.filter { !$0.deduplicated }.map(\.position) == Array(11...308))
        // Refused at its last event: nothing of it is written, and the next batch chains on.
        var refused = (0..<200).map { draft("m\($0 % 5)", key: "r\($0)") }
        refused[199] = draft("m1", key: "b1", data: #"{"other":1}"#)  // b1 with another request: a conflict
        await #expect(throws: LedgerError.self) { try await log.append(refused) }
        let after = try await log.append((0..<300).map { draft("m\($0 % 11)", key: "a\($0)") })
        #expect(after.events.map(\.position) == Array(309...608))
        // Concurrent small and large requests, committed in shared groups.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for t in 0..<8 {
                group.addTask {
                    for i in 0..<20 {
                        let n = i % 2 == 0 ? 1 : 100
                        _ = try await log.append((0..<n).map { draft("c\(t)-\($0 % 3)", key: "c\(t)-\(i)-\($0)") })
                    }
                }
            }
            try await group.waitForAll()
        }
        let report = try log.verify()
        #expect(report.isValid, "\(report.problems)")
        #expect(report.eventCount == 608 + 8 * (10 * 1 + 10 * 100))
        #expect(report.head.hash == (try log.head()).hash)
    }
}

/// The lean header read of partitioned projection runs (`EventRecord.peek`,
/// `EventLog.forEachEvent(where:)`) against the full one.
@Suite struct PeekTests {
    @Test func peekAgreesWithTheFullReadAndNeverReadsPastTheBytes() async throws {
        let dir = TemporaryDirectory()
        let log = try openLog(dir.ledger)
        // Ids and types of several lengths (long ids take a two-byte length), keys or not, non-ASCII ids.
        var drafts: [EventDraft] = []
        for i in 0..<60 {
            let member = i % 3 == 0 ? "m\(i)" : i % 3 == 1 ? "mémbre-\(i)-" + String(repeating: "x", count: 130) : "M\(i)"
            drafts.append(EventDraft(type: i % 2 == 0 ? "purchase.recorded" : "t." + String(repeating: "y", count: 100), member: member,
                                     occurredAt: 1_795_515_330_000_000 + Int64(i), data: Array(#"{"amount":1250}"#.utf8),
                                     idempotencyKey: i % 4 == 0 ? "key-\(i)" : nil))
        }
        _ = try await log.append(drafts)
        var checked = 0
        try log.forEachRecord(after: 0, limit: 100) { at, bytes in
            let view = try EventRecord.checkedView(position: at, bytes)
            let peeked = try #require(EventRecord.peek(bytes))
            #expect(peeked.recordedAt == view.recordedAt)
            #expect(Array(peeked.member) == Array(view.member))
            // Cut short anywhere: nil, or the same id when the cut comes after it.
            for cut in 0..<bytes.count {
                let short = UnsafeRawBufferPointer(rebasing: bytes[..<cut])
                if let p = EventRecord.peek(short) { #expect(Array(p.member) == Array(view.member), "cut at \(cut)") }
            }
            checked += 1
        }
        #expect(checked == 60)
        // `where:` hands over exactly the records it accepts, and walks all of them.
        var accepted: [UInt64] = []
        let walked = try log.forEachEvent(after: 0, limit: 100, where: { $0.first == UInt8(ascii: "m") }) { accepted.append($0.position) }
        #expect(walked.count == 60)
        #expect(accepted == drafts.indices.filter { drafts[$0].member.hasPrefix("m") }.map { UInt64($0 + 1) })
        #expect(walked.lastRecordedAt == (try log.event(at: 60))?.recordedAt)
    }
}

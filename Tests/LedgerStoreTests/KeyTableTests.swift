import Foundation
import Testing
@testable import LedgerStore

@Suite struct KeyTableTests {
    /// A clean close stores the counts, so the next open reads 4 KiB instead of every slot; a
    /// writer's open marks them stale until its own clean close (a crash leaves them stale).
    @Test func aCleanCloseStoresTheCountsAndAWritersOpenMarksThemStale() throws {
        let dir = TemporaryDirectory()
        let path = dir.path + "/keys.table"
        func countedMark() throws -> UInt64 {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            return bytes[16..<24].enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        }
        do {
            let table = try #require(try KeyTable.open(path: path, writable: true, logHead: 5_000))
            try table.insert((1...5_000).map { (hash: KeyHash.of("key-\($0)"), position: UInt64($0)) })
            #expect(try countedMark() == 0, "stale while a writer has it open")
        }
        #expect(try countedMark() == KeyTable.countedMark)
        let reader = try #require(try KeyTable.open(path: path, writable: false, logHead: 5_000))
        #expect(reader.entryCount == 5_000 && reader.highestPosition == 5_000)
        do {
            let writer = try #require(try KeyTable.open(path: path, writable: true, logHead: 5_000))
            #expect(writer.entryCount == 5_000 && writer.highestPosition == 5_000)
            #expect(try countedMark() == 0)
        }
        // Counts that cannot describe the table are ignored: the slots are counted instead.
        let fd = open(path, O_RDWR)
        var absurd = UInt64.max.littleEndian
        #expect(pwrite(fd, &absurd, 8, 24) == 8)
        close(fd)
        #expect(try KeyTable.open(path: path, writable: false, logHead: 5_000)?.entryCount == 5_000)
    }

    @Test func growsAndFindsEveryEntryAndReinsertIsANoOp() throws {
        let dir = TemporaryDirectory()
        let table = try #require(try KeyTable.open(path: dir.path + "/keys.table", writable: true, logHead: 200_000))
        #expect(table.slotCount == 1 << KeyTable.slotBitsInitial)
        let entries = (1...200_000).map { (hash: KeyHash.of("key-\($0)"), position: UInt64($0)) }
        for chunk in stride(from: 0, to: entries.count, by: 50_000) {
            try table.insert(Array(entries[chunk..<(chunk + 50_000)]))
        }
        #expect(table.entryCount == 200_000)
        #expect(table.slotCount >= 200_000 * 4 / 3, "load stays at or under 3/4")
        try table.insert(Array(entries[0..<1000]))
        #expect(table.entryCount == 200_000, "re-inserting after a crash adds nothing")
        for e in entries where e.position % 97 == 0 {
            var found: [UInt64] = []
            table.candidates(hash: e.hash, into: &found)
            #expect(found.contains(e.position))
        }
        var none: [UInt64] = []
        table.candidates(hash: KeyHash.of("never-inserted"), into: &none)
        #expect(none.allSatisfy { entries[Int($0) - 1].hash >> 40 == KeyHash.of("never-inserted") >> 40 })
        // Survives reopen with the same content.
        let again = try #require(try KeyTable.open(path: dir.path + "/keys.table", writable: false, logHead: 200_000))
        #expect(again.entryCount == 200_000 && again.slotCount == table.slotCount)
    }

    @Test func verifyCatchesATamperedKeyTableSlot() async throws {
        let dir = TemporaryDirectory()
        do {
            let log = try openLog(dir.ledger)
            for i in 0..<100 { _ = try await log.append(draft("m\(i % 4)", key: "k\(i)")) }
            log.close()
        }
        // Point one slot at an event whose key has another fingerprint.
        let path = dir.ledger + "/index/keys.table"
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let slot = try #require(stride(from: KeyTable.headerBytes, to: bytes.count, by: 8).first { i in bytes[i..<(i + 8)].contains { $0 != 0 } })
        bytes[slot] ^= 0x01  // flips a fingerprint bit
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let log = try openLog(dir.ledger, writable: false)
        let report = try log.verify()
        #expect(report.problems.contains { $0.what.contains("idempotency") }, "\(report.problems)")
    }

    /// The writer puts each commit's keys into the table right after the commit. A crash under
    /// relaxed durability can lose commits the table already names; the next open must not keep
    /// entries for positions the log will reuse, and keys appended again must deduplicate.
    @Test func aTableNamingPositionsPastTheHeadIsRebuiltAtOpen() async throws {
        let dir = TemporaryDirectory()
        do {
            let log = try openLog(dir.ledger)
            for i in 0..<50 { _ = try await log.append(draft("m\(i % 4)", key: "k\(i)")) }
            log.close()
        }
        // As if positions 51...60 had been committed, keyed, and then lost with the log's tail.
        do {
            let table = try #require(try KeyTable.open(path: dir.ledger + "/index/keys.table", writable: true, logHead: 60))
            try table.insert((51...60).map { (hash: KeyHash.of("lost-\($0)"), position: UInt64($0)) })
            try table.sync()
            #expect(table.highestPosition == 60)
        }
        let log = try openLog(dir.ledger)
        defer { log.close() }
        // Position 51 now carries another key; the lost one is not a duplicate of anything.
        let fresh = try await log.append(draft("m1", key: "other-51"))
        #expect(fresh.position == 51 && !fresh.deduplicated)
        let lost = try await log.append(draft("m1", key: "lost-51"))
        #expect(lost.position == 52 && !lost.deduplicated)
        let replay = try await log.append(draft("m0", key: "k0"))
        #expect(replay.deduplicated && replay.position == 1)
        let report = try log.verify()
        #expect(report.isValid, "\(report.problems)")
    }

    /// `verify` beside a writer that keeps adding keys: entries for commits after the verifier's
    /// snapshot are not problems.
    @Test func verifyBesideALiveWriterFindsNoProblem() async throws {
        let dir = TemporaryDirectory()
        let log = try openLog(dir.ledger)
        defer { log.close() }
        for i in 0..<200 { _ = try await log.append(draft("m\(i % 8)", key: "a\(i)")) }
        let appender = Task {
            for i in 0..<2_000 { _ = try await log.append(draft("m\(i % 8)", key: "b\(i)")) }
        }
        let reader = try openLog(dir.ledger, writable: false)
        for _ in 0..<5 {
            let report = try reader.verify()
            #expect(report.isValid, "\(report.problems)")
        }
        try await appender.value
    }
}

import Foundation
import Testing
@testable import LedgerStore

/// `verify` checks the layout rules of schemas/ledger-format.md that no record decoder sees:
/// the keys of `events` (I1), the keys of `meta` (5.1, I7), the named databases and their flags (3).
@Suite(.timeLimit(.minutes(1))) struct LayoutVerifyTests {
    private func ledger(_ dir: borrowing TemporaryDirectory, count: Int = 300) async throws -> EventLog {
        var options = EventLogOptions()
        options.create = true
        let log = try EventLog.open(path: dir.ledger, options: options)
        let drafts = (1...count).map { i in
            EventDraft(type: "purchase.recorded", member: "M\(i % 7)", occurredAt: 1_795_515_330_000_000 + Int64(i), data: Array("{}".utf8))
        }
        _ = try await log.append(drafts)
        return log
    }

    private func put(_ log: EventLog, _ db: LMDBDatabase, _ key: [UInt8], _ value: [UInt8]) throws {
        try log.store.env.write { txn throws in try txn.put(db, key: key, value: value) }
    }

    @Test func anIntactLedgerHasNoLayoutProblem() async throws {
        let dir = TemporaryDirectory()
        let log = try await ledger(dir)
        defer { log.close() }
        let report = try log.verify()
        #expect(report.isValid, "\(report.problems)")
        #expect(report.head.position == 300)
    }

    @Test func aKeyZeroInEventsIsNamedAtPositionOne() async throws {
        let dir = TemporaryDirectory()
        let log = try await ledger(dir)
        defer { log.close() }
        try put(log, log.store.events, ByteCoding.positionKey(0), try #require(try log.recordBytes(at: 1)))
        let report = try log.verify()
        #expect(report.firstBadPosition == 1)
        #expect(report.problems.first?.what.contains("not u64be(1)") == true)
    }

    @Test func aThreeByteKeyAfterTheHeadIsAProblemNotAnError() async throws {
        let dir = TemporaryDirectory()
        let log = try await ledger(dir)
        defer { log.close() }
        try put(log, log.store.events, [0xFF, 0xFF, 0xFF], [1])
        let report = try log.verify()
        #expect(report.firstBadPosition == 301)
        #expect(report.problems.first?.what.contains("ffffff (3 bytes) after position 300") == true)
    }

    @Test func metaHoldsOnlyItsThreeKeysAndCreatedAtHasEightBytes() async throws {
        let dir = TemporaryDirectory()
        let log = try await ledger(dir, count: 3)
        defer { log.close() }
        try put(log, log.store.meta, Array("note".utf8), [1])
        try put(log, log.store.meta, Array("createdAt".utf8), [0, 0, 0, 0, 0, 0, 1])
        let problems = try log.verify().problems.map(\.what)
        #expect(problems.contains { $0.contains("meta holds the key") && $0.contains("'note'") })
        #expect(problems.contains { $0.contains("meta/createdAt is 7 bytes, not 8") })
        #expect(try log.verify().firstBadPosition == nil)
    }

    @Test func unnamedDatabasesAndStoredFlagsAreProblems() async throws {
        let dir = TemporaryDirectory()
        let log = try await ledger(dir, count: 3)
        defer { log.close() }
        _ = try log.store.env.database("notes", create: true)
        #expect(try log.verify().problems.contains { $0.what.contains("data.mdb holds the database 'notes'") })
        let dups = try log.store.env.database("dups", flags: .duplicateSort, create: true)
        try put(log, dups, [1], [2])
        var report = VerificationReport(head: LogHead(position: 0, hash: .genesis, recordedAt: 0))
        try log.store.env.read { txn in
            try LMDBLayout.checkDatabases(txn, allowed: ["meta", "events", "chain", "neutralised", "notes", "dups"], file: "data.mdb", report: &report)
        }
        #expect(report.problems.map(\.what) == ["data.mdb: database 'dups' was created with MDB_DUPSORT; every database has default flags (3)"])
    }

    @Test func aStoredSchemaVersionZeroIsCorrupt() async throws {
        let dir = TemporaryDirectory()
        let log = try await ledger(dir, count: 3)
        defer { log.close() }
        var record = try #require(try log.recordBytes(at: 2))
        record[2] = 0
        try put(log, log.store.events, ByteCoding.positionKey(2), record)
        let report = try log.verify()
        #expect(report.firstBadPosition == 2)
        #expect(report.problems.first?.what.contains("schemaVersion") == true)
    }
}

import Foundation
import LedgerTestSupport
import Testing
@testable import LedgerStore

/// `EventLog.appendReplicated` and `RecordPage`: a replica's log is its primary's byte for byte,
/// and a record whose chain hash does not follow from the replica's own chain is never stored.
@Suite struct ReplicationStoreTests {
    /// A primary of `count` events over 7 members, some keyed, crossing chain checkpoints.
    static func primary(_ path: String, count: Int = 600) async throws -> EventLog {
        let log = try openLog(path)
        var drafts: [EventDraft] = []
        for i in 0..<count {
            drafts.append(draft("m\(i % 7)", key: i % 3 == 0 ? "k\(i)" : nil, data: #"{"amount":\#(i)}"#))
            if drafts.count == 100 { _ = try await log.append(drafts); drafts = [] }
        }
        if !drafts.isEmpty { _ = try await log.append(drafts) }
        return log
    }

    static func page(_ log: EventLog, after: UInt64, limit: Int) throws -> RecordPage {
        try RecordPage.decode(try #require(try log.encodedRecordPage(after: after, limit: limit)).bytes)
    }

    static func replica(_ path: String, of primary: EventLog) throws -> EventLog {
        let identity = try primary.identity()
        return try openLog(path) { $0.replicaOf = identity }
    }

    @Test func aReplicaHoldsThePrimarysRecordsChainAndIdentity() async throws {
        let dir = TemporaryDirectory()
        let primary = try await Self.primary(dir.path + "/p")
        defer { primary.close() }
        let replica = try Self.replica(dir.path + "/r", of: primary)
        defer { replica.close() }
        var after: UInt64 = 0
        while after < (try primary.headPosition()) {
            let page = try Self.page(primary, after: after, limit: 111)
            let replicaHead = try replica.head().hash
            #expect(page.after == after && page.previousHash == replicaHead)
            #expect(page.ledgerId == primary.ledgerIdentifier && page.head == 600)
            let result = try await replica.appendReplicated(page.records)
            after = result.headPosition
        }
        #expect(try replica.head() == primary.head())
        #expect(try replica.identity() == primary.identity())
        for p in [UInt64(1), 255, 256, 257, 512, 600] { #expect(try replica.recordBytes(at: p) == primary.recordBytes(at: p)) }
        #expect(try allEvents(replica) == allEvents(primary))
        #expect(try replica.stream(member: "m3") == primary.stream(member: "m3"))
        #expect(try replica.position(ofKey: "k300") == 301)
        let report = try replica.verify()
        #expect(report.isValid, "\(report.problems)")
        #expect(report.chainCheckpointCount == 2)
        // A page past the head is none; at the head, an empty page.
        #expect(try primary.encodedRecordPage(after: 601, limit: 10) == nil)
        #expect(try Self.page(primary, after: 600, limit: 10).records.isEmpty)
    }

    @Test func aRecordAlteredInTransitIsRefusedAndTheRecordsBeforeItAreKept() async throws {
        let dir = TemporaryDirectory()
        let primary = try await Self.primary(dir.path + "/p", count: 300)
        defer { primary.close() }
        let replica = try Self.replica(dir.path + "/r", of: primary)
        defer { replica.close() }
        var page = try Self.page(primary, after: 0, limit: 300)
        let good = page.records[136]
        page.records[136].record[page.records[136].record.count - 2] ^= 0x20
        var refusal: ReplicationRefusal?
        do {
            _ = try await replica.appendReplicated(page.records)
        } catch let r as ReplicationRefusal {
            refusal = r
        }
        let r = try #require(refusal)
        #expect(r.position == 137 && r.isChainMismatch && r.receivedHash == good.hash && r.expectedHash != good.hash)
        #expect(r.description.hasPrefix("position 137: chain mismatch (expected hash "))
        #expect(try replica.headPosition() == 136)
        #expect(try replica.verify().isValid)
        // Out of order, then the true records from there on.
        await #expect(throws: ReplicationRefusal.self) { try await replica.appendReplicated(Array(page.records[200...])) }
        _ = try await replica.appendReplicated([good] + Array(page.records[137...]))
        #expect(try replica.head() == primary.head())
    }

    @Test func aHashThatIsNotTheChainsIsRefusedAndAnotherLedgerIsNoReplica() async throws {
        let dir = TemporaryDirectory()
        let primary = try await Self.primary(dir.path + "/p", count: 10)
        defer { primary.close() }
        let replica = try Self.replica(dir.path + "/r", of: primary)
        defer { replica.close() }
        var page = try Self.page(primary, after: 0, limit: 10)
        page.records[4].hash = ChainHash.genesis
        await #expect(throws: ReplicationRefusal.self) { try await replica.appendReplicated(page.records) }
        #expect(try replica.headPosition() == 4)
        // An existing ledger of another id is not a replica of the primary.
        let other = try openLog(dir.path + "/o")
        other.close()
        #expect(throws: LedgerError.self) { try Self.replica(dir.path + "/o", of: primary) }
    }

    @Test func neutralisationsReachTheReplicasTable() async throws {
        let dir = TemporaryDirectory()
        let primary = try await Self.primary(dir.path + "/p", count: 20)
        defer { primary.close() }
        let correcting = EventDraft(type: Neutralisation.eventType, member: "ledger", occurredAt: 1_795_515_330_000_000,
                                    data: Array(#"{"position":5,"reason":"test"}"#.utf8),
                                    idempotencyKey: Neutralisation.idempotencyKey(neutralising: 5))
        _ = try await primary.appendNeutralisation(correcting, neutralising: 5)
        let replica = try Self.replica(dir.path + "/r", of: primary)
        defer { replica.close() }
        _ = try await replica.appendReplicated(try Self.page(primary, after: 0, limit: 100).records)
        #expect(try replica.neutralisedPositions() == [5: 21])
        #expect(try replica.verifyNeutralisations().problems.isEmpty)
    }

    @Test func aMalformedPageIsRefusedNamingTheField() throws {
        let page = RecordPage(ledgerId: Array(repeating: 7, count: 16), createdAtMicros: 1, after: 3, previousHash: .genesis, head: 5,
                              records: [ReplicatedRecord(position: 4, record: [1, 2, 3], hash: .genesis)])
        let bytes = page.encoded()
        #expect(try RecordPage.decode(bytes) == page)
        #expect(throws: (any Error).self) { try RecordPage.decode(Array(bytes.dropLast())) }
        #expect(throws: (any Error).self) { try RecordPage.decode(bytes + [0]) }
        #expect(throws: (any Error).self) { try RecordPage.decode([]) }
    }
}

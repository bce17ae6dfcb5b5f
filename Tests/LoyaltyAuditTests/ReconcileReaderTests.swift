import Foundation
import LedgerStore
@testable import LoyaltyAudit
import LoyaltyDomain
import Synchronization
import Testing

/// The pieces of reconcile's pipelined reader: in-place reads of the log, the bounded queue to
/// the fold threads, and the split of members over partitions.
@Suite struct ReconcileReaderTests {
    func rawLog() throws -> (EventLog, String) {
        let dir = NSTemporaryDirectory() + "audit-reader-" + UUID().uuidString
        var options = EventLogOptions()
        options.create = true
        return (try EventLog.open(path: dir, options: options), dir)
    }

    @Test(.timeLimit(.minutes(1)))
    func eventsReadInPlaceHaveTheFieldsOfCopiedEvents() async throws {
        let (log, dir) = try rawLog()
        defer { log.close(); try? FileManager.default.removeItem(atPath: dir) }
        _ = try await log.append([
            EventDraft(type: "custom.note", member: "Zoë", occurredAt: -5, data: Array(#"{"a":1}"#.utf8), idempotencyKey: "K1"),
            EventDraft(type: "points.adjusted", schemaVersion: 2, member: "Y", occurredAt: 7, data: Array("{}".utf8)),
            EventDraft(type: "purchase.recorded", member: "Zoë", occurredAt: 9, data: Array(#"{"b":2}"#.utf8)),
        ])
        let copied = try log.events(after: 0, limit: 10)
        var seen: [String] = []
        let count = try log.forEachEvent(after: 0, limit: 10) { v in
            seen.append("\(v.position) \(v.recordedAt) \(v.occurredAt) \(v.schemaVersion) \(String(decoding: v.type, as: UTF8.self)) "
                        + "\(String(decoding: v.member, as: UTF8.self)) \(String(decoding: v.data, as: UTF8.self))")
        }
        #expect(count == 3)
        #expect(seen == copied.map { "\($0.position) \($0.recordedAt) \($0.occurredAt) \($0.schemaVersion) \($0.type) \($0.member) \(String(decoding: $0.data, as: UTF8.self))" })
        // Limits: after a position, at most `limit`, none past the head.
        var positions: [UInt64] = []
        let one = try log.forEachEvent(after: 1, limit: 1) { positions.append($0.position) }
        let none = try log.forEachEvent(after: 3, limit: 5) { positions.append($0.position) }
        #expect(one == 1 && none == 0 && positions == [2])
    }

    @Test(.timeLimit(.minutes(1)))
    func theQueueKeepsOrderAndHoldsBackTheProducerAtItsDepth() throws {
        let queue = BatchQueue<Int>(depthMax: 2)
        let taken = Mutex<[Int]>([])
        let consumer = Thread {
            while let n = queue.take() { taken.withLock { $0.append(n) } }
            queue.markFinished()
        }
        consumer.start()
        for n in 1...500 { queue.put(n) }
        queue.put(nil)
        queue.waitFinished()
        #expect(taken.withLock { $0 } == Array(1...500))
    }

    @Test(.timeLimit(.minutes(1)))
    func membersOnlySeenInPurchasesAreCheckedOnEveryPartitionCount() async throws {
        let (log, dir) = try rawLog()
        defer { log.close(); try? FileManager.default.removeItem(atPath: dir) }
        // Purchases move no points and are not decoded, yet their members exist; a raw event and
        // one on the program stream are skipped.
        var drafts = (0..<40).map { i in
            EventDraft(type: "purchase.recorded", member: "M\(i)", occurredAt: Int64(i), data: Array(#"{"not":"decoded"}"#.utf8))
        }
        drafts.append(EventDraft(type: "custom.note", member: "RAW", occurredAt: 50, data: []))
        drafts.append(EventDraft(type: "purchase.recorded", member: DomainEvent.programStream, occurredAt: 51, data: []))
        _ = try await log.append(drafts)
        let members = Dictionary(uniqueKeysWithValues: (0..<40).map { ("M\($0)", MemberFigures()) })
        for partitions in [1, 2, 3, 7] {
            let r = try Reconciler(evaluatedAt: Timestamp(microseconds: 100), partitions: partitions, batchEvents: 6)
                .run(log: log, source: FixedSource(through: 42, members: members))
            #expect(r.matched, "\(r.summary())")
            #expect(r.membersChecked == 40 && r.eventsFolded == 40)
        }
        // Every partition gets some of the 40 members (the split is by the id's bytes).
        let owners = Set((0..<40).map { i in Array("M\(i)".utf8).withUnsafeBytes { Reconciler.partition($0, 3) } })
        #expect(owners == [0, 1, 2])
    }
}

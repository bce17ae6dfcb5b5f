import Foundation
public import LedgerStore
public import LoyaltyDomain
import Synchronization

/// `loyalty reconcile`: folds the whole log with `SimpleFold` (partitioned by member over the
/// cores, in bounded batches with one short read transaction each) and compares every member's
/// figures with a `BalanceSource`; checks the identity per member and program-wide.
public struct Reconciler: Sendable {
    public var evaluatedAt: Timestamp
    public var partitions: Int
    public var batchEvents: Int

    public init(evaluatedAt: Timestamp, partitions: Int = 2, batchEvents: Int = 4_096) {
        precondition(partitions >= 1 && partitions <= 64, "1 to 64 partitions")
        precondition(batchEvents >= 1 && batchEvents <= LogLimits.readBatchEventsMax, "batch within the log's read limit")
        self.evaluatedAt = evaluatedAt
        self.partitions = partitions
        self.batchEvents = batchEvents
    }

    /// One partition's fold; touched by one thread at a time (the lock is never contended:
    /// partition i is used by its fold thread during the run, by the caller only after it ended).
    final class Partition: Sendable {
        let state = Mutex(State())
        struct State { var fold = SimpleFold(); var faults: [String] = [] }
    }

    /// The fold state of a finished run, handed back by `runKeepingFold` so that a process about
    /// to exit can skip tearing down every member's dictionaries of lots one by one.
    public final class Fold: Sendable {
        let parts: [Partition]
        init(_ parts: [Partition]) { self.parts = parts }
    }

    /// One member event for a fold thread, copied out of the log by the reader (`type` nil: it
    /// moves no points and only registers `member`). Decoding is left to the fold threads, so
    /// that the one reader thread does not hold them all back.
    struct Item: Sendable {
        let position: UInt64
        let occurredAt: Int64
        let member: String
        let type: String?
        let schemaVersion: UInt32
        let data: [UInt8]
    }

    /// One batch of the log split by partition: each event read and assigned once (not by every
    /// partition walking and hashing the whole batch).
    struct Batch: Sendable {
        var items: [[Item]]
        /// The position of the batch's last event.
        var last: UInt64 = 0
    }

    public func run(log: EventLog, source: any BalanceSource) throws -> ReconcileReport {
        try runKeepingFold(log: log, source: source).report
    }

    /// `run`, also returning the fold state (release it, or exit, as the caller prefers).
    public func runKeepingFold(log: EventLog, source: any BalanceSource) throws -> (report: ReconcileReport, fold: Fold) {
        let through = try source.position()
        let head = try log.head()
        guard through <= head.position else { throw AuditError("the balance source is at position \(through), past the log head \(head.position)") }
        let parts = (0..<partitions).map { _ in Partition() }
        try foldLog(log, through: through, into: parts)
        var hash = ChainHash.genesis
        if through > 0, let e = try log.events(after: through - 1, limit: 1, withHashes: true).first, let h = e.hash { hash = h }
        var members: [String: SimpleFold.Member] = [:]
        var faults: [String] = []
        var folded = 0
        for p in parts {
            p.state.withLock { s in
                members.merge(s.fold.members) { a, _ in a }
                faults += s.faults
                folded += s.fold.eventsFolded
            }
        }
        var report = try compare(members, source: source)
        report.headPosition = through
        report.headHash = hash.hex
        report.eventsFolded = folded
        report.faults = faults + report.faults
        return (report, Fold(parts))
    }

    /// Batches a fold thread may fall behind the reader (bounded memory: about 4,096 events each).
    static let queueDepthMax = 8

    /// Folds positions 1...through, pipelined: the calling thread reads batches (in place,
    /// decoding what moves points, working out each event's partition) while one thread per
    /// partition applies the batches before. Plain threads, not `concurrentPerform` per batch: its barrier every
    /// 4,096 events left the two cores taking turns.
    private func foldLog(_ log: EventLog, through: UInt64, into parts: [Partition]) throws {
        let queues = parts.map { _ in BatchQueue<Batch>(depthMax: Self.queueDepthMax) }
        for (i, (part, queue)) in zip(parts, queues).enumerated() {
            let thread = Thread {
                while let batch = queue.take() { Self.fold(batch, partition: i, into: part) }
                queue.markFinished()
            }
            thread.name = "reconcile-fold-\(i)"
            thread.start()
        }
        // Every path (a read error too) ends the streams and waits, so no thread outlives the run.
        defer {
            for q in queues { q.put(nil) }
            for q in queues { q.waitFinished() }
        }
        var position: UInt64 = 0
        while let batch = try read(log, after: position, through: through) {
            position = batch.last
            for q in queues { q.put(batch) }
        }
    }

    /// The batch after `position` (nil once `through` is reached): read in place; of the events
    /// that move no points only the member is kept.
    private func read(_ log: EventLog, after position: UInt64, through: UInt64) throws -> Batch? {
        guard position < through else { return nil }
        let limit = Int(min(UInt64(batchEvents), through - position))
        var batch = Batch(items: Array(repeating: [], count: partitions))
        for i in batch.items.indices { batch.items[i].reserveCapacity(limit / partitions + 64) }
        var next = position + 1
        let count = try log.forEachEvent(after: position, limit: limit) { v in
            // Gapless positions: a batch that skips one would silently lose events.
            guard v.position == next else { throw AuditError("position \(next): the log skips to \(v.position)") }
            next += 1
            guard let item = Self.item(v) else { return }
            batch.items[partitions == 1 ? 0 : Self.partition(v.member, partitions)].append(item)
        }
        guard count > 0 else { throw AuditError("the log ends at position \(position), before \(through)") }
        guard count <= limit && next == position + UInt64(count) + 1 else { throw AuditError("position \(position + 1): the read went past its limit") }
        batch.last = position + UInt64(count)
        return batch
    }

    /// What the folds need of one event (nil: a raw or program event).
    private static func item(_ v: EventView) -> Item? {
        guard v.neutralisedBy == nil else { return nil }  // every fold skips a neutralised event
        // `purchase.recorded` (a third of a retail log) moves no points: one comparison of
        // bytes, no text made of its type, no copy of its data.
        let pointType: String?
        if v.type.elementsEqual(purchaseRecorded) {
            pointType = nil
        } else {
            let type = String(decoding: v.type, as: UTF8.self)
            if SimpleFold.pointTypes.contains(type) {
                pointType = type
            } else {
                guard DomainEvent.isDomainType(type) else { return nil }
                pointType = nil
            }
        }
        let member = String(decoding: v.member, as: UTF8.self)
        // Program events carry no points (a point type on the program stream is still decoded:
        // one that does not decode is a fault, as before).
        guard pointType != nil || member != DomainEvent.programStream else { return nil }
        return Item(position: v.position, occurredAt: v.occurredAt, member: member, type: pointType, schemaVersion: v.schemaVersion,
                    data: pointType == nil ? [] : [UInt8](v.data))
    }

    private static let purchaseRecorded = Array("purchase.recorded".utf8)

    private static func fold(_ batch: Batch, partition i: Int, into part: Partition) {
        part.state.withLock { (s: inout Partition.State) in
            for item in batch.items[i] {
                guard let type = item.type else { s.fold.register(member: item.member); continue }
                do {
                    let decoded = try item.data.withUnsafeBufferPointer { data throws(AuditError) in
                        do {
                            return try DomainEvent.decode(type: type, schemaVersion: item.schemaVersion, bytes: data)
                        } catch {
                            throw AuditError("position \(item.position) (\(type), member \(item.member)): does not decode: \(error)")
                        }
                    }
                    let event = decoded
                    s.fold.apply(event, position: item.position, occurredAt: Timestamp(microseconds: item.occurredAt))
                } catch {
                    s.faults.append("\(error)")
                }
            }
        }
    }

    /// A member's partition: FNV-1a of the id's UTF-8, stable within and across runs.
    static func partition(_ member: UnsafeRawBufferPointer, _ count: Int) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in member { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return Int(h % UInt64(count))
    }
}

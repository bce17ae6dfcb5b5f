import Dispatch
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

    /// One partition's fold; touched by one worker at a time (the lock is never contended:
    /// partition i is only used by iteration i of a `concurrentPerform`).
    final class Partition: Sendable {
        let state = Mutex(State())
        struct State { var fold = SimpleFold(); var faults: [String] = [] }
    }

    /// The fold state of a finished run, handed back by `runKeepingFold` so that a process about
    /// to exit can skip tearing down millions of lots (seconds at 10 million events).
    public final class Fold: Sendable {
        let parts: [Partition]
        init(_ parts: [Partition]) { self.parts = parts }
    }

    /// One batch of the log with each event's partition, worked out once by the reader (not by
    /// every partition walking and hashing the whole batch).
    struct Batch: Sendable {
        var events: [RecordedEvent]
        var owner: [UInt8]
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

    /// Folds positions 1...through, pipelined: the calling thread reads batches (copying events
    /// out of LMDB and working out each event's partition) while one thread per partition folds
    /// the batches before. Plain threads, not `concurrentPerform` per batch: its barrier every
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
            position += UInt64(batch.events.count)
            for q in queues { q.put(batch) }
        }
    }

    /// The batch after `position` (nil once `through` is reached), each event's partition noted.
    private func read(_ log: EventLog, after position: UInt64, through: UInt64) throws -> Batch? {
        guard position < through else { return nil }
        let events = try log.events(after: position, limit: Int(min(UInt64(batchEvents), through - position)))
        guard let last = events.last else { throw AuditError("the log ends at position \(position), before \(through)") }
        // Gapless positions: a batch that skips one would silently lose events.
        precondition(last.position == position + UInt64(events.count), "log positions are gapless")
        let count = partitions
        return Batch(events: events, owner: count == 1 ? [UInt8](repeating: 0, count: events.count)
                     : events.map { UInt8(Self.partition($0.member, count)) })
    }

    private static func fold(_ batch: Batch, partition i: Int, into part: Partition) {
        let owner = UInt8(i)
        part.state.withLock { (s: inout Partition.State) in
            for (k, e) in batch.events.enumerated() where batch.owner[k] == owner {
                // Events that move no points are not decoded (a third of a retail log is
                // purchase.recorded): the member is only registered.
                guard SimpleFold.movesPoints(e.type) else {
                    if DomainEvent.isDomainType(e.type) && e.member != DomainEvent.programStream { s.fold.register(member: e.member) }
                    continue
                }
                do {
                    guard let event = try AuditEvents.decode(e) else { continue }
                    s.fold.apply(event, position: e.position, occurredAt: Timestamp(microseconds: e.occurredAt))
                } catch {
                    s.faults.append("\(error)")
                }
            }
        }
    }

    /// A member's partition: FNV-1a of the id, stable within and across runs.
    static func partition(_ member: String, _ count: Int) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in member.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return Int(h % UInt64(count))
    }
}

import Dispatch
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

    public func run(log: EventLog, source: any BalanceSource) throws -> ReconcileReport {
        let through = try source.position()
        let head = try log.head()
        guard through <= head.position else { throw AuditError("the balance source is at position \(through), past the log head \(head.position)") }
        let parts = (0..<partitions).map { _ in Partition() }
        var position: UInt64 = 0
        var hash = ChainHash.genesis
        while position < through {
            let batch = try log.events(after: position, limit: Int(min(UInt64(batchEvents), through - position)))
            guard let last = batch.last else { throw AuditError("the log ends at position \(position), before \(through)") }
            // Gapless positions: a batch that skips one would silently lose events.
            precondition(last.position == position + UInt64(batch.count), "log positions are gapless")
            fold(batch, into: parts)
            position = last.position
        }
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
        return report
    }

    private func fold(_ batch: [RecordedEvent], into parts: [Partition]) {
        let count = parts.count
        DispatchQueue.concurrentPerform(iterations: count) { i in
            parts[i].state.withLock { (s: inout Partition.State) in
                for e in batch where count == 1 || Self.partition(e.member, count) == i {
                    // Events that move no points are not decoded (a third of a retail log is
                    // purchase.recorded): the member is only registered.
                    guard SimpleFold.pointTypes.contains(e.type) else {
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
    }

    /// A member's partition: FNV-1a of the id, stable within and across runs.
    static func partition(_ member: String, _ count: Int) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in member.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return Int(h % UInt64(count))
    }
}

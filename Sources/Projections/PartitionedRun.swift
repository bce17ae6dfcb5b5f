import Foundation
import Dispatch
import Synchronization
import LedgerStore

/// Moves projections keyed by member (`ProjectionFold.keyedByMember`: balances, member views)
/// over a long stretch of the log on one thread per partition of the members, with no hand-off
/// between threads: thread `p` walks every record of the stretch, decodes only the events of the
/// members in its partition (by `KeyHash` of the member id's bytes) and applies them to its own
/// shard of each projection's cache. Each member's events are applied in log order by the one
/// thread that owns the member, which is all a fold keyed by member needs, so the result equals
/// a fold in log order.
///
/// Why: with one decoding thread feeding one thread per projection (`RunPipeline`) the work
/// divides as unevenly as the projections' costs differ, and every event crosses threads. Here
/// the threads do equal shares of the same work, and an event stays on the thread that decoded it.
///
/// Within a thread, events are applied a window at a time, grouped by member bucket (events of a
/// bucket in log order): a member's entries (its dictionary slot, balance, lots and view) are
/// brought into the cache once per window for all of that member's events in it, instead of once
/// per event.
///
/// Commits come at the same positions as a step-by-step run's (every `commitAfter` events and at
/// the end), after every thread has reached them, each projection's shards in one transaction
/// with its checkpoint. Before the end, the commit runs on another thread while the partitions
/// apply the next stretch (`ProjectionWorker.handOffPartitions`: it writes copies of the changed
/// entries, and the cache copies an entry's storage when next changed); it is confirmed before the
/// next commit. A failure leaves what was committed and forgets the rest; the error rethrown is
/// the one at the lowest position found. A commit that finds its projection moved by another
/// worker (nothing written) ends the run; the caller starts over from what is stored.
final class PartitionedRun: @unchecked Sendable {
    // @unchecked: while threads run, partition `p`'s thread is the only one to touch shard `p` of
    // each projection (`ProjectionWorker.apply(partition:)`), and the drivers' other state is only
    // read; commits and the rest run on the calling thread after every partition thread stopped.
    // `failure` is guarded by its mutex.
    private let drivers: [any ProjectionDriving]
    private let store: ProjectionStore
    private let role: ProjectionRole
    private let commitAfter: Int
    private let shape: Shape

    /// How a run divides its work (`LedgerProjections.partitionShape`; tests make it small).
    struct Shape: Sendable {
        /// Threads, one per partition of the members: one per core (at most 8: every thread walks
        /// every record, and past a few that walk dominates).
        var partitions = max(1, min(8, ProcessInfo.processInfo.activeProcessorCount))
        /// Events walked per window: a thread decodes its share of a window, then applies it
        /// bucket by bucket. Bounds memory (~windowEvents / partitions decoded events of ~250
        /// bytes per thread: 32 MB at 2 partitions). Large enough that a member's entries are
        /// loaded once for many of its events (see BENCHMARKS.md for the choice).
        var windowEvents = 262_144
        /// Buckets per thread (a power of two): a bucket's members' entries should fit in a core's
        /// cache (100,000 members over 2 partitions and 512 buckets: ~100 members a bucket).
        var buckets = 512
        /// Events read per read transaction of the log (short readers).
        var readEvents = 4_096
    }

    init(_ drivers: [any ProjectionDriving], store: ProjectionStore, role: ProjectionRole, commitAfter: Int, shape: Shape) {
        precondition(!drivers.isEmpty && drivers.allSatisfy(\.keyedByMember), "projections keyed by member")
        precondition(commitAfter > 0 && shape.partitions > 0 && shape.windowEvents > 0 && shape.readEvents > 0,
                     "commits, partitions, windows and reads of at least one")
        precondition(shape.buckets > 0 && shape.buckets & (shape.buckets - 1) == 0, "buckets: a power of two")
        self.drivers = drivers
        self.store = store
        self.role = role
        self.commitAfter = commitAfter
        self.shape = shape
    }

    var partitions: Int { shape.partitions }

    /// The lowest-positioned failure of any thread (`position`: where it stopped that thread).
    private let failure = Mutex<(position: UInt64, error: any Error)?>(nil)

    /// Applies (after, through] to every projection (each from its own checkpoint, at least
    /// `after`). `progress` is called on this thread with each projection's name and position.
    func run(_ log: EventLog, after: UInt64, through: UInt64, progress: (_ name: String, _ position: UInt64) -> Void) throws {
        var inFlight: InFlightCommit?
        do {
            var starts: [UInt64] = []
            for d in drivers { starts.append(max(after, try d.beginPartitions(role, count: partitions))) }
            var committed = starts
            var position = starts.min() ?? through
            while position < through {
                // Commits fall where a step-by-step run puts them: `commitAfter` past the last.
                let end = min(through, (committed.filter { $0 < through }.min() ?? position) + UInt64(commitAfter))
                let recordedAt = try walk(log, after: position, through: end, starts: starts) { reached in
                    for d in drivers { progress(d.name, reached) }
                }
                // The previous commit is confirmed before the next one builds on it.
                guard try Self.confirm(&inFlight) else { return abandon() }
                var handedOff: [PendingProjectionCommit] = []
                for (i, d) in drivers.enumerated() where end > committed[i] {
                    let due = end == through || end - committed[i] >= UInt64(commitAfter)
                    if due && end < through {
                        if let p = try d.handOffPartitions(role, through: end, recordedAt: recordedAt) { handedOff.append(p) }
                    } else {
                        try d.partitionsReached(role, through: end, recordedAt: recordedAt, commit: due)
                    }
                    if due { committed[i] = end }
                }
                if !handedOff.isEmpty { inFlight = InFlightCommit(store: store, pending: handedOff) {} }
                position = end
            }
            guard try Self.confirm(&inFlight) else { return abandon() }
            for d in drivers { d.endPartitions(role) }
        } catch {
            _ = try? Self.confirm(&inFlight)
            abandon()
            throw error
        }
    }

    /// Waits for a commit handed off and tells its projections how it went (once: `commit` is
    /// taken); false if one of them was moved by another worker (nothing of it written).
    /// Rethrows the commit's error.
    private static func confirm(_ inFlight: inout InFlightCommit?) throws -> Bool {
        guard let commit = inFlight else { return true }
        inFlight = nil
        switch commit.wait() {
        case .success(let written):
            for (p, w) in zip(commit.pending, written) { p.finish(w) }
            return !written.contains(false)
        case .failure(let error):
            for p in commit.pending { p.abandon() }
            throw error
        }
    }

    /// Forgets what every projection applied and did not commit, and drops the shards.
    private func abandon() {
        for d in drivers {
            d.reset(role)
            d.endPartitions(role)
        }
    }

    /// Every partition's thread applies (after, through]; this thread is partition 0. Returns
    /// when the event at `through` was recorded.
    private func walk(_ log: EventLog, after: UInt64, through: UInt64, starts: [UInt64],
                      progress: (UInt64) -> Void) throws -> Int64 {
        let group = DispatchGroup()
        for p in 1 ..< partitions {
            group.enter()
            let thread = Thread { [self] in
                _ = walkPartition(p, log, after: after, through: through, starts: starts) { _ in }
                group.leave()
            }
            thread.name = "projection partition \(p)"
            thread.start()
        }
        let recordedAt = walkPartition(0, log, after: after, through: through, starts: starts, progress: progress)
        group.wait()
        if let f = failure.withLock({ $0 }) { throw f.error }
        return recordedAt
    }

    /// Partition `p`: walks (after, through] a window at a time, decoding its members' events into
    /// buckets and applying them. Stops early once another thread failed at an earlier position.
    /// Returns when the last event walked was recorded.
    private func walkPartition(_ p: Int, _ log: EventLog, after: UInt64, through: UInt64, starts: [UInt64],
                               progress: (UInt64) -> Void) -> Int64 {
        var buckets = Array(repeating: [ProjectionEvent](), count: shape.buckets)
        let bucketMask = shape.buckets - 1
        var position = after
        var recordedAt: Int64 = 0
        let count = UInt64(partitions)
        while position < through {
            if let stop = failure.withLock({ $0?.position }), stop <= position { break }
            let windowEnd = min(through, position + UInt64(shape.windowEvents))
            do {
                while position < windowEnd {
                    // Other partitions' records are only glanced at (`forEachEvent(where:)`);
                    // their owners read them in full.
                    var hash: UInt64 = 0
                    var failure: ProjectionError?
                    let (n, last) = try keeping(&failure) { failure in
                        try log.forEachEvent(after: position, limit: Int(min(windowEnd - position, UInt64(shape.readEvents))),
                                             where: { member in
                                                 hash = KeyHash.of(member)
                                                 return hash % count == UInt64(p)
                                             }) { v in
                            let event: ProjectionEvent?
                            do { event = try ProjectionEvent.decode(v) } catch { failure = error as? ProjectionError; throw error }
                            if let event { buckets[Int(truncatingIfNeeded: hash >> 40) & bucketMask].append(event) }
                        }
                    }
                    // Positions are gapless (`forEachRecord` checks): the walk moved `n` on.
                    guard n > 0 else {
                        throw LedgerError.corrupt(position: position + 1, reason: "the log ended before its head while projecting")
                    }
                    position += UInt64(n)
                    recordedAt = last
                }
                for b in buckets.indices where !buckets[b].isEmpty {
                    do {  // the batch ends here: the bucket's storage is unique again for `removeAll`
                        let events = ProjectionBatch(buckets[b])
                        for (d, start) in zip(drivers, starts) { try d.apply(role, partition: p, events, after: start) }
                    }
                    buckets[b].removeAll(keepingCapacity: true)
                }
                // The stretch ends where a commit follows: each thread sorts its own shards' keys.
                if position == through { for d in drivers { d.sortDirtyKeysAhead(role, partition: p) } }
            } catch {
                fail(at: Self.position(of: error) ?? position, error)
                break
            }
            progress(position)
        }
        return recordedAt
    }

    private func fail(at position: UInt64, _ error: any Error) {
        failure.withLock { f in
            if f == nil || position < f!.position { f = (position, error) }
        }
    }

    /// The log position an error names, if it names one.
    static func position(of error: any Error) -> UInt64? {
        switch error {
        case let e as ProjectionError: return e.position
        case LedgerError.corrupt(let position, _): return position
        default: return nil
        }
    }
}

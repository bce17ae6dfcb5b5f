import LedgerStore
import LoyaltyDomain

/// Progress of a catch-up or rebuild: projection name, events done, events to do.
public typealias ProjectionProgress = (_ name: String, _ done: UInt64, _ total: UInt64) -> Void

/// One projection's workers behind a type-erased face, so the runner can hold several folds
/// and move them over the log together.
protocol ProjectionDriving: AnyObject {
    var name: String { get }
    var version: Int { get }
    /// The live projection is missing, of another version, or past the log's head.
    func needsBuild(head: UInt64) throws -> Bool
    /// Starts a build into the other table, or resumes one of this version left by a stopped process.
    func startOrResumeBuild() throws
    /// Where the live projection or the build stands (what its worker applied, committed or not).
    func checkpoint(_ role: ProjectionRole) throws -> UInt64
    /// One bounded step of the live projection or of the build (see `ProjectionWorker.step`).
    func step(_ role: ProjectionRole, eventsMax: Int, through: UInt64?, feed: DecodedEvents?, commitAfter: Int?) throws -> Int
    /// Makes a build that stopped before an event it cannot apply live when there is no usable
    /// live projection (none, or of another version): queries then answer from what it reached.
    func swapStoppedBuild() throws
    /// Commits what the worker applied and has not committed yet.
    func flush(_ role: ProjectionRole) throws
    /// One bounded step of the live projection that applies without committing: the caller
    /// commits it with the other projections' steps (`pendingLiveCommit`).
    func stepLiveUncommitted(eventsMax: Int, feed: DecodedEvents?) throws -> Int
    /// What the live worker applied and has not committed yet, to be written inside a shared
    /// transaction (nil: nothing).
    func pendingLiveCommit() -> PendingProjectionCommit?
    /// Like `pendingLiveCommit`, for a commit that runs on another thread while the next step
    /// applies: the live worker counts it as committed until its `finish` or `abandon` says.
    func handOffLiveCommit() -> PendingProjectionCommit?
    /// Makes the build live if it reached the head; then empties the old table.
    func swapIfCaughtUp() throws -> Bool
    /// The checkpoint the live worker last committed or read (0: none yet).
    var liveCheckpoint: UInt64 { get }
    /// A fresh fold in memory through `through`, digested like the stored table.
    func digestOfFreshFold(through: UInt64) throws -> (entries: Int, digest: String)

    // A partitioned run (`PartitionedRun`, folds keyed by member only; see `ProjectionWorker`).
    var keyedByMember: Bool { get }
    /// Commits what is pending and splits the cache into `count` shards; returns the checkpoint.
    func beginPartitions(_ role: ProjectionRole, count: Int) throws -> UInt64
    /// Partition `partition`'s thread applies its members' events after `after`.
    func apply(_ role: ProjectionRole, partition: Int, _ events: ProjectionBatch, after: UInt64) throws
    /// Partition `partition`'s thread sorts its shard's changed keys ahead of a commit.
    func sortDirtyKeysAhead(_ role: ProjectionRole, partition: Int)
    /// Every partition applied through `through`: commits if `commit`.
    func partitionsReached(_ role: ProjectionRole, through: UInt64, recordedAt: Int64, commit: Bool) throws
    /// Every partition applied through `through`: the commit to run on another thread, the
    /// worker counting it as committed until its `finish` or `abandon` (nil: nothing applied).
    func handOffPartitions(_ role: ProjectionRole, through: UInt64, recordedAt: Int64) throws -> PendingProjectionCommit?
    /// Drops the shards (after the last commit).
    func endPartitions(_ role: ProjectionRole)
    /// Forgets what was applied and not committed (after a failed partitioned run).
    func reset(_ role: ProjectionRole)
}

/// One projection's uncommitted step, type-erased so that several projections' steps go into one
/// write transaction of the projections environment.
struct PendingProjectionCommit {
    let name: String
    /// Writes the entries and the checkpoint if the stored meta is still the one the step started
    /// from (false: nothing written). May run again in a retried transaction.
    let write: (LMDBTransaction) throws -> Bool
    /// Called once the transaction committed, with what `write` returned in it.
    let finish: (_ written: Bool) -> Void
    /// Called when the transaction failed: the worker forgets its uncommitted cache.
    let abandon: () -> Void
}

final class ProjectionDriver<F: ProjectionFold>: ProjectionDriving {
    let store: ProjectionStore
    let log: EventLog
    let live: ProjectionWorker<F>
    private var builder: ProjectionWorker<F>?

    init(store: ProjectionStore, log: EventLog) {
        self.store = store
        self.log = log
        live = ProjectionWorker<F>(store: store, log: log, role: .live)
    }

    var name: String { F.name }
    var version: Int { F.version }
    var liveCheckpoint: UInt64 { live.committedCheckpoint }

    func needsBuild(head: UInt64) throws -> Bool {
        guard let meta = try store.meta(F.name, .live) else { return true }
        return meta.version != F.version || meta.checkpoint > head
    }

    func startOrResumeBuild() throws {
        if try store.meta(F.name, .build)?.version != F.version {
            _ = try ProjectionWorker<F>.startBuild(store: store)
        }
        builder = ProjectionWorker<F>(store: store, log: log, role: .build)
    }

    private func worker(_ role: ProjectionRole) -> ProjectionWorker<F> {
        switch role {
        case .live: return live
        case .build:
            guard let builder else { preconditionFailure("build step before startOrResumeBuild") }
            return builder
        }
    }

    func checkpoint(_ role: ProjectionRole) throws -> UInt64 {
        role == .build && builder == nil ? try store.meta(F.name, role)?.checkpoint ?? 0 : try worker(role).position()
    }

    func step(_ role: ProjectionRole, eventsMax: Int, through: UInt64?, feed: DecodedEvents?, commitAfter: Int?) throws -> Int {
        try worker(role).step(eventsMax: eventsMax, through: through, feed: feed, commitAfter: commitAfter)
    }

    func swapStoppedBuild() throws {
        try store.env.write { txn in
            guard let b = try store.meta(F.name, .build, txn: txn) else { return }
            if let live = try store.meta(F.name, .live, txn: txn), live.version == F.version { return }
            try store.putMeta(b, F.name, .live, txn: txn)
            try store.putMeta(nil, F.name, .build, txn: txn)
        }
        builder = nil
        live.reset()
    }

    func flush(_ role: ProjectionRole) throws { try worker(role).flush() }

    func stepLiveUncommitted(eventsMax: Int, feed: DecodedEvents?) throws -> Int {
        try live.step(eventsMax: eventsMax, feed: feed, deferCommit: true)
    }

    func pendingLiveCommit() -> PendingProjectionCommit? {
        guard let p = live.pendingCommit() else { return nil }
        let worker = live
        return PendingProjectionCommit(name: F.name, write: { txn in try worker.write(p, txn: txn) },
                                       finish: { worker.finishCommit(p, written: $0) }, abandon: { worker.reset() })
    }

    func handOffLiveCommit() -> PendingProjectionCommit? {
        guard let p = live.pendingCommit() else { return nil }
        live.assumeCommitted(p)
        return Self.handedOff(p, of: live)
    }

    /// A commit `worker` handed off (`assumeCommitted`): its `finish` and `abandon` confirm it.
    private static func handedOff(_ p: ProjectionWorker<F>.PendingCommit, of worker: ProjectionWorker<F>) -> PendingProjectionCommit {
        PendingProjectionCommit(name: F.name, write: { txn in try worker.write(p, txn: txn) },
                                finish: { worker.confirmCommit(written: $0) }, abandon: { worker.confirmCommit(written: false) })
    }

    func handOffPartitions(_ role: ProjectionRole, through: UInt64, recordedAt: Int64) throws -> PendingProjectionCommit? {
        let w = worker(role)
        return try w.handOffPartitions(through, recordedAt: recordedAt).map { Self.handedOff($0, of: w) }
    }

    /// Checked in the swapping transaction, so nothing committed meanwhile is missed.
    func swapIfCaughtUp() throws -> Bool {
        let head = try log.headPosition()
        let old: ProjectionMeta?? = try store.env.write { txn in
            guard let b = try store.meta(F.name, .build, txn: txn), b.checkpoint >= head else { return .none }
            let previous = try store.meta(F.name, .live, txn: txn)
            try store.putMeta(b, F.name, .live, txn: txn)
            try store.putMeta(nil, F.name, .build, txn: txn)
            return .some(previous)
        }
        guard let old else { return false }
        builder = nil
        if let old, old.slot != (try store.meta(F.name, .live))?.slot {
            try store.env.write { txn in
                // Only if no new build started in that table meanwhile.
                if try store.meta(F.name, .build, txn: txn) == nil { try txn.clear(store.table(F.name, slot: old.slot)) }
            }
        }
        return true
    }

    var keyedByMember: Bool { F.keyedByMember }

    func beginPartitions(_ role: ProjectionRole, count: Int) throws -> UInt64 { try worker(role).beginPartitions(count) }

    func apply(_ role: ProjectionRole, partition: Int, _ events: ProjectionBatch, after: UInt64) throws {
        try worker(role).apply(partition: partition, events, after: after)
    }

    func partitionsReached(_ role: ProjectionRole, through: UInt64, recordedAt: Int64, commit: Bool) throws {
        try worker(role).partitionsReached(through, recordedAt: recordedAt, commit: commit)
    }

    func endPartitions(_ role: ProjectionRole) { worker(role).endPartitions() }

    func sortDirtyKeysAhead(_ role: ProjectionRole, partition: Int) { worker(role).sortDirtyKeysAhead(partition: partition) }

    func reset(_ role: ProjectionRole) { worker(role).reset() }

    func digestOfFreshFold(through: UInt64) throws -> (entries: Int, digest: String) {
        let fold = F()
        let state = FoldState<F.Value>()
        var position: UInt64 = 0
        while position < through {
            let run = try DecodedEvents.read(log, after: position, through: min(through, position + 50_000))
            try fold.apply(run.batch, to: state)
            position = run.through
        }
        var digest = ProjectionDigest()
        for (key, value) in state.dirtyEntries(sorted: true, F.encoded) {
            guard let value else { continue }
            key.withUnsafeBytes { k in value.withUnsafeBytes { v in digest.add(key: k, value: v) } }
        }
        return (digest.count, digest.hex)
    }
}

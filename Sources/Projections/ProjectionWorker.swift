import LedgerStore
import LoyaltyDomain

/// Applies the log to one projection (its live table, or a build in progress) in checkpointed
/// steps. A step reads a bounded run of events after the stored checkpoint, applies them to the
/// fold's write-back cache, and commits every changed entry together with the new checkpoint in
/// one transaction: a crash at any moment leaves the stored state at a checkpoint, never between.
///
/// Several workers (in this or other processes) may work on the same projection: each commit
/// first checks that the stored meta is still the one this worker started from; if another
/// worker moved it, the step is dropped, the cache discarded, and the next step starts over from
/// the stored checkpoint. So no event is ever applied twice or skipped.
final class ProjectionWorker<F: ProjectionFold> {
    let store: ProjectionStore
    let log: EventLog
    let role: ProjectionRole
    let fold = F()
    /// The cache: one shard, or one per partition while a partitioned run applies on several
    /// threads (`beginPartitions`), each shard holding the entries of its partition's members.
    private(set) var shards = [FoldState<F.Value>()]
    /// The cache when it is one shard (every step but a partitioned run's).
    var state: FoldState<F.Value> {
        precondition(shards.count == 1, "a partitioned run is applying")
        return shards[0]
    }
    /// The stored meta the cache agrees with (nil: the cache is empty and unknown).
    private(set) var expected: ProjectionMeta?
    /// The cache holds every stored entry (the table was empty when this worker started on it
    /// and it has not been dropped since), so a miss needs no lookup.
    private var cacheIsComplete = false
    /// Entries kept in the cache between steps; past it the cache is dropped (it is all clean).
    let cacheEntriesMax: Int

    init(store: ProjectionStore, log: EventLog, role: ProjectionRole, cacheEntriesMax: Int = 2_000_000) {
        precondition(cacheEntriesMax > 0, "the cache needs room")
        self.store = store
        self.log = log
        self.role = role
        self.cacheEntriesMax = cacheEntriesMax
    }

    /// Forgets the cache (after an error or when another worker moved the checkpoint).
    func reset() {
        shards = [FoldState<F.Value>()]
        expected = nil
        appliedThrough = nil
        cacheIsComplete = false
        inFlight = nil
    }

    /// A commit handed to another thread and not confirmed yet (`assumeCommitted`): the cache and
    /// `expected` already stand where it will put the stored meta, so the next step applies on top
    /// of it without waiting. Its own commit checks that stored meta, so if this one fails, that
    /// one writes nothing either.
    private(set) var inFlight: PendingCommit?

    /// Starts a fresh build in the table the live projection does not use. Returns its meta.
    static func startBuild(store: ProjectionStore) throws -> ProjectionMeta {
        try store.env.write { txn in
            let live = try store.meta(F.name, .live, txn: txn)
            let (generation, overflow) = (live?.generation ?? 0).addingReportingOverflow(live == nil ? 0 : 1)
            guard !overflow else { throw ProjectionError.damagedMeta(name: F.name, reason: "generation \(UInt64.max) cannot grow") }
            let m = ProjectionMeta(version: F.version, generation: generation, checkpoint: 0, checkpointRecordedAt: 0)
            try txn.clear(store.table(F.name, slot: m.slot))
            try store.putMeta(m, F.name, .build, txn: txn)
            return m
        }
    }

    /// Events applied to the cache but not committed yet: the cache is at `appliedThrough`, the
    /// stored checkpoint still at `expected`.
    private(set) var appliedThrough: UInt64?

    /// Where this worker's next step starts: past what it applied, committed or not.
    func position() throws -> UInt64 {
        if inFlight != nil, let expected { return appliedThrough ?? expected.checkpoint }
        if let appliedThrough, try store.meta(F.name, role) == expected { return appliedThrough }
        return try store.meta(F.name, role)?.checkpoint ?? 0
    }

    /// One step: applies at most `eventsMax` events (stopping at `through`, if given), and commits
    /// once `commitAfter` events are uncommitted or the step reached the head. Returns the events
    /// applied (0: caught up). Events come from `feed` when it continues this worker's position
    /// (several projections share one decoding), else from the log.
    ///
    /// With `deferCommit` the step only applies: the caller commits it with other projections'
    /// steps in one transaction (`pendingCommit`, `write`, `finishCommit`).
    func step(eventsMax: Int, through: UInt64? = nil, feed: DecodedEvents? = nil, commitAfter: Int? = nil,
              deferCommit: Bool = false) throws -> Int {
        precondition(eventsMax > 0, "a step applies at least one event")
        // With a commit in flight, the step builds on the meta that commit will store.
        guard let start = inFlight != nil ? expected : try store.meta(F.name, role) else {
            // Another process swapped the build in (or removed the projections) meanwhile.
            throw ProjectionError.damagedMeta(name: F.name, reason: "no \(role) meta: another process moved it; run the command again")
        }
        if start != expected {
            let wasEmpty = start.checkpoint == 0
            reset()
            cacheIsComplete = wasEmpty
            expected = start
            committedCheckpoint = start.checkpoint
        }
        let from = appliedThrough ?? start.checkpoint
        let head = try log.headPosition()
        guard start.checkpoint <= head else {
            throw ProjectionError.aheadOfLog(name: F.name, checkpoint: start.checkpoint, head: head)
        }
        var end = min(head, through ?? .max, from + UInt64(eventsMax))
        guard end > from else { return 0 }
        do {
            let run: DecodedEvents
            if let feed, feed.continues(from) {
                end = min(end, feed.through)
                run = feed
            } else {
                run = try DecodedEvents.read(log, after: from, through: end)
            }
            try apply(run, after: from, through: end, slot: start.slot)
            appliedThrough = end
            lastRecordedAt = run.recordedAt[Int(end - run.after) - 1]
            if !deferCommit && (end == head || end - start.checkpoint >= UInt64(commitAfter ?? eventsMax)) {
                try commit(from: start, checkpoint: end, recordedAt: lastRecordedAt)
            }
            return Int(end - from)
        } catch {
            reset()
            throw error
        }
    }

    private var lastRecordedAt: Int64 = 0

    /// Commits what was applied and not committed yet (before a caller stops stepping).
    func flush() throws {
        guard let appliedThrough, let start = expected, appliedThrough > start.checkpoint else { return }
        do {
            try commit(from: start, checkpoint: appliedThrough, recordedAt: lastRecordedAt)
        } catch {
            reset()
            throw error
        }
    }

    /// Applies the events of `run` in (after, through], loading missing entries in short read
    /// transactions (one per 4,096 events).
    private func apply(_ run: DecodedEvents, after: UInt64, through: UInt64, slot: Int) throws {
        precondition(after >= run.after && through <= run.through, "the run covers the step")
        let table = store.table(F.name, slot: slot)
        var position = after
        while position < through {
            let chunkEnd = min(through, position + 4_096)
            try store.env.read { txn in
                state.loader = cacheIsComplete ? nil : { key in
                    try Array(key.utf8).withUnsafeBytes { k in
                        try txn.borrowValue(table, key: k).map { b throws(ProjectionError) in try F.decoded(b) }
                    }
                }
                defer { state.loader = nil }
                try fold.apply(run.batch(after: position, through: chunkEnd), to: state)
            }
            position = chunkEnd
        }
    }

    /// What a commit of this worker writes: its changed entries and the checkpoint they reach,
    /// with the stored meta they were applied to (checked again inside the writing transaction).
    ///
    /// The values are copies of the cached ones (nil: deleted), encoded when written: a commit
    /// handed to another thread reads them there while this worker goes on applying, and the
    /// first change to a cached value after the copy copies its storage (copy-on-write), so both
    /// sides see what they should. Copies, not encoded bytes: a rebuild's commit holds every
    /// member's entry, and encoding them all up front doubled its memory.
    struct PendingCommit {
        let start: ProjectionMeta
        let next: ProjectionMeta
        let entries: [(key: [UInt8], value: F.Value?)]
    }

    /// The commit of what was applied and not committed yet (nil: nothing to commit).
    func pendingCommit() -> PendingCommit? {
        guard let appliedThrough, let start = expected, appliedThrough > start.checkpoint else { return nil }
        return pendingCommit(from: start, checkpoint: appliedThrough, recordedAt: lastRecordedAt)
    }

    private func pendingCommit(from start: ProjectionMeta, checkpoint: UInt64, recordedAt: Int64) -> PendingCommit {
        PendingCommit(start: start, next: ProjectionMeta(version: start.version, generation: start.generation, checkpoint: checkpoint,
                                                         checkpointRecordedAt: recordedAt),
                      // A build sorts (it fills an empty table); a live step's few entries need not be.
                      entries: dirtyKeys(sorted: role == .build).map { shard, slot, key in
                          (key, shards[shard].withValue(slot: slot) { $0?.pointee })
                      })
    }

    /// Writes `p` inside `txn` if the stored meta is still the one it was applied to: entries and
    /// checkpoint go together or not at all. Returns false (nothing written) if another worker
    /// moved the meta. Only reads the meta and writes, so LMDB may run it again after map growth.
    func write(_ p: PendingCommit, txn: LMDBTransaction) throws -> Bool {
        guard try store.meta(F.name, role, txn: txn) == p.start else { return false }
        let table = store.table(F.name, slot: p.start.slot)
        // A build's first commit fills an empty table in key order (see `commit`).
        let flags: PutFlags = role == .build && p.start.checkpoint == 0 ? .append : []
        var w = ValueWriter(capacity: 4_096)
        for (key, value) in p.entries {
            guard let value else {
                try txn.delete(table, key: key)
                continue
            }
            w.bytes.removeAll(keepingCapacity: true)
            F.encode(value, into: &w)
            try key.withUnsafeBytes { k in try w.bytes.withUnsafeBytes { v in try txn.put(table, key: k, value: v, flags: flags) } }
        }
        try store.putMeta(p.next, F.name, role, txn: txn)
        return true
    }

    /// After the transaction holding `write(p)` committed: the cache is clean at `p.next`, or,
    /// if the meta had moved, dropped (the next step starts over from the stored checkpoint).
    func finishCommit(_ p: PendingCommit, written: Bool) { finishCommit(next: p.next, written: written) }

    private func finishCommit(next: ProjectionMeta, written: Bool) {
        guard written else { reset(); return }
        for s in shards { s.markClean() }
        expected = next
        committedCheckpoint = next.checkpoint
        appliedThrough = nil
        dropCacheIfLargeAndClean()
    }

    /// Hands `p` to another thread: from now on the cache counts as committed at `p.next` (clean,
    /// `expected` moved), until `confirmCommit` says whether it was written.
    func assumeCommitted(_ p: PendingCommit) {
        precondition(inFlight == nil, "one commit in flight at a time")
        for s in shards { s.markClean() }
        expected = p.next
        appliedThrough = nil
        inFlight = p
    }

    /// The commit handed off by `assumeCommitted` finished: written, or not (the meta had moved,
    /// or the transaction failed), and then everything applied since is dropped too.
    func confirmCommit(written: Bool) {
        guard let p = inFlight else { return }
        inFlight = nil
        guard written else { reset(); return }
        committedCheckpoint = p.next.checkpoint
        dropCacheIfLargeAndClean()
    }

    /// The checkpoint this worker last read from the store or saw committed (0: none yet).
    private(set) var committedCheckpoint: UInt64 = 0

    /// Past `cacheEntriesMax` entries the cache is dropped, once nothing in it is uncommitted.
    private func dropCacheIfLargeAndClean() {
        if shards.reduce(0, { $0 + $1.count }) > cacheEntriesMax, appliedThrough == nil, inFlight == nil {
            shards = Array((0 ..< shards.count).map { _ in FoldState<F.Value>() })
            cacheIsComplete = false
        }
    }

    /// Writes the changed entries and the new checkpoint in one transaction of its own. Each entry
    /// is encoded into one reused buffer inside the transaction and put from there: a build's
    /// commit writes every member, and encoding them all into arrays first (`pendingCommit`, for
    /// commits that run elsewhere) doubled its memory and page faults. The cache does not change
    /// while the transaction runs (this thread runs it), so a retried body writes the same.
    private func commit(from start: ProjectionMeta, checkpoint: UInt64, recordedAt: Int64) throws {
        let next = ProjectionMeta(version: start.version, generation: start.generation, checkpoint: checkpoint,
                                  checkpointRecordedAt: recordedAt)
        // A build sorts (it fills an empty table); a live step's few entries need not be.
        let dirty = dirtyKeys(sorted: role == .build)
        // A build's first commit fills its empty table in key order: LMDB appends to the last page
        // instead of searching and splitting (it refuses, MDB_KEYEXIST, a key out of order).
        let flags: PutFlags = role == .build && start.checkpoint == 0 ? .append : []
        let table = store.table(F.name, slot: start.slot)
        if dirty.count >= Self.reserveEntriesMin {
            // Twice the expected bytes: the old pages of the entries overwritten stay in use until
            // the commit. The first estimate is a guess; later ones use the last commit's average.
            try store.env.reserve(bytes: 2 * dirty.count * (bytesPerEntry ?? 1_024))
        }
        var w = ValueWriter(capacity: 4_096)
        var bytes = 0
        let written = try store.env.write { txn in
            bytes = 0
            guard try store.meta(F.name, role, txn: txn) == start else { return false }
            for (shard, slot, key) in dirty {
                let present = try shards[shard].withValue(slot: slot) { value in
                    guard let value else { return false }
                    w.bytes.removeAll(keepingCapacity: true)
                    F.encode(value.pointee, into: &w)
                    try key.withUnsafeBytes { k in try w.bytes.withUnsafeBytes { v in try txn.put(table, key: k, value: v, flags: flags) } }
                    bytes += key.count + w.bytes.count
                    return true
                }
                if !present { try txn.delete(table, key: key) }
            }
            try store.putMeta(next, F.name, role, txn: txn)
            return true
        }
        if written && !dirty.isEmpty { bytesPerEntry = max(64, bytes / dirty.count) }
        finishCommit(next: next, written: written)
    }

    /// The dirty entries of every shard (shard, slot, UTF-8 key), sorted by key bytes if `sorted`.
    private func dirtyKeys(sorted: Bool) -> [(shard: Int, slot: Int, key: [UInt8])] {
        if shards.count == 1 { return shards[0].dirtyKeys(sorted: sorted).map { (0, $0.slot, $0.key) } }
        var out: [(shard: Int, slot: Int, key: [UInt8])] = []
        guard sorted else {
            for (i, s) in shards.enumerated() { out += s.dirtyKeys(sorted: false).map { (i, $0.slot, $0.key) } }
            return out
        }
        // Each shard's keys sorted (ahead, by its partition's thread: `sortDirtyKeysAhead`), merged.
        let lists = shards.map { $0.dirtyKeys(sorted: true) }
        out.reserveCapacity(lists.reduce(0) { $0 + $1.count })
        var heads = Array(repeating: 0, count: lists.count)
        while true {
            var best: Int?
            for i in lists.indices where heads[i] < lists[i].count {
                if let b = best, !FoldState<F.Value>.precedes(lists[i][heads[i]].key, lists[b][heads[b]].key) { continue }
                best = i
            }
            guard let b = best else { return out }
            out.append((b, lists[b][heads[b]].slot, lists[b][heads[b]].key))
            heads[b] += 1
        }
    }

    /// Partition `partition`'s thread sorts its shard's changed keys for the coming commit.
    func sortDirtyKeysAhead(partition: Int) { shards[partition].sortDirtyKeysAhead() }

    // MARK: Partitioned runs (`PartitionedRun`)

    /// Table that a partitioned run loads missing entries from (set by `beginPartitions`).
    private var partitionTable: LMDBDatabase?

    /// Starts applying on `count` threads, one per partition of the members (`F.keyedByMember`):
    /// what was applied and not committed is committed first, then the cache is split into
    /// `count` empty shards (entries are loaded into their member's shard as needed). Returns the
    /// stored checkpoint, where the run starts for this projection.
    func beginPartitions(_ count: Int) throws -> UInt64 {
        precondition(F.keyedByMember && count > 0, "partitions of a fold keyed by member")
        precondition(inFlight == nil, "no commit in flight")
        try flush()
        guard let start = try store.meta(F.name, role) else {
            throw ProjectionError.damagedMeta(name: F.name, reason: "no \(role) meta: another process moved it; run the command again")
        }
        let wasEmpty = start.checkpoint == 0
        reset()
        shards = Array((0 ..< count).map { _ in FoldState<F.Value>() })
        cacheIsComplete = wasEmpty
        expected = start
        committedCheckpoint = start.checkpoint
        partitionTable = store.table(F.name, slot: start.slot)
        return start.checkpoint
    }

    /// Partition `partition`'s thread (the only one touching its shard): applies `events`, which
    /// are its members' events of the run in log order, skipping those at or before `after`.
    func apply(partition: Int, _ events: ProjectionBatch, after: UInt64) throws {
        guard let table = partitionTable, partition < shards.count else { preconditionFailure("apply outside a partitioned run") }
        let shard = shards[partition]
        let events = events.suffix(after: after)
        guard !events.isEmpty else { return }
        guard !cacheIsComplete else { return try fold.apply(events, to: shard) }
        try store.env.read { txn in
            shard.loader = { key in
                try Array(key.utf8).withUnsafeBytes { k in
                    try txn.borrowValue(table, key: k).map { b throws(ProjectionError) in try F.decoded(b) }
                }
            }
            defer { shard.loader = nil }
            try fold.apply(events, to: shard)
        }
    }

    /// Every partition applied the run through `through` (the event there recorded at
    /// `recordedAt`): commits, if `commit`, every shard's entries and the checkpoint in one
    /// transaction.
    func partitionsReached(_ through: UInt64, recordedAt: Int64, commit: Bool) throws {
        guard let start = reach(through, recordedAt: recordedAt), commit else { return }
        do {
            try self.commit(from: start, checkpoint: through, recordedAt: recordedAt)
        } catch {
            reset()
            throw error
        }
    }

    /// Every partition applied the run through `through`: hands the commit of everything applied
    /// to another thread (`assumeCommitted`; the caller confirms it before the partitions apply
    /// past the next commit point, and before `partitionsReached` or `endPartitions`).
    func handOffPartitions(_ through: UInt64, recordedAt: Int64) throws -> PendingCommit? {
        guard let start = reach(through, recordedAt: recordedAt) else { return nil }
        let p = pendingCommit(from: start, checkpoint: through, recordedAt: recordedAt)
        // Room in the map now: the transaction runs elsewhere, and a full map would run it again.
        try store.env.reserve(bytes: 2 * p.entries.count * (bytesPerEntry ?? 1_024))
        assumeCommitted(p)
        return p
    }

    /// Records that every partition applied through `through`; returns the stored meta the run
    /// applied to, or nil if this projection already stood there (it started past the stretch).
    private func reach(_ through: UInt64, recordedAt: Int64) -> ProjectionMeta? {
        guard let start = expected else { preconditionFailure("partitions reached outside a partitioned run") }
        guard through > (appliedThrough ?? start.checkpoint) else { return nil }
        appliedThrough = through
        lastRecordedAt = recordedAt
        return start
    }

    /// Ends a partitioned run (after its last commit): the shards are dropped, and the next step
    /// loads what it needs from what is stored.
    func endPartitions() {
        partitionTable = nil
        guard shards.count > 1 else { return }
        precondition(appliedThrough == nil, "a partitioned run ended with uncommitted events")
        shards = [FoldState<F.Value>()]
        cacheIsComplete = false
    }

    /// Commits of at least this many entries make room in the map first (`LMDBEnvironment.reserve`).
    static var reserveEntriesMin: Int { 1_024 }
    /// Average bytes (key and value) per entry written by the last large commit; nil: none yet.
    private var bytesPerEntry: Int?
}

public import LedgerStore
public import LoyaltyDomain
import Foundation
import Dispatch
public import Logging

/// Where one projection stands, for `loyalty projections status`.
public struct ProjectionStatus: Sendable {
    public var name: String
    public var codeVersion: Int
    /// nil: never built.
    public var storedVersion: Int?
    public var generation: UInt64?
    public var checkpoint: UInt64
    public var head: UInt64
    /// Events behind the head.
    public var lagEvents: UInt64 { head > checkpoint ? head - checkpoint : 0 }
    /// Ledger time between the checkpoint's event and the head's event (microseconds).
    public var lagMicroseconds: Int64
    /// A rebuild in progress: its checkpoint.
    public var buildCheckpoint: UInt64?
    /// The event the projection stopped before (it cannot apply it), if it did.
    public var stop: ProjectionStop?

    public var state: String {
        if let stop { return "stopped before \(stop.reason)" }
        if storedVersion == nil { return buildCheckpoint == nil ? "not built" : "building" }
        if storedVersion != codeVersion { return "version \(storedVersion!) stored, \(codeVersion) in code: rebuild needed" }
        if buildCheckpoint != nil { return "rebuilding" }
        if checkpoint > head { return "ahead of the log: rebuild needed" }
        return lagEvents == 0 ? "up to date" : "behind"
    }
}

/// The built-in projections of a ledger: balances, member views and program figures, kept in
/// `<ledger>/projections/`. Until `loyalty serve` runs them continuously, commands call
/// `catchUp()` before answering.
public final class LedgerProjections: @unchecked Sendable {
    // @unchecked: the drivers' workers hold caches that are not thread-safe; every entry point
    // takes `lock`, so one thread at a time works on them. LMDB makes other processes safe.
    public let log: EventLog
    public let store: ProjectionStore
    let drivers: [any ProjectionDriving]
    private let lock = NSLock()
    let logger: Logger

    public static let names = [Balances.name, MemberViews.name, ProgramFigures.name, MemberActivities.name]
    /// Events per checkpointed step: bounds the transaction and what a crash can make redo.
    public var eventsPerStep = 50_000
    /// Events a rebuild applies between commits: a commit writes every entry changed since the
    /// last, so rare commits make a rebuild cheaper (each member's value is written once per commit),
    /// while a rebuild stopped half-way resumes from its last commit. 4,000,000: a few seconds of
    /// redo at the rebuild's speed, and a 10M-event rebuild of 100,000 members spends little of
    /// its time committing (measurements in BENCHMARKS.md).
    public var rebuildCommitEvents = 4_000_000
    /// Events decoded at a time and shared by the projections (bounds memory: two runs in flight).
    static let runEventsMax = 20_000
    /// How a catch-up or rebuild of projections keyed by member runs on several threads
    /// (`PartitionedRun`), once it covers more than one run of events.
    var partitionShape = PartitionedRun.Shape()

    public init(log: EventLog, logger: Logger = Logger(label: "loyalty.projections")) throws {
        self.log = log
        self.logger = logger
        store = try ProjectionStore(ledgerPath: log.path, names: Self.names)
        drivers = [ProjectionDriver<Balances>(store: store, log: log), ProjectionDriver<MemberViews>(store: store, log: log),
                   ProjectionDriver<ProgramFigures>(store: store, log: log), ProjectionDriver<MemberActivities>(store: store, log: log)]
    }

    private func driver(_ name: String) throws -> any ProjectionDriving {
        guard let d = drivers.first(where: { $0.name == name }) else { throw ProjectionError.unknownProjection(name, known: Self.names) }
        return d
    }

    /// Every entry point but `follow` first waits for a commit `follow` left in flight, so they
    /// see (and step from) what is stored.
    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        drainLocked()
        return try body()
    }

    /// The shared commit of the last `follow` step, running on another thread (guarded by `lock`).
    private var inFlight: InFlightCommit?

    /// Waits for a commit `follow` left in flight (`ProjectionService` calls it when it stops).
    public func drain() {
        lock.lock()
        defer { lock.unlock() }
        drainLocked()
    }

    private func drainLocked() {
        do {
            try finishInFlight()
        } catch {
            // Its projections dropped their caches; their next step redoes it from what is stored.
            logger.info("projection commit failed; its step is redone", metadata: ["error": "\(error)"])
        }
    }

    /// Waits for the commit in flight and tells its projections how it went (rethrows its error).
    private func finishInFlight() throws {
        guard let commit = inFlight else { return }
        inFlight = nil
        switch commit.wait() {
        case .success(let written):
            finish(commit.pending, written: written)
        case .failure(let error):
            for p in commit.pending { p.abandon() }
            throw error
        }
    }

    /// One step of following live commits, overlapping the previous step's commit (its write and
    /// sync run on another thread meanwhile): reads and applies the events after what every
    /// projection applied, committed or in flight; then waits for the previous commit and hands
    /// this step's commit (all projections in one transaction, as `step`) to another thread.
    ///
    /// Exactly once still holds: each projection's commit checks the stored meta against the one
    /// its step built on, which is what the previous commit stores; if that one was not written,
    /// neither is this one, and the projection drops its cache and redoes both from its stored
    /// checkpoint. `committed` is called on the committing thread once a commit is written by every
    /// projection in it, with its events and the position all projections reached. Returns the
    /// events applied and whether a commit is in flight (then call again without waiting).
    public func follow(eventsMax: Int = 10_000,
                       committed: @escaping @Sendable (_ events: Int, _ through: UInt64) -> Void) throws
        -> (applied: Int, inFlight: Bool, through: UInt64) {
        lock.lock()
        defer { lock.unlock() }
        do {
            let applied = try applyNextRunLocked(eventsMax: eventsMax)
            try finishInFlight()
            // A stopped projection stays where it stopped: positions reached are the others'.
            let active = try running()
            let before = active.map(\.liveCheckpoint).min() ?? 0
            let pending = active.compactMap { $0.handOffLiveCommit() }
            if !pending.isEmpty {
                // What every projection will have reached once this commit is written.
                let through = try active.map { try $0.checkpoint(.live) }.min() ?? 0
                inFlight = InFlightCommit(store: store, pending: pending) { committed(Int(through - min(through, before)), through) }
            }
            // Where each projection's live worker is (read or applied; committed once nothing is
            // in flight): a worker that applied nothing since open has no `liveCheckpoint` yet, and
            // a caller waiting for a commit past 0 would wake at once, forever.
            return (applied, inFlight != nil, try active.map { try $0.checkpoint(.live) }.min() ?? log.headPosition())
        } catch {
            drainLocked()
            throw error
        }
    }

    /// Brings every projection (or the named ones) up to the log's head; returns the events each
    /// applied (a projection of an older version, or one ahead of a replaced log, is rebuilt).
    @discardableResult
    public func catchUp(_ names: [String]? = nil, progress: ProjectionProgress? = nil) throws -> [String: UInt64] {
        try locked {
            let selected = drivers.filter { names?.contains($0.name) ?? true }
            let head = try log.headPosition()
            let toBuild = try selected.filter { try $0.needsBuild(head: head) }
            var stops: [ProjectionStop] = []
            if !toBuild.isEmpty { stops += try rebuildLocked(toBuild, progress: progress) }
            let before = try selected.map { try $0.checkpoint(.live) }
            let live = selected.filter { d in !toBuild.contains { $0 === d } }
            stops += try advance(live, .live, progress: progress)
            try recordStops(stops, of: selected)
            guard stops.isEmpty else { throw ProjectionError.stopped(stops) }
            var applied: [String: UInt64] = [:]
            for (d, from) in zip(selected, before) {
                let now = try d.checkpoint(.live)
                applied[d.name] = now - min(now, toBuild.contains { $0 === d } ? 0 : from)
            }
            return applied
        }
    }

    /// Stores where each of `selected` stopped (`stop/NAME` in the meta table), and forgets the
    /// stops of the others (they went past them).
    private func recordStops(_ stops: [ProjectionStop], of selected: [any ProjectionDriving]) throws {
        try store.env.write { txn in
            for d in selected {
                try store.putStop(stops.first { $0.projection == d.name }, d.name, txn: txn)
            }
        }
    }

    /// The projections that stopped before an event they cannot apply (as of their last catch-up
    /// or rebuild), each with that event.
    public func stops() throws -> [ProjectionStop] {
        try drivers.compactMap { d in try store.env.read { txn in try store.stop(d.name, txn: txn) } }
    }

    /// One bounded step of every projection: the events applied in all (0: all caught up), and
    /// the position every projection has reached. Rebuilds what needs it first.
    public func step(eventsMax: Int = 10_000) throws -> (applied: Int, through: UInt64) {
        try locked {
            // Every step commits (the lag is one step, not eventsMax events), and all projections'
            // steps commit in ONE transaction: one sync per step instead of one per projection,
            // and the projections become visible together.
            let applied = try applyNextRunLocked(eventsMax: eventsMax)
            let active = try running()
            try commitTogether(active.compactMap { $0.pendingLiveCommit() })
            return (applied, try active.map(\.liveCheckpoint).min() ?? log.headPosition())
        }
    }

    /// Rebuilds what needs it (after the commit in flight), then applies the next run of at most
    /// `eventsMax` events to every live projection without committing (`step` and `follow`).
    private func applyNextRunLocked(eventsMax: Int) throws -> Int {
        let head = try log.headPosition()
        let toBuild = try drivers.filter { try $0.needsBuild(head: head) }
        if !toBuild.isEmpty {
            try finishInFlight()
            try recordStops(try rebuildLocked(toBuild, progress: nil), of: toBuild)
        }
        let active = try running()
        let from = try active.map { try $0.checkpoint(.live) }.min() ?? head
        guard from < head else { return 0 }
        do {
            let feed = try DecodedEvents.read(log, after: from, through: min(head, from + UInt64(eventsMax)))
            return try active.reduce(0) { $0 + (try $1.stepLiveUncommitted(eventsMax: eventsMax, feed: feed)) }
        } catch let error as ProjectionError where error.position != nil {
            // An event some projection cannot apply: each goes alone as far as it can (`advance`
            // stops it before that event), committing; the rest follow on without it.
            try finishInFlight()
            try recordStops(try advance(active, .live, progress: nil), of: active)
            return 0
        }
    }

    /// The projections not stopped before an event they cannot apply.
    private func running() throws -> [any ProjectionDriving] {
        let stopped = Set(try stops().map(\.projection))
        return drivers.filter { !stopped.contains($0.name) }
    }

    /// Writes several projections' steps in one write transaction. Each keeps its own exactly-once
    /// check (its stored meta must be the one its step started from, else only that projection's
    /// step is dropped and redone from its stored checkpoint), so sharing the transaction changes
    /// when state becomes visible, never what is applied.
    func commitTogether(_ pending: [PendingProjectionCommit]) throws {
        guard !pending.isEmpty else { return }
        let written: [Bool]
        do {
            written = try store.env.write { txn in try pending.map { try $0.write(txn) } }
        } catch {
            for p in pending { p.abandon() }
            throw error
        }
        finish(pending, written: written)
    }

    /// Tells each projection of a committed shared transaction whether its step was written.
    private func finish(_ pending: [PendingProjectionCommit], written: [Bool]) {
        precondition(written.count == pending.count, "one answer per projection")
        for (p, w) in zip(pending, written) {
            if !w { logger.info("projection moved by another worker; its step is redone", metadata: ["projection": "\(p.name)"]) }
            p.finish(w)
        }
    }

    /// Rebuilds the named projections (default: all) from position 0 into their other tables, in
    /// one pass over the log, and swaps each in when caught up; queries keep answering from the
    /// current tables meanwhile.
    public func rebuild(_ names: [String]? = nil, progress: ProjectionProgress? = nil) throws {
        for name in names ?? [] { _ = try driver(name) }
        try locked {
            let selected = drivers.filter { names?.contains($0.name) ?? true }
            let stops = try rebuildLocked(selected, progress: progress)
            try recordStops(stops, of: selected)
            guard stops.isEmpty else { throw ProjectionError.stopped(stops) }
        }
    }

    public func rebuild(_ name: String, progress: ProjectionProgress? = nil) throws {
        try rebuild([name], progress: progress)
    }

    /// Returns where builds stopped (a build that stopped goes live if no usable live projection
    /// exists, `swapStoppedBuild`).
    private func rebuildLocked(_ selected: [any ProjectionDriving], progress: ProjectionProgress?) throws -> [ProjectionStop] {
        for d in selected { try d.startOrResumeBuild() }
        var pending = selected
        var stops: [ProjectionStop] = []
        while !pending.isEmpty {
            let stopped = try advance(pending, .build, progress: progress)
            stops += stopped
            for d in pending where stopped.contains(where: { $0.projection == d.name }) { try d.swapStoppedBuild() }
            pending = try pending.filter { d in !stopped.contains { $0.projection == d.name } }.filter { try !$0.swapIfCaughtUp() }
        }
        return stops
    }

    /// Moves `selected` (their live projections or their builds) to the log's head. Over more
    /// than one run, projections that are all keyed by member (balances, member views) run
    /// partitioned by member on one thread per core, each thread decoding and applying its own
    /// members' events (`PartitionedRun`); otherwise several projections step on threads of their
    /// own over runs this thread decodes once for all (`RunPipeline`: with program figures in the
    /// set, one decoding for all three costs less than a partitioned pass plus a pass of its own
    /// for the figures; BENCHMARKS.md). Within one run, the projections step here, one after the other, each run
    /// decoded once for all of them (the next one on another thread meanwhile).
    ///
    /// An event a projection cannot apply stops that projection just before it (`isolate`), and
    /// the others go on. Returns the stops.
    private func advance(_ selected: [any ProjectionDriving], _ role: ProjectionRole, progress: ProjectionProgress?) throws -> [ProjectionStop] {
        var active = selected
        var stops: [ProjectionStop] = []
        while !active.isEmpty {
            do {
                try advanceAll(active, role, progress: progress)
                return stops
            } catch let error as ProjectionError {
                guard let position = error.position, position > 0 else { throw error }
                for d in active { d.reset(role) }
                var stopped: [ProjectionStop] = []
                for d in active { if let s = try isolate(d, role, at: position) { stopped.append(s) } }
                // An error no projection meets again alone is not the event's: reported as it is.
                guard !stopped.isEmpty else { throw error }
                stops += stopped
                active.removeAll { d in stopped.contains { $0.projection == d.name } }
            }
        }
        return stops
    }

    /// Steps `d` alone, committing, to just before `position`, then tries the event there alone:
    /// the stop if `d` cannot apply it (its checkpoint stays before it), nil if it can. An earlier
    /// event `d` cannot apply (another projection failed first) is where it stops instead.
    private func isolate(_ d: any ProjectionDriving, _ role: ProjectionRole, at position: UInt64) throws -> ProjectionStop? {
        var target = position
        while true {
            do {
                return try isolateOnce(d, role, at: target)
            } catch let e as ProjectionError {
                guard let earlier = e.position, earlier > 0, earlier < target else { throw e }
                d.reset(role)
                target = earlier
            }
        }
    }

    private func isolateOnce(_ d: any ProjectionDriving, _ role: ProjectionRole, at position: UInt64) throws -> ProjectionStop? {
        while try d.checkpoint(role) < position - 1 {
            guard try d.step(role, eventsMax: eventsPerStep, through: position - 1, feed: nil, commitAfter: eventsPerStep) > 0 else { break }
        }
        try d.flush(role)
        guard try d.checkpoint(role) == position - 1 else { return nil }
        do {
            _ = try d.step(role, eventsMax: 1, through: position, feed: nil, commitAfter: 1)
            try d.flush(role)
            return nil
        } catch let e as ProjectionError where e.position == position {
            d.reset(role)
            var member = ""
            if case .unappliable(_, _, let m, _) = e { member = m }
            return ProjectionStop(projection: d.name, position: position, member: member, reason: e.description)
        }
    }

    private func advanceAll(_ selected: [any ProjectionDriving], _ role: ProjectionRole, progress: ProjectionProgress?) throws {
        guard !selected.isEmpty else { return }
        let run = UInt64(min(eventsPerStep, Self.runEventsMax))
        let commitAfter = role == .build ? max(rebuildCommitEvents, eventsPerStep) : eventsPerStep
        var prefetch: (after: UInt64, run: Promise<DecodedEvents>)?
        defer { for d in selected { try? d.flush(role) } }
        while true {
            let head = try log.headPosition()
            let from = try selected.map { try $0.checkpoint(role) }.min() ?? head
            guard from < head else { break }
            if head - from > run && selected.allSatisfy(\.keyedByMember) {
                // Projections keyed by member only (with another projection, one decoding shared
                // by all of them costs less: below): one thread per partition of the members,
                // each decoding and applying its members' events (`PartitionedRun`).
                try PartitionedRun(selected, store: store, role: role, commitAfter: commitAfter, shape: partitionShape)
                    .run(log, after: from, through: head) { name, position in progress?(name, position, head) }
                continue
            }
            if selected.count > 1 && head - from > run {
                // Several projections and more than a run: each on a thread of its own, fed by
                // this one (`RunPipeline`).
                try RunPipeline(selected, role: role, runEvents: Int(run), commitAfter: commitAfter)
                    .run(log, after: from, through: head) { name, position in progress?(name, position, head) }
                continue
            }
            let feed = try prefetch.flatMap { $0.after == from ? try $0.run.get() : nil }
                ?? DecodedEvents.read(log, after: from, through: min(head, from + run))
            prefetch = feed.through < head
                ? (feed.through, DecodedEvents.prefetch(log, after: feed.through, through: min(head, feed.through + run))) : nil
            for d in selected {
                _ = try d.step(role, eventsMax: Int(run), through: nil, feed: feed, commitAfter: commitAfter)
                progress?(d.name, try d.checkpoint(role), head)
            }
        }
        for d in selected { try d.flush(role) }
    }

    public func status() throws -> [ProjectionStatus] {
        let head = try log.head()
        return try drivers.map { d in
            let (live, build) = try store.env.read { txn in (try store.meta(d.name, .live, txn: txn), try store.meta(d.name, .build, txn: txn)) }
            var lag: Int64 = 0
            if let live, live.checkpoint < head.position, live.checkpoint > 0 { lag = max(0, head.recordedAt - live.checkpointRecordedAt) }
            if let live, live.checkpoint == 0, head.position > 0, let first = try log.event(at: 1) { lag = head.recordedAt - first.recordedAt }
            var status = ProjectionStatus(name: d.name, codeVersion: d.version, storedVersion: live?.version, generation: live?.generation,
                                          checkpoint: live?.checkpoint ?? 0, head: head.position, lagMicroseconds: lag,
                                          buildCheckpoint: build?.checkpoint)
            status.stop = try store.env.read { txn in try store.stop(d.name, txn: txn) }
            return status
        }
    }

    /// The determinism check: the digest of the live projection at its checkpoint, and of a fresh
    /// fold of the log through the same position (in memory; nothing is written).
    public func checkDeterminism(_ name: String) throws -> (checkpoint: UInt64, live: String, rebuilt: String, entries: Int) {
        let d = try driver(name)
        return try locked {
            guard let live = try store.digest(name, .live) else { throw ProjectionError.unknownProjection(name + " (not built yet)", known: Self.names) }
            let fresh = try d.digestOfFreshFold(through: live.checkpoint)
            return (live.checkpoint, live.digest, fresh.digest, live.entries)
        }
    }

    /// SHA-256 digest of the live projection's entries and the checkpoint it covers.
    public func digest(_ name: String) throws -> (checkpoint: UInt64, entries: Int, digest: String)? {
        _ = try driver(name)
        return try store.digest(name, .live)
    }

    // MARK: Queries (read the live tables; call `catchUp` first for an answer as of the head)

    public func balance(_ member: String, at t: Timestamp) throws -> Balance? {
        try store.value(Balances.self, key: ProjectionKey.component(member)).map { $0.balance(member, at: t) }
    }

    public func memberView(_ member: String) throws -> MemberView? {
        try store.value(MemberViews.self, key: ProjectionKey.component(member))
    }

    /// Every member view with its balance at `t`, in member id order.
    public func forEachMember(at t: Timestamp, _ body: (String, MemberView, Balance?) throws -> Void) throws {
        try store.forEach(MemberViews.self) { member, view in
            try body(member, view, try balance(member, at: t))
        }
    }
}

/// A shared projection commit running on another thread while the next step applies.
final class InFlightCommit: @unchecked Sendable {
    // @unchecked: `pending` (closures, not Sendable) is run by the committing thread only, and
    // read by the caller only after `wait()` returned; the result crosses through a `Promise`.
    let pending: [PendingProjectionCommit]
    private let result = Promise<[Bool]>()

    /// The commit runs on a thread of its own, not on Dispatch's global queue: its waiter blocks
    /// a thread (maybe one of the pool's) until it ends, and must not wait for a pool it fills.
    /// The thread only runs `pending`'s `write` closures, which touch the store (LMDB,
    /// thread-safe) and the copies of the changed entries taken at the hand-off (their storage
    /// shared copy-on-write with the cache), never a worker's cache itself.
    init(store: ProjectionStore, pending: [PendingProjectionCommit], written: @escaping @Sendable () -> Void) {
        self.pending = pending
        let thread = Thread { [self] in
            let outcome = Result { try store.env.write { txn in try self.pending.map { try $0.write(txn) } } }
            if case .success(let w) = outcome, !w.contains(false) { written() }
            result.fulfill(outcome)
        }
        thread.name = "projection commit"
        thread.start()
    }

    /// Waits for the commit (again at once when called again).
    func wait() -> Result<[Bool], any Error> { result.wait() }
}

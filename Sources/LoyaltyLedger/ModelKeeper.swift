import Foundation
import LedgerJSON
import LedgerStore
import LoyaltyDomain
import Synchronization

/// Keeps the domain model equal to the log plus the decisions queued for it, in log order.
///
/// Decisions are made *ahead*, on the caller's thread: under the model's lock a command is decided,
/// its events are applied to the model at once (so the next decision sees them), and its drafts are
/// queued to the log's writer before the lock is released. The lock makes the order of decisions
/// the order of the writer's queue, which is the order in the log, so no two decisions race and the
/// writer thread only validates and stores (deciding on it left the import's second core idle).
///
/// A decision made ahead rests on every decision queued before it. When one of those does not
/// commit (its batch fails validation, its group fails), the model holds effects the log will never
/// have: the `epoch` moves on, every decision of the older epoch still queued is refused as
/// `StaleDecision` when the writer reaches it (its caller decides again), and the model is folded
/// anew from the log on the writer thread at the start of the next group, when nothing is staged.
/// Until then decisions run on the writer thread, and none is made ahead while such
/// a decision is queued: the two would reach the model out of log order.
final class ModelKeeper: CommitObserver {
    /// What the writer thread and the deciders share about the queue. Its own lock, held briefly:
    /// a decision holds the model's lock for a whole batch, and the writer must not wait for it.
    struct Book {
        /// The last position staged from the log (decisions queued but not staged are not counted).
        var through: UInt64 = 0
        /// The model holds effects the log will not have: fold it anew before the next decision.
        var needsRebuild = false
        /// Moves on whenever effects applied ahead may be lost; a decision made in an older epoch
        /// is not written.
        var epoch: UInt64 = 0
        /// Decisions made ahead and queued that the writer has not reached yet.
        var aheadQueued = 0
        /// Decisions queued to run on the writer thread that it has not run yet.
        var writerQueued = 0
        /// Events the request being staged applied ahead (set when the writer reaches it);
        /// `staged` skips them. Non-zero at the next request or at the group's end: the request
        /// did not stage (it failed), so the model is wrong.
        var preApplied = 0
        /// Something was staged in the current group (a rebuild now would miss it).
        var stagedSinceCommit = false

        /// True when a decision may be made ahead: the model is the log plus the decisions queued,
        /// in order.
        var canDecideAhead: Bool { !needsRebuild && writerQueued == 0 }

        /// Notes that effects applied ahead will not be written: refuse every decision of the
        /// current epoch still queued, and fold the model anew.
        mutating func invalidate() {
            needsRebuild = true
            epoch &+= 1
            preApplied = 0
        }
    }

    /// The model and what it loaded from the store. Lock order: `model`, then `book`.
    let model = Mutex(DecisionState(store: nil))
    let book = Mutex(Book())
    /// Set at open, before any decision; used to rebuild from the log.
    nonisolated(unsafe) weak var log: EventLog?
    /// The checkpointed state, set at open (nil: none usable; the model then holds everything).
    nonisolated(unsafe) var store: DecisionStore?
    /// This process holds the writer lock: it catches the store up and flushes it.
    nonisolated(unsafe) var writable = false
    /// When the last flush ran (flushes are due by dirty keys or by time).
    let lastFlush = Mutex(ContinuousClock.now)

    // MARK: CommitObserver (writer thread)

    func groupStarted() {
        let rebuild = book.withLock { b in
            // A group that runs again after the map grew: what its first run staged is gone.
            if b.stagedSinceCommit || b.preApplied > 0 { b.invalidate() }
            b.stagedSinceCommit = false
            return b.needsRebuild
        }
        // Nothing is staged now, so the committed log is all there is: the one safe moment.
        if rebuild, let log {
            do { try rebuildNow(from: log) } catch {
                // Left for the next group; decisions meanwhile run on the writer and fail the same way.
            }
        }
    }

    func staged(_ events: StagedEvents) {
        let raw = book.withLock { b -> Int in
            let ahead = min(b.preApplied, events.count)
            if ahead > 0 { b.through = max(b.through, events.position(ahead - 1)) }
            b.preApplied = 0
            b.stagedSinceCommit = true
            return ahead
        }
        guard raw < events.count else { return }
        // Events appended raw, not decided here (every decision applies its events as it decides).
        model.withLock { m in
            book.withLock { b in
                for i in raw..<events.count {
                    let event = events[i]
                    // A domain event appended raw while decisions made ahead wait behind it: they
                    // did not see it. Apply it, and have them decided again.
                    if b.aheadQueued > 0 && DomainEvent.isDomainType(event.type) { b.invalidate() }
                    do {
                        try m.apply(event, book: &b)
                    } catch {
                        // The model cannot follow the log: fold it anew, which names the event to
                        // every decision and read from now on (`StoredEventError`).
                        b.invalidate()
                    }
                }
            }
        }
    }

    func groupEnded(committed: Bool) {
        book.withLock { b in
            // A request that applied events ahead and then failed validation in the log.
            if b.preApplied > 0 { b.invalidate() }
            if !committed && b.stagedSinceCommit { b.invalidate() }
            b.stagedSinceCommit = false
        }
    }

    // MARK: Deciding

    /// Refused when the writer reaches it: a decision queued before this one did not commit, so
    /// this one rested on effects the log does not have. The caller decides again.
    struct StaleDecision: Error {}

    /// What a decision returns: the events to append (already applied to the model) and what to
    /// tell the caller. It throws only before applying anything.
    typealias Decide<T> = @Sendable (inout DecisionState) throws -> (decided: Decided, answer: T)

    /// Decided commands and their events, in order. They are encoded into drafts on the writer
    /// thread when it reaches them: the decider is the import's busier thread. Flat (one array of
    /// events, one of commands), so the writer thread neither allocates an array per command nor
    /// copies tuples, nor frees them.
    struct Decided: Sendable {
        /// Who asked for these commands (stored with each event; see `Ledger.execute`).
        var actor: String? = nil
        private(set) var commands: [Command] = []
        private(set) var events: [DomainEvent] = []
        /// `ends[c]`: the end of command `c`'s events in `events`.
        private(set) var ends: [Int] = []

        init(actor: String? = nil) { self.actor = actor }

        var eventCount: Int { events.count }

        mutating func reserveCapacity(commands n: Int) {
            commands.reserveCapacity(n)
            ends.reserveCapacity(n)
            events.reserveCapacity(2 * n)
        }

        /// Applies `decided`, the events of `command`, to the model (the next decision must see
        /// them) and records them. Events that do not apply (a contradiction, a limit passed)
        /// refuse the command: the state and this record stay exactly as they were.
        mutating func append(_ decided: [DomainEvent], of command: Command, applyingTo state: inout DecisionState) throws(DomainError) {
            do throws(FoldError) {
                try state.model.apply(contentsOf: decided, at: command.at)
            } catch {
                throw .cannotApply(error)
            }
            state.dirty.note(contentsOf: decided)
            commands.append(command)
            events.append(contentsOf: decided)
            ends.append(events.count)
        }

        /// The range of command `c`'s events in `events`.
        func eventRange(_ c: Int) -> Range<Int> { (c == 0 ? 0 : ends[c - 1])..<ends[c] }
    }

    /// Decides with `decide` and queues its drafts: ahead, on this thread, when the model allows;
    /// on the writer thread otherwise. `done` gets the answer (or the error) after the commit, on
    /// the writer thread. The order of calls is the order of the events in the log.
    @discardableResult
    func submit<T: Sendable>(_ decide: @escaping Decide<T>, to log: EventLog,
                             done: @escaping @Sendable (Result<(T, AppendResult), any Error>) -> Void) -> DecisionSlot<T> {
        let slot = DecisionSlot<T>()
        let reply: AppendReply = { result in
            // (The answer is set before the drafts reach the writer; without one, nothing
            // was decided: decide again.)
            done(result.flatMap { appended in
                guard let answer = slot.answer.withLock({ $0 }) else { return .failure(StaleDecision()) }
                return .success((answer, appended))
            })
        }
        do {
            try model.withLock { m in
                let (ahead, epoch) = book.withLock { b in (b.canDecideAhead, b.epoch) }
                if ahead {
                    let (decided, answer) = try decide(&m)
                    let eventCount = decided.eventCount
                    slot.answer.withLock { $0 = answer }
                    slot.decided.withLock { $0 = decided }
                    try book.withLock { b in
                        do {
                            try log.enqueue(deciding: { [self] in
                                try claim(epoch: epoch, events: eventCount, first: slot.firstRun())
                                return try slot.decided.withLock { d throws(DomainError) in try d.map(Ledger.drafts) } ?? []
                            }, reply: reply)
                        } catch {
                            if eventCount > 0 { b.invalidate() }  // applied, and never to be written
                            throw error
                        }
                        b.aheadQueued += 1
                    }
                } else {
                    try book.withLock { b in
                        try log.enqueue(deciding: { [self] in
                            try model.withLock { m in
                                try prepareOnWriter(&m, first: slot.firstRun(), log: log)
                                let (decided, answer) = try decide(&m)
                                slot.answer.withLock { $0 = answer }
                                book.withLock { $0.preApplied = decided.eventCount }
                                return try Ledger.drafts(decided)
                            }
                        }, reply: reply)
                        b.writerQueued += 1
                    }
                }
            }
        } catch {
            done(.failure(error))
        }
        return slot
    }

    /// One queued decision: its answer, its decided events until they are encoded, and whether
    /// the writer ran it before (a group runs again after the map grew: the queue counters count
    /// a request once).
    final class DecisionSlot<T: Sendable>: Sendable {
        let answer = Mutex<T?>(nil)
        let decided = Mutex<Decided?>(nil)
        private let ran = Atomic<Bool>(false)
        func firstRun() -> Bool { !ran.exchange(true, ordering: .relaxed) }

        /// Frees the decided events on the caller's thread, once the outcome arrived, so the
        /// writer thread (an import's bottleneck) never frees them.
        func release() { _ = decided.withLock { $0.take() } }
    }

    /// The writer reached a decision made ahead in `epoch`: it is written if nothing before it
    /// failed since.
    private func claim(epoch: UInt64, events: Int, first: Bool) throws {
        try book.withLock { b in
            if first { b.aheadQueued -= 1 }
            if b.preApplied > 0 { b.invalidate() }  // the request before this one applied ahead and failed
            guard b.epoch == epoch else { throw StaleDecision() }
            b.preApplied = events
        }
    }

    /// Makes the model fit for a decision on the writer thread (it holds the model's lock), or
    /// refuses it (`StaleDecision`).
    private func prepareOnWriter(_ m: inout DecisionState, first: Bool, log: EventLog) throws {
        let rebuild = try book.withLock { b in
            if first { b.writerQueued -= 1 }
            if b.preApplied > 0 { b.invalidate() }
            guard b.needsRebuild else { return false }
            // Mid-group, the committed log lacks what this group staged: decide in the next group.
            guard !b.stagedSinceCommit else { throw StaleDecision() }
            return true
        }
        if rebuild { try rebuildLocked(&m, from: log) }
    }

    // MARK: Reading and folding

    /// Runs `body` on the model: the log plus the decisions queued for it, with `member` loaded
    /// when given. After a failure, before the writer folded the model anew, on a fresh state
    /// caught up from the store instead.
    func read<T>(member: String? = nil, _ body: (LedgerModel) throws -> T) throws -> T {
        try read(prefetch: { state in if let member { try state.prefetch(member: member) } }, body)
    }

    /// `read`, with what `prefetch` loads into the state first.
    func read<T>(prefetch: (inout DecisionState) throws -> Void, _ body: (LedgerModel) throws -> T) throws -> T {
        try restartingIfMoved { try readOnce(prefetch: prefetch, body) }
    }

    /// Runs `read`, and for a reader whose store was flushed past its checkpoint meanwhile
    /// (`DecisionStateMoved`), starts again from the new checkpoint (a few times at most).
    private func restartingIfMoved<T>(_ read: () throws -> T) throws -> T {
        for _ in 1 ..< Self.readRestartsMax {
            do { return try read() } catch is DecisionStateMoved {
                try model.withLock { m in
                    let (fresh, folded) = try freshState()
                    m = fresh
                    book.withLock { b in b.through = folded.through }
                }
            }
        }
        return try read()
    }

    static let readRestartsMax = 4

    private func readOnce<T>(prefetch: (inout DecisionState) throws -> Void, _ body: (LedgerModel) throws -> T) throws -> T {
        // (`body` runs under the lock and its value leaves it: unchecked, as `withLock` wants
        // Sendable results.)
        nonisolated(unsafe) var value: T?
        let current = try model.withLock { m -> Bool in
            guard !book.withLock({ $0.needsRebuild }) else { return false }
            try followLocked(&m)
            try prefetch(&m)
            value = try body(m.model)
            return true
        }
        if current, let value { return value }
        var (fresh, _) = try freshState()
        try prefetch(&fresh)
        return try body(fresh.model)
    }

    /// Runs `body` on a model holding every member and owner entry (loaded from the store: the
    /// cost grows with the program, for reports and checks, never for a decision).
    func readEverything<T>(_ body: (LedgerModel) throws -> T) throws -> T {
        try restartingIfMoved { try readEverythingOnce(body) }
    }

    private func readEverythingOnce<T>(_ body: (LedgerModel) throws -> T) throws -> T {
        nonisolated(unsafe) var value: T?
        let current = try model.withLock { m -> Bool in
            guard !book.withLock({ $0.needsRebuild }) else { return false }
            try followLocked(&m)
            try m.loadEverything()
            value = try body(m.model)
            return true
        }
        if current, let value { return value }
        var (fresh, _) = try freshState()
        try fresh.loadEverything()
        return try body(fresh.model)
    }

    /// A reader (another process writes) folds what was committed since it last looked, so
    /// every read answers as of the log's head. A writer's model follows its own commits.
    private func followLocked(_ m: inout DecisionState) throws {
        guard !writable, let log else { return }
        var b = book.withLock { $0 }
        while true {
            let batch = try log.events(after: b.through, limit: 4_096)
            guard let last = batch.last else { break }
            for i in batch.indices { try m.apply(batch[i], book: &b) }
            b.through = max(b.through, last.position)
        }
        book.withLock { $0.through = b.through }
    }

    /// The bookkeeping, read under its lock.
    func readBook<T: Sendable>(_ body: (Book) -> T) -> T { book.withLock { body($0) } }

    /// Applies a stored event to a model holding everything (no store: `Ledger.neutralise`'s
    /// fold); one that does not decode or apply throws `StoredEventError` naming it, and leaves
    /// `model` as it was.
    static func apply(_ e: RecordedEvent, model: inout LedgerModel, book b: inout Book) throws(StoredEventError) {
        if let event = try decode(e) { try apply(event, of: e, to: &model) }
        b.through = max(b.through, e.position)
    }

    /// The domain event `e` holds; nil when no fold applies it (not a domain type, or neutralised).
    static func decode(_ e: RecordedEvent) throws(StoredEventError) -> DomainEvent? {
        guard DomainEvent.isDomainType(e.type), e.neutralisedBy == nil else { return nil }
        do {
            return try DomainEvent.decode(type: e.type, schemaVersion: e.schemaVersion, bytes: e.data)
        } catch {
            throw StoredEventError(e, reason: "it does not decode: \(error)")
        }
    }

    /// Applies `event`, decoded from `e`, at `e`'s business time; a contradiction names `e`.
    static func apply(_ event: DomainEvent, of e: RecordedEvent, to model: inout LedgerModel) throws(StoredEventError) {
        do throws(FoldError) {
            try model.apply(event, at: Timestamp(microseconds: e.occurredAt))
        } catch {
            throw StoredEventError(e, reason: error.message)
        }
    }

    // MARK: Opening, catching up, flushing

    /// Opens the decision state at open of the ledger: the stored checkpoint when it belongs to
    /// this log, caught up with the events after it; otherwise (none, damaged, another log or
    /// format) a fold from position 0, flushed as it goes when this process writes.
    func open(log: EventLog, ledgerPath: String, writable: Bool) throws {
        self.log = log
        self.writable = writable
        do {
            store = try DecisionStore.open(ledgerPath: ledgerPath, writable: writable)
        } catch where !writable {
            store = nil  // a reader folds in memory instead of a damaged store it may not repair
        }
        try model.withLock { m in
            var attempt = 1
            var (fresh, folded): (DecisionState, Book)
            while true {
                do {
                    (fresh, folded) = try freshState(flushing: writable)
                    break
                } catch is DecisionStateMoved where attempt < Self.readRestartsMax {
                    attempt += 1  // a reader: the writer flushed while this open caught up
                }
            }
            m = fresh
            book.withLock { b in
                var folded = folded
                folded.epoch = b.epoch &+ 1
                b = folded
            }
            // A writer leaves a checkpoint at its head (a fresh store gets its first one here).
            let stored = try store?.checkpoint()?.position
            if writable, !m.dirty.isEmpty || stored != book.withLock({ $0.through }) {
                try flushLocked(&m)
            }
        }
    }

    /// A state caught up with the committed log: from the store's checkpoint when it is usable,
    /// else from position 0 (clearing the store first when `flushing`). With `flushing`, the
    /// state is flushed whenever `flushDirtyKeysMin` keys are dirty, so memory stays bounded.
    func freshState(flushing: Bool = false) throws -> (DecisionState, Book) {
        guard let log else { preconditionFailure("the model is read after its log was released") }
        var state = DecisionState(store: store)
        var folded = Book()
        if let store {
            if let start = try usableCheckpoint(store, log: log) {
                state.model = start.model
                state.pinnedCheckpoint = writable ? nil : start.position
                folded.through = start.position
            } else if flushing {
                try store.clear()
            } else {
                state = DecisionState(store: nil)
            }
        }
        while true {
            let batch = try log.events(after: folded.through, limit: 4_096)
            guard let last = batch.last else { break }
            for i in batch.indices { try state.apply(batch[i], book: &folded) }
            folded.through = max(folded.through, last.position)
            if flushing, state.dirty.count >= Self.flushDirtyKeysMin {
                try flush(&state, through: folded.through)
            }
        }
        return (state, folded)
    }

    /// The stored checkpoint and its program-wide state, when they belong to this log as it is.
    private func usableCheckpoint(_ store: DecisionStore, log: EventLog) throws -> (model: LedgerModel, position: UInt64)? {
        let (checkpoint, program) = try store.read { r in (try r.checkpoint(), try r.program()) }
        guard let checkpoint, let program, checkpoint.format == LedgerModel.stateFormatVersion,
              checkpoint.ledgerId == log.ledgerIdentifier,
              checkpoint.position <= (try log.headPosition()),
              checkpoint.neutralised == (try log.neutralisedPositions().count) else { return nil }
        if checkpoint.position > 0 {
            guard let hash = try log.chainHash(at: checkpoint.position), hash.bytes == checkpoint.hash else { return nil }
        }
        guard let model = try? LedgerModel(programStateBytes: program) else { return nil }
        return (model, checkpoint.position)
    }

    /// Dirty keys past which a flush is due (and a fold from position 0 flushes as it goes).
    /// `LOYALTY_STATE_FLUSH_KEYS` sets it (the crash tests flush often, to be killed mid-flush).
    static let flushDirtyKeysMin = ProcessInfo.processInfo.environment["LOYALTY_STATE_FLUSH_KEYS"].flatMap(Int.init).map { max($0, 1) } ?? 2_000_000
    /// Time after which a flush is due whatever the dirty keys.
    static let flushIntervalMax = Duration.seconds(2)

    /// Writes the dirty keys of `state`, reflecting the log through `through`, to the store.
    private func flush(_ state: inout DecisionState, through: UInt64) throws {
        guard writable, let store = state.store, let log else { return }
        let checkpoint = DecisionStore.Checkpoint(
            format: LedgerModel.stateFormatVersion, ledgerId: log.ledgerIdentifier, position: through,
            hash: through == 0 ? [] : (try log.chainHash(at: through)?.bytes ?? []),
            neutralised: try log.neutralisedPositions().count)
        try store.write(state.flush(checkpoint))
        state.flushed()
        lastFlush.withLock { $0 = .now }
    }

    /// Flushes the model (lock held) when it is exactly the committed log: nothing queued ahead
    /// or on the writer, nothing staged, no rebuild pending. Returns whether it flushed.
    @discardableResult
    private func flushLocked(_ m: inout DecisionState) throws -> Bool {
        let through: UInt64? = book.withLock { b in
            guard b.aheadQueued == 0, b.writerQueued == 0, b.preApplied == 0, !b.stagedSinceCommit, !b.needsRebuild else { return nil }
            return b.through
        }
        guard let through else { return false }
        try flush(&m, through: through)
        return true
    }

    /// Flushes when due (`flushDirtyKeysMin` dirty keys or `flushIntervalMax` since the last
    /// flush) and the writer is idle; `force`: whenever anything is dirty. Never waits for the
    /// model's lock. Returns whether the state is flushed (nothing dirty is left).
    @discardableResult
    func flushIfDue(force: Bool = false) -> Bool {
        guard writable else { return false }
        let due = force || ContinuousClock.now - lastFlush.withLock({ $0 }) > Self.flushIntervalMax
        let result = model.withLockIfAvailable { m -> Bool in
            guard !m.dirty.isEmpty else { return true }
            guard due || m.dirty.count >= Self.flushDirtyKeysMin else { return false }
            return (try? flushLocked(&m)) ?? false
        }
        return result ?? false
    }

    /// Dirty keys now (a hint for callers pacing their flushes).
    var dirtyKeyCount: Int { model.withLockIfAvailable { $0.dirty.count } ?? 0 }

    /// Folds the state anew for a caller holding the model's lock. The queue counters stay; the
    /// epoch moves on (effects applied ahead are gone).
    private func rebuildLocked(_ m: inout DecisionState, from log: EventLog) throws {
        var (fresh, folded) = try freshState()
        m = fresh
        book.withLock { b in
            folded.epoch = b.epoch &+ 1
            folded.aheadQueued = b.aheadQueued
            folded.writerQueued = b.writerQueued
            folded.stagedSinceCommit = b.stagedSinceCommit
            b = folded
        }
    }

    /// Folds the committed log anew (after a failure).
    func rebuildNow(from log: EventLog) throws {
        try model.withLock { m in try rebuildLocked(&m, from: log) }
    }
}

extension ModelKeeper {
    /// Empties the store and folds the state anew from position 0, flushing as it goes (writer
    /// only; nothing may be queued).
    func rebuildStore() throws {
        guard writable, let store else { throw DecisionStateDamaged(description: "the decision state is rebuilt by a writer of the ledger") }
        try model.withLock { m in
            let idle = book.withLock { b in b.aheadQueued == 0 && b.writerQueued == 0 && !b.stagedSinceCommit }
            guard idle else { throw DecisionStateDamaged(description: "commands are being decided; rebuild when the ledger is idle") }
            try store.clear()
            let (fresh, folded) = try freshState(flushing: true)
            m = fresh
            book.withLock { b in
                var folded = folded
                folded.epoch = b.epoch &+ 1
                b = folded
            }
            try flushLocked(&m)
        }
    }
}

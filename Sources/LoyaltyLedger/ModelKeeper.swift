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
/// Until then decisions run on the writer thread (the old way), and none is made ahead while such
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

    /// The model. Lock order: `model`, then `book`.
    let model = Mutex(LedgerModel())
    let book = Mutex(Book())
    /// Set after open; used to rebuild from the log.
    nonisolated(unsafe) weak var log: EventLog?

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
                        try Self.apply(event, model: &m, book: &b)
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
    typealias Decide<T> = @Sendable (inout LedgerModel) throws -> (decided: Decided, answer: T)

    /// Decided commands and their events, in order. They are encoded into drafts on the writer
    /// thread when it reaches them: the decider is the import's busier thread. Flat (one array of
    /// events, one of commands): an array per command, and copies of its tuples, were 6 % of the
    /// writer thread and as much again to free.
    struct Decided: Sendable {
        private(set) var commands: [Command] = []
        private(set) var events: [DomainEvent] = []
        /// `ends[c]`: the end of command `c`'s events in `events`.
        private(set) var ends: [Int] = []

        var eventCount: Int { events.count }

        mutating func reserveCapacity(commands n: Int) {
            commands.reserveCapacity(n)
            ends.reserveCapacity(n)
            events.reserveCapacity(2 * n)
        }

        /// Applies `decided`, the events of `command`, to `model` (the next decision must see
        /// them) and records them. Events that do not apply (a contradiction, a limit passed)
        /// refuse the command: `model` and this record stay exactly as they were.
        mutating func append(_ decided: [DomainEvent], of command: Command, applyingTo model: inout LedgerModel) throws(DomainError) {
            do throws(FoldError) {
                try model.apply(contentsOf: decided, at: command.at)
            } catch {
                throw .cannotApply(error)
            }
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

        /// Frees the decided events on the caller's thread, once the outcome arrived: freed by
        /// the writer with its request, they were 8 % of an import's writer thread.
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
    private func prepareOnWriter(_ m: inout LedgerModel, first: Bool, log: EventLog) throws {
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

    /// Runs `body` on the model: the log plus the decisions queued for it. After a failure, before
    /// the writer folded the model anew, on a fresh fold of the committed log instead.
    func read<T>(_ body: (LedgerModel) throws -> T) throws -> T {
        // (`body` runs under the lock and its value leaves it: unchecked, as `withLock` wants
        // Sendable results.)
        nonisolated(unsafe) var value: T?
        let current = try model.withLock { m -> Bool in
            guard !book.withLock({ $0.needsRebuild }) else { return false }
            value = try body(m)
            return true
        }
        if current, let value { return value }
        guard let log else { preconditionFailure("the model is read after its log was released") }
        var fresh = LedgerModel(), folded = Book()
        try Self.fold(log, model: &fresh, book: &folded)
        return try body(fresh)
    }

    /// The bookkeeping, read under its lock.
    func readBook<T: Sendable>(_ body: (Book) -> T) -> T { book.withLock { body($0) } }

    /// Applies a stored event; one that does not decode or apply throws `StoredEventError`
    /// naming it, and leaves `model` as it was.
    static func apply(_ e: RecordedEvent, model: inout LedgerModel, book b: inout Book) throws(StoredEventError) {
        // Not a domain event (raw `append`, a `ledger.neutralised` event), or a neutralised one.
        guard DomainEvent.isDomainType(e.type), e.neutralisedBy == nil else {
            b.through = max(b.through, e.position)
            return
        }
        let event: DomainEvent
        do {
            event = try DomainEvent.decode(type: e.type, schemaVersion: e.schemaVersion, bytes: e.data)
        } catch {
            throw StoredEventError(e, reason: "it does not decode: \(error)")
        }
        do throws(FoldError) {
            try model.apply(event, at: Timestamp(microseconds: e.occurredAt))
        } catch {
            throw StoredEventError(e, reason: error.message)
        }
        b.through = max(b.through, e.position)
    }

    /// Folds the whole committed log anew (at open, or after a failure).
    func rebuildNow(from log: EventLog) throws {
        try model.withLock { m in try rebuildLocked(&m, from: log) }
    }

    /// `rebuildNow` for a caller holding the model's lock. The queue counters stay; the epoch
    /// moves on (effects applied ahead are gone).
    private func rebuildLocked(_ m: inout LedgerModel, from log: EventLog) throws {
        var fresh = LedgerModel(), folded = Book()
        try Self.fold(log, model: &fresh, book: &folded)
        m = fresh
        book.withLock { b in
            folded.epoch = b.epoch &+ 1
            folded.aheadQueued = b.aheadQueued
            folded.writerQueued = b.writerQueued
            folded.stagedSinceCommit = b.stagedSinceCommit
            b = folded
        }
    }

    /// Folds every committed event into `model` and `book`.
    static func fold(_ log: EventLog, model: inout LedgerModel, book: inout Book) throws {
        var position: UInt64 = 0
        while true {
            let batch = try log.events(after: position, limit: 4_096)
            guard let last = batch.last else { break }
            for i in batch.indices { try apply(batch[i], model: &model, book: &book) }
            position = last.position
        }
    }
}

public import LedgerStore
public import LoyaltyDomain
import LedgerJSON
import Foundation
import Synchronization

/// Where the ledger reads the time: the system clock, or one a test or a simulation sets.
public struct LedgerClock: Sendable {
    public let now: @Sendable () -> Timestamp

    public init(_ now: @escaping @Sendable () -> Timestamp) { self.now = now }

    public static let system = LedgerClock { .now() }

    /// A clock that always reads `t`.
    public static func fixed(_ t: Timestamp) -> LedgerClock { LedgerClock { t } }
}

/// What a command did.
public struct CommandOutcome: Sendable {
    /// The events written, with their positions (empty for a replay or a no-op).
    public var events: [(position: UInt64, event: DomainEvent)]
    /// True when the command's key was used before for this same command: nothing was written.
    public var replayed: Bool
    /// For a replay: the position of the original command's first event.
    public var originalPosition: UInt64?
}

/// The loyalty ledger: the event log plus the domain, shared by the CLI and the server.
/// Commands are decided one at a time under the model's lock, in the order they reach the log's
/// single writer (see `ModelKeeper`), so no two decisions race.
public final class Ledger: Sendable {
    public let log: EventLog
    let keeper: ModelKeeper
    /// The ledger's clock: the time rules check business times against it (`DecisionClock`).
    public let clock: LedgerClock

    /// Opens the ledger at `path`: the log, then the decision state from its checkpoint (see
    /// `DecisionStore`), caught up with the events after it. A ledger closed cleanly opens in
    /// constant time; after a crash, the open folds the events since the last flush.
    public static func open(path: String, create: Bool = false, writable: Bool = true,
                            clock: LedgerClock = .system,
                            configure: (inout EventLogOptions) -> Void = { _ in }) throws -> Ledger {
        let keeper = ModelKeeper()
        var options = EventLogOptions()
        options.create = create
        options.writable = writable
        configure(&options)
        options.commitObserver = keeper
        let log = try EventLog.open(path: path, options: options)
        do {
            try keeper.open(log: log, ledgerPath: path, writable: writable)
        } catch {
            // A stored event the model cannot fold (`StoredEventError`): no command can be
            // decided; the log's own readers (`events`, `verify`, ...) do not need the model.
            log.close()
            throw error
        }
        return Ledger(log: log, keeper: keeper, clock: clock)
    }

    /// The decision state for reading, over a log already open in this process (read-only): it
    /// starts from the stored checkpoint and folds what was committed after it before each read.
    /// Closing it is closing `log`.
    public static func reading(log: EventLog, path: String) throws -> Ledger {
        let keeper = ModelKeeper()
        try keeper.open(log: log, ledgerPath: path, writable: false)
        return Ledger(log: log, keeper: keeper, clock: .system)
    }

    private init(log: EventLog, keeper: ModelKeeper, clock: LedgerClock) {
        self.log = log
        self.keeper = keeper
        self.clock = clock
    }

    /// Flushes the decision state (so the next open starts from here) and closes the log.
    public func close() {
        keeper.flushIfDue(force: true)
        log.close()
    }

    /// Flushes the decision state now when the writer is idle (nothing queued); an import calls
    /// it between batches so that a crash leaves little to fold again. Returns whether nothing
    /// is left unflushed.
    @discardableResult
    public func checkpointState() -> Bool { keeper.flushIfDue(force: true) }

    /// True when a bulk writer (an import) should let its queued batches finish and call
    /// `checkpointState()`: the decision state has `ModelKeeper.flushDirtyKeysMin` keys
    /// unflushed. (A flush rewrites each changed member whole: bulk writers flush rarely, single
    /// commands when the writer is idle.)
    public var stateCheckpointDue: Bool { keeper.dirtyKeyCount >= ModelKeeper.flushDirtyKeysMin }

    /// Decides and appends `command` atomically; domain refusals throw `DomainError`. The time
    /// rules are checked against this machine's clock (`allowFuture`: see `DecisionClock`).
    /// `actor` (who asked: the server passes the API key's name) is stored with every event
    /// written; a replay keeps the original events and their actor.
    @discardableResult
    public func execute(_ command: Command, allowFuture: Bool = false, actor: String? = nil) async throws -> CommandOutcome {
        enum Answer: Sendable {
            case replay(key: String)
            case events([DomainEvent])
        }
        let clock = self.clock
        let (answer, result) = try await decideAndAppend { state -> (decided: ModelKeeper.Decided, answer: Answer) in
            try state.prefetch(command)
            switch try state.model.decideValidated(command, clock: DecisionClock(now: clock.now(), allowFuture: allowFuture)) {
            case .replay(let key):
                return (.init(), .replay(key: key))
            case .append(var events):
                // Expiry and tier evaluation can touch every member: commit them in slices
                // (each slice is idempotent; the loop below runs until nothing is left).
                if events.count > Self.sliceEventsMax { events = Array(events.prefix(Self.sliceEventsMax)) }
                var decided = ModelKeeper.Decided(actor: actor)
                try decided.append(events, of: command, applyingTo: &state)
                return (decided, .events(events))
            }
        }
        // An idle writer is the moment to flush the decision state, when a flush is due.
        keeper.flushIfDue()
        switch answer {
        case .replay(let key):
            // The original was queued before this replay, so it is committed (and its key in the
            // log's key table) by now: the log answers where it is, the model keeps no such table.
            let original = try log.position(ofKey: key + "#0")
            return CommandOutcome(events: [], replayed: true, originalPosition: original ?? 0)
        case .events(let events):
            var outcome = CommandOutcome(events: Array(zip(result.events.map(\.position), events)), replayed: false, originalPosition: nil)
            if events.count == Self.sliceEventsMax {
                let rest = try await execute(command, allowFuture: allowFuture, actor: actor)
                outcome.events += rest.events
            }
            return outcome
        }
    }

    static let sliceEventsMax = 5_000

    /// The outcome of one command of a batch.
    public enum BatchItem: Sendable {
        case written(events: Int)
        case replayed
        case refused(any Error)
    }

    /// Decides `commands` in order in one decision, each against the model with the events of the
    /// commands before it applied, and appends every accepted command's events as one atomic batch
    /// (one commit). A refused command is reported and skipped; the others stand. For imports:
    /// thousands of commands per fsync instead of one.
    public func executeBatch(_ commands: [Command], actor: String? = nil) async throws -> [BatchItem] {
        try await submitBatch(commands, actor: actor).value()
    }

    /// `executeBatch` in two halves: decides `commands` now and queues their events, then returns.
    /// Batches queued one after another reach the log in that order, so a caller can decide the
    /// next batch while the writer stores this one (`PendingBatch.value()` gives the outcomes).
    /// `actor`: as for `execute`.
    public func submitBatch(_ commands: [Command], allowFuture: Bool = false, actor: String? = nil) -> PendingBatch {
        precondition(!commands.isEmpty && commands.count <= 2_000, "1 to 2,000 commands per batch")
        let (promise, slot) = queue(Self.batchDecision(commands, allowFuture: allowFuture, actor: actor, now: clock))
        return PendingBatch(ledger: self, commands: commands, allowFuture: allowFuture, actor: actor, first: promise, slot: slot)
    }

    /// A batch queued by `submitBatch`.
    public struct PendingBatch: Sendable {
        let ledger: Ledger
        let commands: [Command]
        let allowFuture: Bool
        let actor: String?
        let first: Promise<([BatchItem], AppendResult)>
        let slot: ModelKeeper.DecisionSlot<[BatchItem]>

        /// The outcome of each command, after the commit that carried the batch.
        public func value() async throws -> [BatchItem] {
            defer {
                slot.release()
                ledger.keeper.flushIfDue()
            }
            do {
                return try await first.value.0
            } catch is ModelKeeper.StaleDecision {
                return try await ledger.decideAndAppend(Ledger.batchDecision(commands, allowFuture: allowFuture, actor: actor, now: ledger.clock)).0
            }
        }
    }

    static func batchDecision(_ commands: [Command], allowFuture: Bool, actor: String?, now: LedgerClock) -> ModelKeeper.Decide<[BatchItem]> {
        { state in
            let clock = DecisionClock(now: now.now(), allowFuture: allowFuture)
            var decided = ModelKeeper.Decided(actor: actor)
            decided.reserveCapacity(commands: commands.count)
            var out: [BatchItem] = []
            out.reserveCapacity(commands.count)
            let notLoaded = state.prefetch(commands)
            for (i, command) in commands.enumerated() {
                do {
                    if !notLoaded.isEmpty, let error = notLoaded[i] { throw error }
                    switch try state.model.decideValidated(command, clock: clock) {
                    case .replay: out.append(.replayed)
                    case .append(let events):
                        try decided.append(events, of: command, applyingTo: &state)
                        out.append(.written(events: events.count))
                    }
                } catch {
                    out.append(.refused(error))
                }
            }
            return (decided, out)
        }
    }

    /// Queues `decide` (see `ModelKeeper.submit`); the promise is kept after the commit.
    func queue<T: Sendable>(_ decide: @escaping ModelKeeper.Decide<T>) -> (Promise<(T, AppendResult)>, ModelKeeper.DecisionSlot<T>) {
        let promise = Promise<(T, AppendResult)>()
        let slot = keeper.submit(decide, to: log) { promise.fulfill($0) }
        return (promise, slot)
    }

    /// Queues `decide` and waits for its commit, deciding again when a decision queued before it
    /// failed (`StaleDecision`: only after a failed commit or a refused batch).
    func decideAndAppend<T: Sendable>(_ decide: @escaping ModelKeeper.Decide<T>) async throws -> (T, AppendResult) {
        for attempt in 1...Self.decisionAttemptsMax {
            let (promise, slot) = queue(decide)
            defer { slot.release() }
            do {
                return try await promise.value
            } catch is ModelKeeper.StaleDecision where attempt < Self.decisionAttemptsMax {
                continue
            }
        }
        preconditionFailure("the last attempt returns or throws")
    }

    /// How often a command is decided before a `StaleDecision` reaches its caller (each retry
    /// follows a failure of another request; more in a row means the log keeps failing).
    static let decisionAttemptsMax = 8

    /// The drafts of decided commands, in order (on the writer thread, when it reaches them).
    /// Each event is stored as the bytes `checkRoundTrip` read back to the same event; one that
    /// does not read back fails the whole request (nothing of it is written, the model is folded
    /// anew from the log before the next decision, and the error names the event).
    static func drafts(_ decided: ModelKeeper.Decided) throws(DomainError) -> [EventDraft] {
        var out: [EventDraft] = []
        out.reserveCapacity(decided.eventCount)
        for c in decided.commands.indices {
            let key = decided.commands[c].idempotencyKey
            let occurredAt = decided.commands[c].at.microseconds
            let range = decided.eventRange(c)
            for i in range {
                let event = decided.events[i]  // (one copy, not one per property read)
                out.append(EventDraft(type: event.type, schemaVersion: DomainEvent.schemaVersion, member: event.stream,
                                      occurredAt: occurredAt, data: try event.checkRoundTrip(),
                                      idempotencyKey: key.map { eventKey($0, i - range.lowerBound) }, actor: decided.actor))
            }
        }
        return out
    }

    /// The log key of event `index` of the command keyed `key`: `key#index` (built with one
    /// allocation: one key per event written).
    static func eventKey(_ key: String, _ index: Int) -> String {
        var out = String()
        out.reserveCapacity(key.utf8.count + 4)
        out += key
        out += "#"
        out += String(index)
        return out
    }

    /// A member's balance at `at` (default: now), from the decision state.
    /// (Reads see the log plus the decisions queued for it, like the next decision does.)
    public func balance(_ member: String, at: Timestamp = .now()) throws -> Balance? {
        try keeper.read(member: member) { $0.balance(member, at: at) }
    }

    /// Purchase `purchaseId`'s member and store, from the decision state; nil when no such
    /// purchase was recorded. (A return names only the purchase: the server checks a till's
    /// store with this.)
    public func purchase(_ purchaseId: String) throws -> (member: String, store: String)? {
        try keeper.read(prefetch: { try $0.prefetch(purchase: purchaseId) }) { model in
            guard let member = model.purchaseOwners[purchaseId], let store = model.members[member]?.purchases[purchaseId]?.store else { return nil }
            return (member, store)
        }
    }

    public func member(_ id: String) throws -> MemberState? {
        try keeper.read(member: id) { $0.member(id) }
    }

    /// Runs `body` with a model holding every member (loaded from the decision state: memory
    /// grows with the program; for reports, checks and tests, never for one member).
    public func withModel<T>(_ body: (LedgerModel) throws -> T) throws -> T {
        try keeper.readEverything { try body($0) }
    }

    public func rules(at: Timestamp = .now()) throws -> ProgramRules {
        try keeper.read { $0.rules(at: at) }
    }
}

public import LedgerStore
public import LoyaltyDomain
import LedgerJSON
import Foundation
import Synchronization

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
/// Commands are decided on the log's single writer thread, so no two decisions race.
public final class Ledger: Sendable {
    public let log: EventLog
    let keeper: ModelKeeper

    public static func open(path: String, create: Bool = false, writable: Bool = true,
                            configure: (inout EventLogOptions) -> Void = { _ in }) throws -> Ledger {
        let keeper = ModelKeeper()
        var options = EventLogOptions()
        options.create = create
        options.writable = writable
        configure(&options)
        options.commitObserver = keeper
        let log = try EventLog.open(path: path, options: options)
        keeper.log = log
        try keeper.rebuild(from: log)
        return Ledger(log: log, keeper: keeper)
    }

    private init(log: EventLog, keeper: ModelKeeper) {
        self.log = log
        self.keeper = keeper
    }

    public func close() { log.close() }

    /// Decides and appends `command` atomically; domain refusals throw `DomainError`.
    @discardableResult
    public func execute(_ command: Command) async throws -> CommandOutcome {
        let keeper = self.keeper
        let decided = Mutex<(events: [DomainEvent], replay: UInt64?)>(([], nil))
        let result = try await log.append(deciding: {
            try keeper.withModel { state in
                switch try state.model.decide(command) {
                case .replay(let key):
                    decided.withLock { $0 = ([], ModelKeeper.outcome(state, commandKey: key) ?? 0) }
                    return []
                case .append(var events):
                    // Expiry and tier evaluation can touch every member: commit them in slices
                    // (each slice is idempotent; the loop below runs until nothing is left).
                    if events.count > Self.sliceEventsMax { events = Array(events.prefix(Self.sliceEventsMax)) }
                    decided.withLock { $0 = (events, nil) }
                    return Self.drafts(events, command: command)
                }
            }
        })
        let (events, replay) = decided.withLock { $0 }
        if let replay { return CommandOutcome(events: [], replayed: true, originalPosition: replay) }
        var outcome = CommandOutcome(events: Array(zip(result.events.map(\.position), events).map { ($0, $1) }), replayed: false, originalPosition: nil)
        if events.count == Self.sliceEventsMax {
            let rest = try await execute(command)
            outcome.events += rest.events
        }
        return outcome
    }

    static let sliceEventsMax = 5_000

    /// The outcome of one command of a batch.
    public enum BatchItem: Sendable {
        case written(events: Int)
        case replayed
        case refused(any Error)
    }

    /// Decides `commands` in order in one writer-thread decision, each against the model with the
    /// events of the commands before it applied, and appends every accepted command's events as
    /// one atomic batch (one commit). A refused command is reported and skipped; the others
    /// stand. For imports: thousands of commands per fsync instead of one.
    public func executeBatch(_ commands: [Command]) async throws -> [BatchItem] {
        precondition(!commands.isEmpty && commands.count <= 2_000, "1 to 2,000 commands per batch")
        let keeper = self.keeper
        let items = Mutex<[BatchItem]>([])
        _ = try await log.append(deciding: {
            try keeper.withModel { state in
                var decided: [(events: [DomainEvent], command: Command)] = []
                decided.reserveCapacity(commands.count)
                var out: [BatchItem] = []
                for command in commands {
                    do {
                        switch try state.model.decide(command) {
                        case .replay: out.append(.replayed)
                        case .append(let events):
                            for e in events { state.model.apply(e, at: command.at) }
                            state.stagedSinceCommit = true
                            decided.append((events, command))
                            out.append(.written(events: events.count))
                        }
                    } catch {
                        out.append(.refused(error))
                    }
                }
                let drafts = Self.drafts(decided)
                state.preApplied = drafts.count
                items.withLock { $0 = out }
                return drafts
            }
        })
        return items.withLock { $0 }
    }

    /// The drafts of a batch's decided commands, in order. (Encoding the two halves on two
    /// threads was tried: no gain measurable on this 2-core machine, so it stays on one.)
    static func drafts(_ decided: [(events: [DomainEvent], command: Command)]) -> [EventDraft] {
        var out: [EventDraft] = []
        out.reserveCapacity(decided.count * 2)
        for d in decided { out += drafts(d.events, command: d.command) }
        return out
    }

    static func drafts(_ events: [DomainEvent], command: Command) -> [EventDraft] {
        let key = command.idempotencyKey
        return events.enumerated().map { i, e in
            EventDraft(type: e.type, schemaVersion: DomainEvent.schemaVersion, member: e.stream,
                       occurredAt: command.at.microseconds, data: e.canonicalJSON,
                       idempotencyKey: key.map { $0 + "#" + String(i) })
        }
    }

    /// A member's balance at `at` (default: now), from the model.
    public func balance(_ member: String, at: Timestamp = .now()) throws -> Balance? {
        try keeper.withModel { $0.model.balance(member, at: at) }
    }

    public func member(_ id: String) throws -> MemberState? {
        try keeper.withModel { $0.model.member(id) }
    }

    /// Runs `body` with the current model (for reports and tests).
    public func withModel<T>(_ body: (LedgerModel) throws -> T) throws -> T {
        try keeper.withModel { try body($0.model) }
    }

    public func rules(at: Timestamp = .now()) throws -> ProgramRules {
        try keeper.withModel { $0.model.rules(at: at) }
    }
}

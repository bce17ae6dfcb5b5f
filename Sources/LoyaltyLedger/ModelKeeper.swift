import LedgerJSON
import LedgerStore
import LoyaltyDomain
import Synchronization

/// Keeps the domain model equal to the log, on the writer thread: decisions read it, every staged
/// event is applied at once (so a later decision in the same commit sees it), and a commit that
/// fails or is retried triggers a rebuild from the log (rare: disk errors, map growth).
final class ModelKeeper: CommitObserver {
    struct State {
        var model = LedgerModel()
        /// Key of a command's first event (`<command key>#0`) -> its position: the original
        /// outcome of a replay. Keyed by the event's own key string (already in memory), not by a
        /// command key cut from it: that was a string allocation per command.
        var outcomes: [String: UInt64] = [:]
        var stagedSinceCommit = false
        var needsRebuild = false
        var through: UInt64 = 0
        /// Events the current request's decision already applied to `model` (batch decisions
        /// apply as they go, so each command sees the ones before it); `staged` skips them.
        var preApplied = 0
    }

    let state = Mutex(State())
    /// Set after open; used to rebuild from the log.
    nonisolated(unsafe) weak var log: EventLog?

    func groupStarted() {
        state.withLock { s in if s.stagedSinceCommit { s.needsRebuild = true } }
    }

    func staged(_ events: StagedEvents) {
        state.withLock { s in
            for i in events.indices {
                if i < s.preApplied {
                    let position = events.position(i)
                    s.through = max(s.through, position)
                    if let key = events.idempotencyKey(i), Self.isFirstEventKey(key) { s.outcomes[key] = position }
                } else {
                    Self.apply(events[i], to: &s)
                }
            }
            s.preApplied = 0
            s.stagedSinceCommit = true
        }
    }

    func groupEnded(committed: Bool) {
        state.withLock { s in
            // A decision that applied events whose batch then failed validation in the log.
            if s.preApplied > 0 { s.needsRebuild = true; s.preApplied = 0 }
            if !committed && s.stagedSinceCommit { s.needsRebuild = true }
            s.stagedSinceCommit = false
        }
    }

    static func apply(_ e: RecordedEvent, to s: inout State) {
        s.through = max(s.through, e.position)
        if let key = e.idempotencyKey, Self.isFirstEventKey(key) { s.outcomes[key] = e.position }
        guard DomainEvent.isDomainType(e.type) else { return }  // not a domain event (raw `append`)
        do {
            s.model.apply(try DomainEvent.decode(type: e.type, schemaVersion: e.schemaVersion, bytes: e.data),
                          at: Timestamp(microseconds: e.occurredAt))
        } catch {
            preconditionFailure("event \(e.position) (\(e.type)) in the log does not decode: \(error)")
        }
    }

    /// True for the key of a command's first event (event keys are `<command key>#<i>`), by
    /// bytes: `String.hasSuffix` compares graphemes and was a visible part of a fold.
    static func isFirstEventKey(_ eventKey: String) -> Bool {
        let u = eventKey.utf8
        return u.count >= 2 && u.last == UInt8(ascii: "0") && u[u.index(u.endIndex, offsetBy: -2)] == UInt8(ascii: "#")
    }

    /// The position of the first event of the command whose key is `commandKey`, if any.
    static func outcome(_ s: State, commandKey: String) -> UInt64? { s.outcomes[commandKey + "#0"] }

    /// Folds the whole committed log (at open, or after a failed commit).
    func rebuild(from log: EventLog) throws {
        var fresh = State()
        var position: UInt64 = 0
        while true {
            let batch = try log.events(after: position, limit: 4_096)
            guard let last = batch.last else { break }
            for i in batch.indices { Self.apply(batch[i], to: &fresh) }
            position = last.position
        }
        state.withLock { $0 = fresh }
    }

    /// Runs `body` on a model that is current (rebuilding first if a commit failed).
    func withModel<T>(_ body: (inout State) throws -> T) throws -> T {
        if state.withLock({ $0.needsRebuild }), let log { try rebuild(from: log) }
        return try state.withLock { try body(&$0) }
    }
}

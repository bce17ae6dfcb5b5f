import Foundation
public import LedgerProofs
public import LedgerStore
public import Projections
import Synchronization

/// How `LedgerApplication.open` opens a ledger.
public struct ApplicationOptions: Sendable {
    /// Open for writing: decisions (`ledger`), imports, the projections' catch-up. Read-only
    /// otherwise, beside any writing process.
    public var writable = false
    /// Create an empty ledger where there is none (only `loyalty init` does).
    public var create = false
    /// How long to wait for another process's writer lock before giving up.
    public var writerLockWaitMilliseconds = 0
    /// "Now" for the time rules of commands and for scheduling (tests fix it).
    public var clock = LedgerClock.system

    public init(writable: Bool = false, create: Bool = false, writerLockWaitMilliseconds: Int = 0, clock: LedgerClock = .system) {
        (self.writable, self.create, self.writerLockWaitMilliseconds, self.clock) = (writable, create, writerLockWaitMilliseconds, clock)
    }
}

/// How far the projections were behind when a query caught them up.
public struct CatchUpReport: Sendable, Equatable {
    /// The log's head the projections were brought to.
    public var head: UInt64
    /// The most events any projection applied.
    public var eventsBehind: UInt64
    public var elapsedMilliseconds: Int64
    /// Projections that stopped before an event they cannot apply (each line names it).
    public var stops: [String]
    /// Not caught up: too far behind to wait for (`catchUpIfNear`); answers are as of
    /// `head - eventsBehind`.
    public var stale = false

    public init(head: UInt64, eventsBehind: UInt64, elapsedMilliseconds: Int64, stops: [String], stale: Bool = false) {
        (self.head, self.eventsBehind, self.elapsedMilliseconds, self.stops, self.stale) = (head, eventsBehind, elapsedMilliseconds, stops, stale)
    }
}

/// The application every front end opens once (the CLI per command, the server per process):
/// the log, and beside it the decision state (`ledger`, for writes), the projections (queries)
/// and the prover (checkpoints, proofs), each opened when first used. Its calls take and return
/// value types; `ApplicationError` carries a request's one-line reason.
///
/// An LMDB environment may be open only once per process, so everything here shares `log`.
public final class LedgerApplication: Sendable {
    public let path: String
    public let log: EventLog
    /// The decision state; nil when opened read-only.
    let decisions: Ledger?
    /// The decision state of a read-only application, opened on first use over `log`.
    private let readerSlot = Mutex<Ledger?>(nil)
    private let projectionsSlot = Mutex<LedgerProjections?>(nil)
    private let proverSlot = Mutex<LedgerProver?>(nil)

    /// Opens the ledger at `path`. Without `create`, a missing ledger is an error naming the path
    /// (a mistyped path never starts an empty ledger).
    public static func open(path: String, options: ApplicationOptions = ApplicationOptions()) throws -> LedgerApplication {
        if !options.create, !FileManager.default.fileExists(atPath: path + "/data.mdb") {
            throw ApplicationError("no ledger at \(path): create one with `loyalty init --ledger \(path)`")
        }
        if options.writable {
            let ledger = try Ledger.open(path: path, create: options.create, writable: true, clock: options.clock) {
                $0.writerLockWaitMilliseconds = options.writerLockWaitMilliseconds
            }
            return LedgerApplication(path: path, log: ledger.log, decisions: ledger)
        }
        var logOptions = EventLogOptions()
        logOptions.writable = false
        logOptions.create = options.create
        logOptions.writerLockWaitMilliseconds = options.writerLockWaitMilliseconds
        return LedgerApplication(path: path, log: try EventLog.open(path: path, options: logOptions), decisions: nil)
    }

    private init(path: String, log: EventLog, decisions: Ledger?) {
        (self.path, self.log, self.decisions) = (path, log, decisions)
    }

    /// Closes the ledger; a writer first flushes its decision state (`Ledger.close`), so the next
    /// open starts from here.
    public func close() {
        if let decisions { decisions.close() } else { log.close() }
    }

    /// The decision state (commands, imports); an error when the application is read-only.
    public var ledger: Ledger {
        get throws {
            guard let decisions else { throw ApplicationError("the ledger at \(path) is open read-only: commands need it writable") }
            return decisions
        }
    }

    /// The decision state to read from: the writer's own, or, read-only, one opened on first use
    /// from its checkpoint (folding only what was written after it).
    public func decisionState() throws -> Ledger {
        if let decisions { return decisions }
        return try readerSlot.withLock { slot in
            if let slot { return slot }
            let opened = try Ledger.reading(log: log, path: path)
            slot = opened
            return opened
        }
    }

    /// The projections, opened on first use (not caught up: see `catchUp`).
    public func projections() throws -> LedgerProjections {
        try projectionsSlot.withLock { slot in
            if let slot { return slot }
            let opened = try LedgerProjections(log: log)
            slot = opened
            return opened
        }
    }

    /// The prover (Merkle tree, checkpoints, proofs), opened on first use.
    public func prover() throws -> LedgerProver {
        try proverSlot.withLock { slot in
            if let slot { return slot }
            let opened = try LedgerProver(log: log)
            slot = opened
            return opened
        }
    }

    /// The most events a read catches the projections up by before it answers
    /// (`catchUpIfNear`); about a second of catch-up on this machine's slowest phase.
    public static let readCatchUpEventsMax: UInt64 = 500_000

    /// How far the projections named (default: all) are behind the log's head, in events.
    public func projectionLag(_ names: [String]? = nil) throws -> UInt64 {
        try projections().status().filter { names?.contains($0.name) ?? true }.map(\.lagEvents).max() ?? 0
    }

    /// A read's catch-up: when the projections named are at most `readCatchUpEventsMax` events
    /// behind, they are caught up and the answer is current; further behind (after an import
    /// run by another process), the read answers from their last checkpoint at once and the
    /// report says how far behind that is (`stale`), instead of making the request wait.
    public func catchUpIfNear(_ names: [String]? = nil, eventsMax: UInt64 = LedgerApplication.readCatchUpEventsMax,
                              progress: ProjectionProgress? = nil) throws -> CatchUpReport {
        let lag = try projectionLag(names)
        guard lag <= eventsMax else {
            return CatchUpReport(head: try log.headPosition(), eventsBehind: lag, elapsedMilliseconds: 0, stops: [], stale: true)
        }
        return try catchUp(names, progress: progress)
    }

    /// Brings the projections named (default: all) up to the log's head. A projection stopped
    /// before an event it cannot apply is reported in `stops`, not thrown: the others, and every
    /// member but that event's, still answer (`refuseIfStopped`).
    @discardableResult
    public func catchUp(_ names: [String]? = nil, progress: ProjectionProgress? = nil) throws -> CatchUpReport {
        let projections = try projections()
        let started = ContinuousClock.now
        var applied: [String: UInt64] = [:]
        var stops: [String] = []
        do {
            applied = try projections.catchUp(names, progress: progress)
        } catch ProjectionError.stopped(let stopped) {
            stops = stopped.map(\.description)
        }
        return CatchUpReport(head: try log.headPosition(), eventsBehind: applied.values.max() ?? 0,
                             elapsedMilliseconds: Self.milliseconds(ContinuousClock.now - started), stops: stops)
    }

    /// Refuses an answer that depends on a projection of `names` that stopped before an event it
    /// cannot apply: any such stop for a whole-program answer (`member` nil), or one at the
    /// member's own event (or an event whose member is unknown) for a member's answer.
    public func refuseIfStopped(_ names: [String], member: String?) throws {
        for stop in try projections().stops() where names.contains(stop.projection) {
            if let member, !stop.member.isEmpty, stop.member != member { continue }
            throw ApplicationError("\(stop); this answer would leave it out (the log keeps the event; see `loyalty projections status`)")
        }
    }

    static func milliseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1_000 + d.components.attoseconds / 1_000_000_000_000_000
    }
}

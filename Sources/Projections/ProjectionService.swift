public import ServiceLifecycle
import Logging

/// Runs the projections continuously: catches up, then follows live commits, woken by the log's
/// commit signal (this process's writer) or by polling (other processes). A `Service`, so a
/// `ServiceGroup` starts it and stops it on graceful shutdown.
public struct ProjectionService: Service {
    public let projections: LedgerProjections
    /// Events applied per projection per step (bounds each commit, and so the lag of the others).
    public var eventsPerStep: Int
    /// How long to sleep without a commit signal before looking at the log again.
    public var pollMilliseconds: Int
    /// Called after every step that applied events, with the position all projections reached
    /// (for metrics and benchmarks).
    public var onProgress: (@Sendable (_ eventsApplied: Int, _ through: UInt64) -> Void)?
    /// Called once, when the first catch-up after the start is done (stopped projections
    /// included: they stay where they stopped): the moment a server is ready.
    public var onCaughtUp: (@Sendable () -> Void)?

    public init(projections: LedgerProjections, eventsPerStep: Int = 10_000, pollMilliseconds: Int = 50,
                onProgress: (@Sendable (Int, UInt64) -> Void)? = nil) {
        precondition(eventsPerStep > 0 && pollMilliseconds > 0, "steps and polls must be positive")
        self.projections = projections
        self.eventsPerStep = eventsPerStep
        self.pollMilliseconds = pollMilliseconds
        self.onProgress = onProgress
    }

    public func run() async throws {
        do {
            let caughtUp = try projections.catchUp().values.reduce(0, +)
            if caughtUp > 0 { onProgress?(Int(caughtUp), try projections.log.headPosition()) }
        } catch ProjectionError.stopped(let stops) {
            // The others follow on; `projections status` shows where these stopped.
            for s in stops { projections.logger.info("projection stopped", metadata: ["stop": "\(s)"]) }
        }
        onCaughtUp?()
        // A step's commit (write and sync) overlaps the next step's reading and applying; it is
        // reported when written, from the thread that wrote it.
        let progress = onProgress
        defer { projections.drain() }
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let step = try projections.follow(eventsMax: eventsPerStep) { n, through in progress?(n, through) }
                if step.applied > 0 || step.inFlight { continue }
                // Every projection committed `through`, the head its step read: wait for a commit
                // past it. Not past a head read now: a commit landing between the step and that
                // read would then wait for the next one (up to one append interval, or the poll).
                await projections.log.waitForCommit(after: step.through, timeoutMilliseconds: pollMilliseconds)
            }
        }
        projections.logger.info("projections stopped")
    }
}

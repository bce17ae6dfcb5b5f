public import Logging
import LoyaltyDomain
public import LoyaltyLedger
public import ServiceLifecycle

/// Runs the program's daily jobs (`DailyJobs`: expiry, then tier evaluation) at their local time
/// of day, as one service of `loyalty serve`. At start it runs the last instant that was due (a
/// no-op when it already ran; the jobs write only what is still due), so a server that was down
/// at the scheduled time catches up once. It sleeps until the next instant by the ledger's clock,
/// reading the program's time zone again each day (published rules may change it).
public struct DailyJobsService: Service {
    public let app: LedgerApplication
    public let schedule: DailyJobs
    public let logger: Logger
    /// Called after each run (tests and metrics).
    public var onRun: (@Sendable (DailyJobsRun) -> Void)?

    public init(app: LedgerApplication, schedule: DailyJobs, logger: Logger, onRun: (@Sendable (DailyJobsRun) -> Void)? = nil) {
        (self.app, self.schedule, self.logger, self.onRun) = (app, schedule, logger, onRun)
    }

    public func run() async throws {
        let clock = try app.ledger.clock
        let first = schedule.lastDue(at: clock.now(), zone: try app.programZone(at: clock.now()))
        try await cancelWhenGracefulShutdown {
            var due = first
            while !Task.isCancelled {
                do {
                    let run = try await app.runDailyJobs(asOf: due)
                    logger.info("daily jobs ran", metadata: ["asOf": "\(due.rfc3339)", "expiryEvents": "\(run.expiryEvents)",
                                                             "tierEvents": "\(run.tierEvents)"])
                    onRun?(run)
                } catch is CancellationError {
                    return
                } catch {
                    // A refusal or a failed commit: logged; the next day's run covers what is still due.
                    logger.error("daily jobs failed", metadata: ["asOf": "\(due.rfc3339)", "error": "\(error)"])
                }
                let now = clock.now()
                due = schedule.nextDue(after: max(now, due), zone: try app.programZone(at: now))
                let wait = due.microseconds - clock.now().microseconds
                if wait > 0 {
                    do { try await Task.sleep(for: .microseconds(wait)) } catch { return }
                }
            }
        }
    }
}

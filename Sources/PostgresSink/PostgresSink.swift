import Foundation
public import Logging
import LoyaltyDomain
import Projections

/// `loyalty sink postgres`: follows the log into PostgreSQL (schema `loyalty`,
/// schemas/postgres-sink.md). Each run of events the source delivers is one transaction: the
/// events, the member views, balances and fold states of the members they touch, and the
/// checkpoint. A crash at any moment leaves the database at a checkpoint with exactly the rows
/// up to it; the next run resumes there.
///
/// A lost PostgreSQL connection (after the first one succeeded) is retried with backoff, and the
/// sink resumes from the stored checkpoint; a refusal (a server error, a fold fault, a schema
/// from a newer sink) ends the run with a `SinkError`.
public struct PostgresSink {
    public var url: PostgresURL
    public var source: any SinkSource
    /// Where a new sink (checkpoint 0) starts: after this position. Ignored once it has written.
    public var from: UInt64
    /// Return when caught up with the head instead of following.
    public var stopAtHead: Bool
    public var logger: Logger

    public init(url: PostgresURL, source: any SinkSource, from: UInt64 = 0, stopAtHead: Bool = false, logger: Logger) {
        (self.url, self.source, self.from, self.stopAtHead, self.logger) = (url, source, from, stopAtHead, logger)
    }

    public func run() async throws {
        var db: SinkDatabase
        do {
            db = try await SinkDatabase.connect(url, logger: logger)
        } catch let failure as PostgresFailure {
            throw SinkError("cannot connect to \(url): \(failure)")
        }
        let state = SinkRun(logger: logger, url: url)
        do {
            try await db.migrate()
            while true {
                do {
                    try await follow(db, state)
                    await db.close()
                    state.finished()
                    return
                } catch let failure as PostgresFailure where failure.isConnectionLoss {
                    logger.warning("postgres sink: lost the connection to \(url) (\(failure)); resuming from the checkpoint once it is back")
                    state.folds.discard()
                    await db.close()
                    db = try await reconnect()
                }
            }
        } catch let failure as PostgresFailure {
            await db.close()
            throw SinkError("postgres \(url): \(failure)")
        } catch {
            await db.close()
            throw error
        }
    }

    /// One connection's run: from the stored checkpoint (or `from` for a new sink) on.
    private func follow(_ db: SinkDatabase, _ state: SinkRun) async throws {
        let stored = try await db.checkpoint().position
        let start = stored == 0 ? from : stored
        if stored > 0, from > 0, from != stored {
            logger.notice("postgres sink: --from \(from) ignored: the sink's checkpoint is at \(stored)")
        }
        state.start(stored: stored, position: start)
        logger.info("postgres sink: following \(source.name) after position \(start) into \(url)")
        try await source.follow(after: start, stopAtHead: stopAtHead) { events, reached, head in
            try await state.write(events, through: reached, head: head, db)
        }
    }

    /// A new connection, waiting with exponential backoff while the server is unreachable.
    private func reconnect() async throws -> SinkDatabase {
        var delay = SinkLimits.backoffMin
        while true {
            try await Task.sleep(for: delay)
            do {
                let db = try await SinkDatabase.connect(url, logger: logger)
                do {
                    try await db.migrate()
                } catch {
                    await db.close()
                    throw error
                }
                logger.info("postgres sink: reconnected to \(url)")
                return db
            } catch let failure as PostgresFailure where failure.isConnectionLoss {
                logger.warning("postgres sink: \(url) unreachable (\(failure)); next attempt in \(delay)")
            }
            delay = min(delay * 2, SinkLimits.backoffMax)
        }
    }
}

/// The state of one sink run across connections: the checkpoint, the cached fold states,
/// the progress figures. Used by the run's task only.
final class SinkRun {
    let logger: Logger
    let url: PostgresURL
    let folds = MemberFolds()
    /// The checkpoint stored in PostgreSQL.
    private var stored: UInt64 = 0
    /// The position the source has delivered through (at least `stored`).
    private var position: UInt64 = 0
    private let clock = ContinuousClock()
    private var began: ContinuousClock.Instant
    private var eventsWritten = 0
    private var lastReport: ContinuousClock.Instant
    private var eventsSinceReport = 0
    private var head: UInt64?
    private var lastRecordedAt: Int64?

    init(logger: Logger, url: PostgresURL) {
        (self.logger, self.url) = (logger, url)
        began = clock.now
        lastReport = began
    }

    func start(stored: UInt64, position: UInt64) { (self.stored, self.position) = (stored, position) }

    /// Writes one run of events and the checkpoint `through` in one transaction.
    func write(_ events: [SinkEvent], through: UInt64, head: UInt64?, _ db: SinkDatabase) async throws {
        guard !events.isEmpty || through > position else { return }
        // The source delivers every position after the last, in order (no filter is used).
        for (i, e) in events.enumerated() where e.position != position + UInt64(i) + 1 {
            throw SinkError("the source delivered position \(e.position) where \(position + UInt64(i) + 1) was due: the log is not read in order")
        }
        guard through >= position + UInt64(events.count) else {
            throw SinkError("the source reached position \(through) before its last event at \(position + UInt64(events.count))")
        }
        // A statement sent on a connection the server closed is not always answered: ask a new one.
        if db.connection.isClosed { throw PostgresFailure(underlying: SinkError("the server closed the connection")) }
        let members = events.lazy.filter { !$0.neutralised && DomainEvent.isDomainType($0.type) }.map(\.member)
        let missing = folds.missing(members)
        do {
            if !missing.isEmpty { try folds.preload(missing, values: try await db.foldStates(Array(missing))) }
            let batch = try SinkBatch(events: events, through: through, folds: folds)
            try await db.write(batch, from: stored)
        } catch {
            folds.discard()
            throw error
        }
        folds.commit()
        if folds.count > SinkLimits.cachedMembersMax { folds.discard() }
        (stored, position) = (through, through)
        eventsWritten += events.count
        eventsSinceReport += events.count
        if let head { self.head = head }
        if let last = events.last { lastRecordedAt = last.recordedAt }
        if clock.now - lastReport >= SinkLimits.progressInterval { report() }
    }

    /// Logs the position, the lag behind the head (in events, when the source knows the head;
    /// in time since the last event was recorded) and the rate since the last report.
    private func report() {
        let now = clock.now
        let seconds = Self.seconds(now - lastReport)
        var text = "postgres sink: through position \(position)"
        if let head { text += ", head \(head) (\(head > position ? head - position : 0) events behind)" }
        if let lastRecordedAt {
            let behind = max(0, Timestamp.now().microseconds - lastRecordedAt) / 1_000_000
            text += ", last event recorded \(behind) s ago"
        }
        text += ", \(seconds > 0 ? Int(Double(eventsSinceReport) / seconds) : eventsSinceReport) events/s"
        logger.info("\(text)")
        (lastReport, eventsSinceReport) = (now, 0)
    }

    /// Logs the run's total when it stops at the head.
    func finished() {
        let seconds = Self.seconds(clock.now - began)
        logger.info("postgres sink: caught up at position \(position): \(eventsWritten) events in \(String(format: "%.3f", seconds)) s (\(seconds > 0 ? Int(Double(eventsWritten) / seconds) : eventsWritten) events/s)")
    }

    private static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}

import Dispatch
import LedgerStore

/// A run of log events (after, through], read and decoded once for every projection that needs
/// them (decoding dominates a fold's cost). `events` holds the domain events (the others, and
/// neutralised ones, are left out); `recordedAt` has one entry per position of the run.
struct DecodedEvents: Sendable {
    let after: UInt64
    var events: [ProjectionEvent] = []
    var recordedAt: [Int64] = []

    var through: UInt64 { after + UInt64(recordedAt.count) }

    /// The domain events at positions in (from, to], sharing the run's storage.
    func batch(after from: UInt64, through to: UInt64) -> ProjectionBatch {
        let all = events[...]
        return ProjectionBatch(all[ProjectionBatch.firstIndex(in: all, after: from) ..< ProjectionBatch.firstIndex(in: all, after: to)])
    }

    /// Every domain event of the run.
    var batch: ProjectionBatch { ProjectionBatch(events) }

    /// Reads and decodes (after, through] in short read transactions of at most 4,096 events,
    /// in place (`EventLog.forEachEvent`: no `RecordedEvent`, no copy of each event's data).
    static func read(_ log: EventLog, after: UInt64, through: UInt64) throws -> DecodedEvents {
        precondition(through >= after, "an empty or forward range")
        var out = DecodedEvents(after: after)
        out.events.reserveCapacity(Int(through - after))  // (nearly every event is a domain event)
        out.recordedAt.reserveCapacity(Int(through - after))
        var position = after
        while position < through {
            // The log wraps what the body throws: the projection's own error is kept here.
            var failure: ProjectionError?
            let count = try keeping(&failure) { failure in try log.forEachEvent(after: position, limit: Int(min(through - position, 4_096))) { v in
                // Positions are gapless: anything else means the log is damaged.
                guard v.position == position + 1 else {
                    throw LedgerError.corrupt(position: position + 1, reason: "the log skips from \(position) to \(v.position)")
                }
                position = v.position
                do {
                    if let event = try ProjectionEvent.decode(v) { out.events.append(event) }
                } catch {
                    failure = error as? ProjectionError
                    throw error
                }
                out.recordedAt.append(v.recordedAt)
            } }
            guard count > 0 else {
                throw LedgerError.corrupt(position: position + 1, reason: "the log ended before its head while projecting")
            }
        }
        return out
    }

    /// Whether this run holds position `after + 1` (a worker at checkpoint `after` can use it).
    func continues(_ checkpoint: UInt64) -> Bool { checkpoint >= after && checkpoint < through }
}

/// Runs `body`, which may note a `ProjectionError` before it throws; that error is rethrown
/// rather than what `body` threw (the log wraps errors thrown inside its read transactions).
func keeping<R>(_ failure: inout ProjectionError?, _ body: (inout ProjectionError?) throws -> R) throws -> R {
    do {
        return try body(&failure)
    } catch {
        if let failure { throw failure }
        throw error
    }
}

extension DecodedEvents {
    /// Reads (after, through] on another thread while the caller applies the current run: with
    /// two cores, decoding and folding overlap.
    static func prefetch(_ log: EventLog, after: UInt64, through: UInt64) -> Promise<DecodedEvents> {
        Promise(on: .global()) { try DecodedEvents.read(log, after: after, through: through) }
    }
}

import Foundation
import Dispatch
import LedgerStore

/// Moves several projections over the same runs of decoded events with no barrier between runs:
/// the calling thread reads and decodes the runs and hands them on through a bounded queue to one
/// thread per projection, each of which steps its projection over every run at its own pace.
///
/// No projection waits for the slowest one (or for the decoding of the next run) before it moves
/// on: a thread that finished its run takes the next one. Each step is the worker's own
/// (`ProjectionWorker.step`: exactly once, with its own commits); the pipeline only decides when
/// a projection moves on.
final class RunPipeline: @unchecked Sendable {
    // @unchecked: consumer thread `i` is the only one touching `drivers[i]` while `run` runs (a
    // driver's workers are used by one thread at a time), and the caller touches no driver until
    // every consumer thread has finished; all the other state is guarded by `condition`.
    private let drivers: [any ProjectionDriving]
    private let role: ProjectionRole
    private let runEvents: Int
    private let commitAfter: Int
    /// Decoded runs not yet applied by every projection: at most this many (bounds memory).
    static let runsInFlightMax = 4

    private let condition = NSCondition()
    /// Published runs by index (0, 1, ...), dropped once every consumer has applied them.
    private var runs: [Int: DecodedEvents] = [:]
    private var published = 0
    /// Runs before this index are dropped.
    private var dropped = 0
    private var producerDone = false
    /// Per consumer: the index of the next run it takes (`Int.max` once it stopped).
    private var cursors: [Int]
    /// Per consumer: the position its projection has reached.
    private var positions: [UInt64]
    private var errors: [any Error] = []

    init(_ drivers: [any ProjectionDriving], role: ProjectionRole, runEvents: Int, commitAfter: Int) {
        precondition(!drivers.isEmpty && runEvents > 0, "projections to step, and runs of at least one event")
        self.drivers = drivers
        self.role = role
        self.runEvents = runEvents
        self.commitAfter = commitAfter
        cursors = Array(repeating: 0, count: drivers.count)
        positions = Array(repeating: 0, count: drivers.count)
    }

    /// Applies (after, through] to every projection (each from where it stands, at least `after`).
    /// `progress` is called on this thread with a projection's name and position after each run
    /// decoded. Rethrows the first error of the decoding or of any projection, once every thread
    /// has stopped; what the projections applied and did not commit is left for their `flush`.
    func run(_ log: EventLog, after: UInt64, through: UInt64, progress: (_ name: String, _ position: UInt64) -> Void) throws {
        let group = DispatchGroup()
        for i in drivers.indices {
            group.enter()
            let thread = Thread { [self] in
                consume(i)
                group.leave()
            }
            thread.name = "projection \(drivers[i].name)"
            thread.start()
        }
        var position = after
        do {
            while position < through {
                let next = try DecodedEvents.read(log, after: position, through: min(through, position + UInt64(runEvents)))
                guard publish(next) else { break }
                position = next.through
                for (name, reached) in reachedPositions() { progress(name, reached) }
            }
        } catch {
            condition.withLock { errors.append(error) }
        }
        condition.withLock {
            producerDone = true
            condition.broadcast()
        }
        group.wait()
        for (name, reached) in reachedPositions() { progress(name, reached) }
        if let error = condition.withLock({ errors.first }) { throw error }
    }

    private func reachedPositions() -> [(String, UInt64)] {
        condition.withLock { zip(drivers.map(\.name), positions).map { ($0, $1) } }
    }

    /// Hands `run` to the consumers once the queue has room; false when every consumer stopped.
    private func publish(_ run: DecodedEvents) -> Bool {
        condition.withLock {
            while true {
                let active = cursors.filter { $0 != .max }
                guard let slowest = active.min() else { return false }
                if published - slowest < Self.runsInFlightMax { break }
                condition.wait()
            }
            runs[published] = run
            published += 1
            condition.broadcast()
            return true
        }
    }

    /// Consumer `i`: steps its projection over every published run, in order.
    private func consume(_ i: Int) {
        let d = drivers[i]
        var next = 0
        while true {
            let run: DecodedEvents? = condition.withLock {
                while next >= published && !producerDone { condition.wait() }
                return next < published ? runs[next] : nil
            }
            guard let run else { break }
            do {
                var at = try d.checkpoint(role)
                // A projection that stands past the run (a resumed build) skips it.
                while run.continues(at) {
                    guard try d.step(role, eventsMax: runEvents, through: nil, feed: run, commitAfter: commitAfter) > 0 else { break }
                    at = try d.checkpoint(role)
                }
                next += 1
                condition.withLock {
                    cursors[i] = next
                    positions[i] = at
                    // Runs every consumer is past are dropped.
                    let slowest = min(cursors.min() ?? published, published)
                    while dropped < slowest {
                        runs[dropped] = nil
                        dropped += 1
                    }
                    condition.broadcast()
                }
            } catch {
                condition.withLock {
                    errors.append(error)
                    cursors[i] = .max
                    condition.broadcast()
                }
                return
            }
        }
        condition.withLock {
            cursors[i] = .max
            condition.broadcast()
        }
    }
}

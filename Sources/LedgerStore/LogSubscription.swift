/// A tail of the log from a position: an `AsyncSequence` that reads history in bounded batches
/// with short read transactions, then follows live commits (woken by the writer's commit signal,
/// with polling as the fallback for other processes). Every event carries its chain hash.
///
/// It never skips, repeats or reorders: each batch starts right after the last event delivered,
/// and positions are checked to be contiguous.
public struct LogSubscription: AsyncSequence, Sendable {
    public typealias Element = RecordedEvent

    let log: EventLog
    let after: UInt64
    let follow: Bool
    public var batchSize = 1_024

    public func makeAsyncIterator() -> Iterator {
        Iterator(log: log, cursor: after, follow: follow, batchSize: batchSize)
    }

    public struct Iterator: AsyncIteratorProtocol {
        let log: EventLog
        var cursor: UInt64
        let follow: Bool
        let batchSize: Int
        var buffer: [RecordedEvent] = []
        var next = 0
        var hash: ChainHash?

        init(log: EventLog, cursor: UInt64, follow: Bool, batchSize: Int) {
            self.log = log
            self.cursor = cursor
            self.follow = follow
            self.batchSize = batchSize
        }

        public mutating func next() async throws -> RecordedEvent? {
            while true {
                if next < buffer.count {
                    let event = buffer[next]
                    next += 1
                    guard event.position == cursor + 1 else {
                        throw LedgerError.corrupt(position: cursor + 1, reason: "tail read position \(event.position)")
                    }
                    cursor = event.position
                    hash = event.hash
                    return event
                }
                try Task.checkCancellation()
                buffer = try log.events(after: cursor, limit: batchSize, previousHash: hash)
                next = 0
                if !buffer.isEmpty { continue }
                guard follow else { return nil }
                let poll = UInt64(log.options.tailPollIntervalMilliseconds) * 1_000_000
                await log.signal.wait(after: cursor, timeoutNanoseconds: poll)
            }
        }
    }
}

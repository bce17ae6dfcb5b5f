import Dispatch
public import LedgerStore
public import LoyaltyDomain

extension History {
    /// Limits of `write`: events per chunk handed between threads, and chunks of rows waiting
    /// for the output thread (bounds memory when the output is slower than the fold).
    public static let pipelineChunkEvents = 512
    public static let pipelineChunksInFlight = 16

    /// `forEachRow`, formatted and handed to `flush`, on three threads so that two cores share
    /// the work: the member's stored events are decoded ahead on one, folded on the caller's, and
    /// each chunk of rows is described, formatted and flushed on a third, in log order. `flush`
    /// gets at least every `flushBytes` bytes and the rest at the end; it is called on the output
    /// thread, never concurrently; `header` goes before the first row (nothing is written when
    /// there is no row). An error (unknown member, an event that does not decode) is
    /// thrown after everything formatted before it was flushed.
    public static func write(member: String, log: EventLog, from: Timestamp? = nil, to: Timestamp? = nil,
                             header: [UInt8] = [], flushBytes: Int = 1 << 20, format: @escaping @Sendable (HistoryRow, inout [UInt8]) -> Void,
                             flush: @escaping @Sendable ([UInt8]) -> Void) throws {
        precondition(flushBytes > 0, "flushBytes must be positive")
        try AuditEvents.checkMember(member)
        // One walk of the stream's links (headers only), then each chunk read and decoded in
        // forward order on the decoder thread while this one folds the chunks before it.
        let positions = try log.streamPositions(member: member)
        let program = try AuditEvents.program(log)
        let decoder = DispatchQueue(label: "history.decode")
        let chunks = stride(from: 0, to: positions.count, by: pipelineChunkEvents).map { start in
            let slice = positions[start..<min(start + pipelineChunkEvents, positions.count)]
            return Promise<[LoggedEvent]>(on: decoder) { () throws -> [LoggedEvent] in
                try log.events(at: slice).compactMap { (e) throws -> LoggedEvent? in
                    guard e.member == member else { throw AuditError("position \(e.position): an event of '\(e.member)' in the stream of '\(member)'") }
                    return try AuditEvents.logged(e)
                }
            }
        }
        defer { for c in chunks { _ = try? c.get() } }  // the decoder reads `log`: let it finish before returning
        let output = Output(header: header, format: format, flush: flush, flushBytes: flushBytes)
        defer { output.finish() }
        var drafter = RowDrafter(member: member, program: program, from: from, to: to)
        var drafts: [RowDraft] = []
        drafts.reserveCapacity(pipelineChunkEvents)
        for chunk in chunks {
            for e in try chunk.get() { drafter.feed(e) { drafts.append($0) } }
            if drafts.count >= pipelineChunkEvents {
                output.send(drafts)
                drafts.removeAll(keepingCapacity: true)
            }
        }
        guard drafter.fed > 0 else { throw unknown(member) }
        output.send(drafts)
    }

    /// The output thread of `write`: a serial queue, so chunks are formatted in the order sent.
    private final class Output: @unchecked Sendable {
        // @unchecked: `bytes` is touched only by blocks on `queue`, which is serial.
        private let queue = DispatchQueue(label: "history.output")
        private let slots = DispatchSemaphore(value: History.pipelineChunksInFlight)
        private let format: @Sendable (HistoryRow, inout [UInt8]) -> Void
        private let flush: @Sendable ([UInt8]) -> Void
        private let flushBytes: Int
        private var bytes: [UInt8] = []
        private var header: [UInt8]?

        init(header: [UInt8], format: @escaping @Sendable (HistoryRow, inout [UInt8]) -> Void, flush: @escaping @Sendable ([UInt8]) -> Void, flushBytes: Int) {
            (self.header, self.format, self.flush, self.flushBytes) = (header, format, flush, flushBytes)
        }

        func send(_ drafts: [RowDraft]) {
            guard !drafts.isEmpty else { return }
            slots.wait()
            queue.async { [self] in
                if let h = header { bytes += h; header = nil }
                for d in drafts {
                    format(HistoryRow(d), &bytes)
                    if bytes.count >= flushBytes { flush(bytes); bytes.removeAll(keepingCapacity: true) }
                }
                slots.signal()
            }
        }

        /// Waits for everything sent and flushes what is left.
        func finish() {
            queue.sync { [self] in
                if !bytes.isEmpty { flush(bytes) }
                bytes = []
            }
        }
    }
}

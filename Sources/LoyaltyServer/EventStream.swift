import Hummingbird
import LedgerStore
import LoyaltyLedger
import NIOCore
import ServiceLifecycle

/// One consumer of `GET /v1/events/stream`: Server-Sent Events from a position on.
///
/// Each event is `id: <position>`, `event: <type>`, `data: <EventJSON line>`. The stream reads
/// the log itself, at the consumer's pace: the log is the buffer, read in batches with short
/// read transactions (the writer never waits for a reader), and each batch is written only when
/// the consumer took the one before (the response writer's backpressure). So a slow consumer
/// holds one batch in memory and never slows the writer or another consumer.
///
/// Other frames: `event: checkpoint` (with a filter: `id:` is the last position examined, so a
/// resume skips what was filtered out), `event: cutoff` (the last frame of a consumer that had
/// caught up and fell more than `lagEventsMax` behind, or that took nothing for `stallTimeout`;
/// data `{"resumeAfter": N}`), and `: keep-alive` comments while idle. The stream ends when
/// the server shuts down gracefully; the consumer resumes from the last `id:` it read.
struct EventStream: Sendable {
    let app: LedgerApplication
    let filter: EventFilter
    let start: UInt64
    let configuration: StreamConfiguration
    let metrics: StreamMetrics

    /// A consumer that took nothing for `stallTimeout`.
    struct Stalled: Error {}

    func run(_ writer: WriterSlot) async throws {
        let token = metrics.add()
        defer { metrics.remove(token) }
        let clock = ContinuousClock()
        var cursor = start
        var hash: ChainHash?
        var lastId = start
        var live = false
        var lastWrite = clock.now
        var lastCheckpoint: ContinuousClock.Instant?
        let examineMax = max(configuration.batchEvents, 4_096)
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            let before = cursor
            let page = try app.events(after: cursor, limit: configuration.batchEvents, filter: filter,
                                      examineMax: examineMax, previousHash: hash)
            var out: [UInt8] = []
            for event in page.events { Self.frame(event, into: &out) }
            if page.next > cursor { (cursor, hash) = (page.next, page.nextHash) }
            if let last = page.events.last { lastId = last.position }
            let caughtUp = cursor >= page.head
            // A checkpoint after a long filtered-out run, and on catching up (at most once a
            // second: a stream filtering out every commit does not send one per commit).
            if cursor > lastId, cursor - lastId >= configuration.checkpointEvents
                || (caughtUp && lastCheckpoint.map { $0.duration(to: clock.now) >= .seconds(1) } ?? true) {
                Self.control("checkpoint", id: cursor, data: #"{"checkpoint":\#(cursor)}"#, into: &out)
                lastId = cursor
                lastCheckpoint = clock.now
            }
            let lag = page.head > cursor ? page.head - cursor : 0
            metrics.update(token, lag: lag)
            live = live || caughtUp
            if live, lag > configuration.lagEventsMax {
                Self.control("cutoff", id: cursor, data: #"{"resumeAfter":\#(cursor)}"#, into: &out)
                try await send(out, writer, resumeAfter: before)
                try await writer.finish()
                return
            }
            if !out.isEmpty {
                try await send(out, writer, resumeAfter: before)
                lastWrite = clock.now
            }
            if !caughtUp { continue }
            var due = lastWrite.advanced(by: configuration.heartbeatInterval)
            let checkpointDue = cursor > lastId ? lastCheckpoint.map { $0.advanced(by: .seconds(1)) } : nil
            if let checkpointDue, checkpointDue < due { due = checkpointDue }
            if clock.now >= due {
                // The next pass sends the checkpoint that is due, or else a keep-alive now.
                if checkpointDue != nil { continue }
                try await send(Array(": keep-alive\n\n".utf8), writer, resumeAfter: cursor)
                lastWrite = clock.now
                continue
            }
            let milliseconds = Self.milliseconds(clock.now.duration(to: due))
            let log = app.log
            let after = cursor
            await cancelWhenGracefulShutdown {
                await log.waitForCommit(after: after, timeoutMilliseconds: milliseconds)
            }
        }
        try await writer.finish()
    }

    /// Writes `bytes`; when the consumer does not take them within `stallTimeout`, tries to
    /// write the cutoff frame (resume after `resumeAfter`: what was written before `bytes`),
    /// then throws `Stalled` (the connection is closed).
    private func send(_ bytes: [UInt8], _ writer: WriterSlot, resumeAfter: UInt64) async throws {
        guard try await writer.write(bytes, within: configuration.stallTimeout) else {
            var out: [UInt8] = []
            Self.control("cutoff", id: resumeAfter, data: #"{"resumeAfter":\#(resumeAfter)}"#, into: &out)
            _ = try? await writer.write(out, within: min(configuration.stallTimeout, .seconds(1)))
            throw Stalled()
        }
    }

    /// The frame of one event. A line break inside the JSON (a payload stored with one) starts a
    /// new `data:` line, which the consumer joins back with a line break; a type with a line
    /// break (never written by the domain) is sent without `event:`.
    static func frame(_ event: RecordedEvent, into out: inout [UInt8]) {
        out.append(contentsOf: "id: \(event.position)\n".utf8)
        if !event.type.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D }) {
            out.append(contentsOf: "event: ".utf8)
            out.append(contentsOf: event.type.utf8)
            out.append(0x0A)
        }
        out.append(contentsOf: "data: ".utf8)
        let line = EventJSON.line(event)
        if line.contains(where: { $0 == 0x0A || $0 == 0x0D }) {
            var previous: UInt8 = 0
            for byte in line {
                if byte == 0x0A, previous == 0x0D { previous = byte; continue }
                if byte == 0x0A || byte == 0x0D { out.append(contentsOf: "\ndata: ".utf8) } else { out.append(byte) }
                previous = byte
            }
        } else {
            out.append(contentsOf: line)
        }
        out.append(contentsOf: "\n\n".utf8)
    }

    static func control(_ name: String, id: UInt64, data: String, into out: inout [UInt8]) {
        out.append(contentsOf: "id: \(id)\nevent: \(name)\ndata: \(data)\n\n".utf8)
    }

    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 0 }
        return Int(min(seconds, 86_400) * 1_000 + attoseconds / 1_000_000_000_000_000) + 1
    }
}

/// The response's body writer, shared with the child task that carries out each write (so a
/// write that does not complete can be cancelled when it times out).
final class WriterSlot: @unchecked Sendable {
    // @unchecked: `writer` is used by one task at a time. `write` hands it to a child task and
    // waits for that task to end before returning; `finish` runs in the stream's own task
    // after every write returned.
    private var writer: any ResponseBodyWriter

    init(_ writer: any ResponseBodyWriter) { self.writer = writer }

    /// Writes `bytes`; false when the write did not complete within `timeout` (it is cancelled).
    func write(_ bytes: [UInt8], within timeout: Duration) async throws -> Bool {
        let buffer = ByteBuffer(bytes: bytes)
        return try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await self.writer.write(buffer)
                return true
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return false
            }
            defer { group.cancelAll() }
            do {
                return try await group.next() ?? false
            } catch is CancellationError {
                return false
            }
        }
    }

    func finish() async throws {
        let last = writer
        try await last.finish(nil)
    }
}

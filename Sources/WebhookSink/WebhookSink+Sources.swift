import AsyncHTTPClient
import LedgerStore
import LedgerTailClient
import LoyaltyLedger
import NIOCore
import NIOPosix

extension WebhookSink {
    /// Pages of the local log (short read transactions, read-only: the writer is never held
    /// up), one batch per page; when caught up, waits for a commit (this process's) or the
    /// poll interval (another process's), or ends without `follow`.
    func followLedger(_ app: LedgerApplication, run: inout Run) async throws {
        let filter = EventFilter(typePrefix: configuration.typePrefix)
        var position = run.state.position
        var hash: ChainHash?
        while true {
            try Task.checkCancellation()
            let page = try app.events(after: position, limit: configuration.batchEventsMax, filter: filter, previousHash: hash)
            try await run.process(page.events.map { WebhookEvent($0) }, through: page.next)
            position = page.next
            hash = page.nextHash
            if page.events.isEmpty, page.next >= page.head {
                guard configuration.follow else { return }
                await app.log.waitForCommit(after: position, timeoutMilliseconds: configuration.pollMilliseconds)
            }
        }
    }

    /// The tail of a remote ledger (`LedgerTailClient`: the stream with `follow`, pages of the
    /// long poll up to the head without), cut into batches.
    func followRemote(url: String, apiKey: String?, run: inout Run) async throws {
        var http = HTTPClient.Configuration()
        // The stream sends a keep-alive at least every 15 s: a longer silence is a dead connection.
        http.timeout = .init(connect: .seconds(3), read: .seconds(45))
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: http)
        let tail = LedgerTailClient(url: url, apiKey: apiKey, typePrefix: configuration.typePrefix, http: client)
        let start = run.state.position
        let received = Received(run: run)
        let deliver: ([TailEvent], UInt64) async throws -> Void = { events, reached in
            var converted: [WebhookEvent] = []
            for event in events {
                converted.append(try WebhookEvent(line: Array(event.line.utf8), what: "\(url): event \(event.position)"))
            }
            try await received.run.process(run: converted, through: reached)
        }
        do {
            if configuration.follow {
                try await tail.follow(after: start, deliver: deliver)
            } else {
                try await tail.read(after: start, deliver: deliver)
            }
            run = received.run
            try await client.shutdown()
        } catch {
            run = received.run
            try? await client.shutdown()
            if let error = error as? TailClientError { throw WebhookError(.source, "\(url): \(error.description)") }
            throw error
        }
    }
}

/// The run, changed inside the tail's delivery closure (which cannot capture an inout).
private final class Received {
    var run: Run
    init(run: Run) { self.run = run }
}

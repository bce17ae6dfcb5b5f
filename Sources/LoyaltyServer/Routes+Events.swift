import Hummingbird
import LedgerStore
import LoyaltyLedger
import NIOCore
import ServiceLifecycle

extension LedgerServer {
    /// Tailing: the long poll `GET /v1/events` and the event stream `GET /v1/events/stream`.
    /// Both take `member` (exact) and `type` (a prefix) filters and give every event as its
    /// `EventJSON` line.
    func addEventRoutes(to router: Router<ServerContext>) {
        router.get("/v1/events") { request, context in
            try Access.check(context.caller, .tail)
            return try await self.longPoll(request)
        }
        router.get("/v1/events/stream") { request, context in
            try Access.check(context.caller, .tail)
            let filter = try self.filter(request)
            var start = try self.position(request, "after") ?? 0
            // The header wins over `after`: it is where an EventSource reconnecting resumes.
            if let text = request.headers.first(where: { $0.name.canonicalName == "last-event-id" })?.value {
                guard let position = UInt64(text) else {
                    throw Problem.invalidParameter("Last-Event-ID", "'\(text)' is not a position (a non-negative integer)")
                }
                start = position
            }
            let stream = EventStream(app: self.app, filter: filter, start: start, configuration: self.configuration.stream,
                                     metrics: self.streamMetrics)
            var headers = HTTPFields()
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-cache"
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                try await stream.run(WriterSlot(writer))
            })
        }
    }

    /// `GET /v1/events?after=N&limit=M&wait=S&member=&type=`: the events after N (at most M)
    /// at once when there are any; else waits up to S seconds for a commit and answers then, or
    /// answers none. `next` is the last position examined: the consumer's next `after`.
    func longPoll(_ request: Request) async throws -> Response {
        let filter = try filter(request)
        let after = try position(request, "after") ?? 0
        let limit = try integer(request, "limit", in: 1...configuration.eventsLimitMax) ?? configuration.eventsLimitDefault
        let wait = try integer(request, "wait", in: 0...configuration.longPollSecondsMax) ?? 0
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(wait))
        var page = try app.events(after: after, limit: limit, filter: filter)
        while page.events.isEmpty, clock.now < deadline, !Task.isShuttingDownGracefully {
            if page.next >= page.head {
                let log = app.log
                let remaining = EventStream.milliseconds(clock.now.duration(to: deadline))
                // Only this process's commits signal: a read-only server (a replica) polls.
                let (cursor, milliseconds) = (page.next, log.isWritable ? remaining : min(remaining, Self.readOnlyPollMilliseconds))
                await cancelWhenGracefulShutdown {
                    await log.waitForCommit(after: cursor, timeoutMilliseconds: milliseconds)
                }
            }
            page = try app.events(after: page.next, limit: limit, filter: filter, previousHash: page.nextHash)
        }
        var out: [UInt8] = Array(#"{"events":["#.utf8)
        for (i, event) in page.events.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            EventJSON.write(event, into: &out)
        }
        out.append(contentsOf: #"],"next":\#(page.next),"head":\#(page.head)}"#.utf8)
        out.append(0x0A)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: out)))
    }

    /// The `member` and `type` filters of a tail.
    func filter(_ request: Request) throws -> EventFilter {
        let member = request.uri.queryParameters["member"].map(String.init)
        let type = request.uri.queryParameters["type"].map(String.init)
        if member?.isEmpty == true { throw Problem.invalidParameter("member", "'member' must not be empty") }
        if type?.isEmpty == true { throw Problem.invalidParameter("type", "'type' must not be empty") }
        return EventFilter(member: member, typePrefix: type)
    }

    /// Query parameter `name` as a log position.
    func position(_ request: Request, _ name: String) throws -> UInt64? {
        guard let text = request.uri.queryParameters[Substring(name)] else { return nil }
        guard let value = UInt64(text) else {
            throw Problem.invalidParameter(name, "'\(text)' is not a position (a non-negative integer)")
        }
        return value
    }

    /// Query parameter `name` as an integer in `range`.
    func integer(_ request: Request, _ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = request.uri.queryParameters[Substring(name)] else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw Problem.invalidParameter(name, "'\(text)' is not an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }
}

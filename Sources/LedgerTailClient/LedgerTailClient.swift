public import AsyncHTTPClient
import Foundation
import LedgerJSON
import NIOCore
import NIOHTTP1

/// One event a tail received: its position and its JSON line (`EventJSON`, as `loyalty tail`
/// prints it).
public struct TailEvent: Sendable, Equatable {
    public var position: UInt64
    public var line: String

    public init(position: UInt64, line: String) { (self.position, self.line) = (position, line) }
}

/// Follows a remote ledger over HTTP: the event stream (`GET /v1/events/stream`, Server-Sent
/// Events) or pages of the long poll (`GET /v1/events`). Every event is delivered once, in
/// order: the client keeps the position reached and resumes after it on every reconnection
/// (after a failure, with exponential backoff; after a cutoff, at once).
public struct LedgerTailClient: Sendable {
    public var baseURL: String
    public var apiKey: String?
    public var member: String?
    public var typePrefix: String?
    /// The first wait before reconnecting after a failure, doubled up to `backoffMax`.
    public var backoffMin: Duration = .milliseconds(100)
    public var backoffMax: Duration = .seconds(5)
    let http: HTTPClient

    public init(url: String, apiKey: String?, member: String? = nil, typePrefix: String? = nil, http: HTTPClient) {
        var base = url
        while base.hasSuffix("/") { base.removeLast() }
        (self.baseURL, self.apiKey, self.member, self.typePrefix, self.http) = (base, apiKey, member, typePrefix, http)
    }

    /// Follows the stream from `after` until the task is cancelled or a request is refused
    /// (`TailClientError`). `deliver` gets each run of events received together, in order, and
    /// the position reached (after them, or further when a checkpoint says the events between
    /// were filtered out): the consumer's checkpoint. An error `deliver` throws ends the tail.
    public func follow(after: UInt64, deliver: ([TailEvent], UInt64) async throws -> Void) async throws {
        var position = after
        try await retrying { progressed in
            try await streamOnce(from: &position, progressed: &progressed, deliver: deliver)
            return false
        }
    }

    /// Delivers every event after `after` up to the head as of the last page, in pages of the
    /// long poll; returns the position reached. Gives up after `attempts` failures in a row.
    @discardableResult
    public func read(after: UInt64, attempts: Int = 3, deliver: ([TailEvent], UInt64) async throws -> Void) async throws -> UInt64 {
        var position = after
        try await retrying(attempts: attempts) { progressed in
            while true {
                let page = try await poll(after: position)
                if !page.events.isEmpty || page.next > position {
                    try await deliverOrFail(deliver, page.events, page.next)
                    position = page.next
                    progressed = true
                }
                if page.next >= page.head { return true }
            }
        }
        return position
    }

    /// Runs `attempt` until it returns true (done), again after a failure that may pass (the
    /// server unreachable or restarting, a 5xx) with backoff, or soon when it ended after
    /// making progress; with `attempts`, gives up after that many failures in a row.
    private func retrying(attempts: Int? = nil, _ attempt: (inout Bool) async throws -> Bool) async throws {
        var delay = backoffMin
        var failures = 0
        while true {
            try Task.checkCancellation()
            var progressed = false
            do {
                if try await attempt(&progressed) { return }
            } catch let error as DeliveryFailed {
                throw error.underlying
            } catch let error as TailClientError {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                // Unreachable, reset, timed out: try again from the position reached.
                failures = progressed ? 1 : failures + 1
                if let attempts, failures >= attempts {
                    throw TailClientError("\(baseURL): \(failures) attempts failed, the last with \(error)")
                }
            }
            if progressed { delay = backoffMin }
            try await Task.sleep(for: delay)
            delay = min(delay * 2, backoffMax)
        }
    }

    private struct DeliveryFailed: Error { var underlying: any Error }

    private func deliverOrFail(_ deliver: ([TailEvent], UInt64) async throws -> Void, _ events: [TailEvent], _ position: UInt64) async throws {
        do { try await deliver(events, position) } catch { throw DeliveryFailed(underlying: error) }
    }

    /// One connection to the stream, until it ends (a cutoff, the server stopping) or fails.
    private func streamOnce(from position: inout UInt64, progressed: inout Bool,
                            deliver: ([TailEvent], UInt64) async throws -> Void) async throws {
        var request = HTTPClientRequest(url: url("/v1/events/stream", after: position))
        request.headers.add(name: "Accept", value: "text/event-stream")
        request.headers.add(name: "Last-Event-ID", value: String(position))
        authorize(&request)
        let response = try await http.execute(request, deadline: .distantFuture)
        try await check(response)
        var parser = SSEParser()
        for try await chunk in response.body {
            var events: [TailEvent] = []
            var reached = position
            var cutOff = false
            for message in parser.feed(chunk.readableBytesView) {
                guard let text = message.id, let id = UInt64(text) else { continue }
                if message.data.hasPrefix(#"{"position":"#) {
                    // An event; one at or before the position reached was delivered already.
                    if id > reached {
                        events.append(TailEvent(position: id, line: message.data))
                        reached = id
                    }
                } else {
                    // `checkpoint` (events up to `id` examined) or `cutoff` (resume after `id`).
                    reached = max(reached, id)
                    cutOff = cutOff || message.event == "cutoff"
                }
            }
            if !events.isEmpty || reached > position {
                try await deliverOrFail(deliver, events, reached)
                position = reached
                progressed = true
            }
            if cutOff { return }
        }
    }

    struct Page { var events: [TailEvent]; var next: UInt64; var head: UInt64 }

    /// One long-poll page after `after`, without waiting.
    func poll(after: UInt64) async throws -> Page {
        var request = HTTPClientRequest(url: url("/v1/events", after: after) + "&limit=1000")
        request.headers.add(name: "Accept", value: "application/json")
        authorize(&request)
        let response = try await http.execute(request, timeout: .seconds(60))
        try await check(response)
        let body = Array(try await response.body.collect(upTo: 256 << 20).readableBytesView)
        guard let value = try? JSONCanonical.parse(utf8: body),
              case .array(let items)? = value["events"],
              case .integer(let nextText)? = value["next"], let next = UInt64(nextText),
              case .integer(let headText)? = value["head"], let head = UInt64(headText)
        else { throw TailClientError("GET /v1/events: the answer is not an events page") }
        // The lines as the server wrote them (a parsed value would print its keys sorted).
        let lines = Self.arrayElements(body)
        guard lines.count == items.count else { throw TailClientError("GET /v1/events: the events do not split into lines") }
        var events: [TailEvent] = []
        for (item, line) in zip(items, lines) {
            guard case .integer(let text)? = item["position"], let position = UInt64(text) else {
                throw TailClientError("GET /v1/events: an event without a position")
            }
            events.append(TailEvent(position: position, line: String(decoding: line, as: UTF8.self)))
        }
        return Page(events: events, next: next, head: head)
    }

    /// The bytes of each element of the first array in `json` (an events page: the value of
    /// `events`), found by bracket depth outside strings. The caller checked `json` parses.
    static func arrayElements(_ json: [UInt8]) -> [ArraySlice<UInt8>] {
        guard let open = json.firstIndex(of: UInt8(ascii: "[")) else { return [] }
        var elements: [ArraySlice<UInt8>] = []
        var depth = 0
        var inString = false
        var escaped = false
        var start = open + 1
        for i in (open + 1)..<json.count {
            let byte = json[i]
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if depth == 0 {
                    if i > start { elements.append(json[start..<i]) }
                    return elements
                }
                depth -= 1
            case UInt8(ascii: ","):
                if depth == 0 {
                    elements.append(json[start..<i])
                    start = i + 1
                }
            default: break
            }
        }
        return elements
    }

    private func url(_ path: String, after: UInt64) -> String {
        var text = baseURL + path + "?after=\(after)"
        if let member { text += "&member=" + Self.encode(member) }
        if let typePrefix { text += "&type=" + Self.encode(typePrefix) }
        return text
    }

    private static func encode(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }

    func authorize(_ request: inout HTTPClientRequest) {
        if let apiKey { request.headers.add(name: "Authorization", value: "Bearer " + apiKey) }
    }

    /// Throws for an answer other than 200: `TailClientError` when asking again cannot help
    /// (4xx but 408 and 429), a retryable error otherwise.
    func check(_ response: HTTPClientResponse) async throws {
        guard response.status != .ok else { return }
        let body = (try? await response.body.collect(upTo: 64 << 10)).map { String(buffer: $0) } ?? ""
        let code = response.status.code
        if (400..<500).contains(code), code != 408, code != 429 {
            throw TailClientError("HTTP \(code): \(body.prefix(500))")
        }
        throw RetryableStatus(code: code)
    }

    private struct RetryableStatus: Error { var code: UInt }
}

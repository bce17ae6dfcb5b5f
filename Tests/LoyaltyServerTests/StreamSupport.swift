import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import LedgerJSON
import LedgerStore
import LedgerTailClient
import LoyaltyDomain
import LoyaltyLedger
import LoyaltyServer
import NIOCore
import Synchronization

/// A server on the ledger at `path` (made with the default program when `create`), stopped
/// (gracefully) and the ledger closed when `body` returns: called twice on one path, a restart.
func withServer(ledger path: String, create: Bool, configuration: ServerConfiguration = ServerConfiguration(host: "127.0.0.1", port: 0),
                _ body: @Sendable (any TestClientProtocol, LedgerServer) async throws -> Void) async throws {
    let app = try LedgerApplication.open(path: path, options: ApplicationOptions(writable: true, create: create))
    defer { app.close() }
    if create {
        let (rules, _) = try LedgerApplication.defaultRules(currency: nil, zone: nil)
        _ = try await app.ledger.execute(.publishProgram(rules, at: LedgerApplication.defaultRulesEffectiveAt))
    }
    var configuration = configuration
    configuration.insecureNoAuth = true
    let server = try LedgerServer(app: app, configuration: configuration)
    let http = Application(router: server.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    try await http.test(.live) { client in try await body(client, server) }
}

/// Commands written straight through the ledger (as fast as it goes): enrollments of `members`
/// and then purchases spread over them.
enum Load {
    static func command(_ json: String, _ server: LedgerServer) throws -> Command {
        try Command(json: try JSONCanonical.parse(json), now: Timestamp(microseconds: 1_800_000_000_000_000))
    }

    static func enroll(_ members: Range<Int>, _ server: LedgerServer) async throws {
        let commands = try members.map {
            try command(#"{"command":"enroll","member":"m\#($0)","store":"S1","occurredAt":"2026-01-01T00:00:00Z"}"#, server)
        }
        _ = try await server.app.ledger.executeBatch(commands)
    }

    static func purchases(_ ids: Range<Int>, members: Int, _ server: LedgerServer) async throws {
        let commands = try ids.map {
            try command(#"{"command":"purchase","member":"m\#($0 % members)","purchaseId":"p\#($0)","amount":"10.00","store":"S1","occurredAt":"2026-01-05T10:00:00Z"}"#, server)
        }
        _ = try await server.app.ledger.executeBatch(commands)
    }
}

/// A Server-Sent Events consumer through AsyncHTTPClient: reads the stream at `uri` until
/// `done` says it has what it wants (then disconnects), at most `timeout`.
func readStream(port: Int, _ uri: String, headers: [(String, String)] = [], pause: Duration? = nil, timeout: Duration = .seconds(60),
                until done: @Sendable @escaping ([SSEMessage]) -> Bool) async throws -> [SSEMessage] {
    try await withThrowingTaskGroup(of: [SSEMessage]?.self) { group in
        group.addTask {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(uri)")
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            let response = try await HTTPClient.shared.execute(request, deadline: .distantFuture)
            guard response.status == .ok else { throw StreamTestError("status \(response.status.code)") }
            var parser = SSEParser()
            var messages: [SSEMessage] = []
            for try await chunk in response.body {
                messages += parser.feed(chunk.readableBytesView)
                if done(messages) { return messages }
                if let pause { try await Task.sleep(for: pause) }
            }
            return messages
        }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let result = try await group.next(), let messages = result else { throw StreamTestError("no answer within \(timeout)") }
        return messages
    }
}

struct StreamTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension SSEMessage {
    var position: UInt64? { id.flatMap { UInt64($0) } }
    /// An event of the log (not a checkpoint, cutoff or comment).
    var isEvent: Bool { data.hasPrefix(#"{"position":"#) }
}

/// Every event of the log as its JSON line, by position.
func logLines(_ app: LedgerApplication) throws -> [UInt64: String] {
    var out: [UInt64: String] = [:]
    var position: UInt64 = 0
    while true {
        let page = try app.events(after: position, limit: 10_000)
        guard !page.events.isEmpty else { return out }
        for event in page.events { out[event.position] = String(decoding: EventJSON.line(event), as: UTF8.self) }
        position = page.next
    }
}

/// A value shared between a test and the closures it hands out.
final class Shared<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    var value: Value {
        get { mutex.withLock { $0 } }
        set { mutex.withLock { $0 = newValue } }
    }
}

import Foundation
import Hummingbird
import HummingbirdTesting
import LedgerJSON
import LedgerTestSupport
import LoyaltyLedger
import LoyaltyServer
import NIOCore

/// A fresh ledger with the default program, served on a free loopback port; `body` talks to it
/// through a real socket (`.live`: HummingbirdTesting's HTTP/1.1 client).
func withServer(configuration: ServerConfiguration = ServerConfiguration(host: "127.0.0.1", port: 0), clock: LedgerClock = .system,
                _ body: @Sendable (any TestClientProtocol, LedgerServer) async throws -> Void) async throws {
    let dir = TemporaryDirectory()
    let app = try LedgerApplication.open(path: dir.ledger, options: ApplicationOptions(writable: true, create: true, clock: clock))
    defer { app.close() }
    let (rules, _) = try LedgerApplication.defaultRules(currency: nil, zone: nil)
    _ = try await app.ledger.execute(.publishProgram(rules, at: LedgerApplication.defaultRulesEffectiveAt))
    let server = try LedgerServer(app: app, configuration: configuration)
    let http = Application(router: server.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    try await http.test(.live) { client in try await body(client, server) }
}

extension TestClientProtocol {
    /// A request with a JSON body (a string, sent as it is).
    func send(_ method: HTTPRequest.Method, _ uri: String, json: String? = nil, headers: HTTPFields = [:]) async throws -> TestResponse {
        var headers = headers
        if json != nil, headers[.contentType] == nil { headers[.contentType] = "application/json" }
        return try await execute(uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) })
    }
}

extension TestResponse {
    var text: String { body.getString(at: body.readerIndex, length: body.readableBytes) ?? "" }
    var json: JSONValue? { try? JSONCanonical.parse(text) }
    /// The `type` of a problem answer.
    var problemType: String? {
        guard case .string(let t)? = json?["type"] else { return nil }
        return t
    }
}

import Foundation
import Hummingbird
import HummingbirdTesting
import LedgerJSON
import LedgerTestSupport
import LoyaltyLedger
import LoyaltyServer
import NIOCore
import ServiceLifecycle

/// A fresh ledger with the default program, served on a free loopback port without API keys
/// (`insecureNoAuth`); `body` talks to it through a real socket (`.live`: HummingbirdTesting's
/// HTTP/1.1 client).
func withServer(configuration: ServerConfiguration = ServerConfiguration(host: "127.0.0.1", port: 0), clock: LedgerClock = .system,
                _ body: @Sendable (any TestClientProtocol, LedgerServer) async throws -> Void) async throws {
    var configuration = configuration
    configuration.insecureNoAuth = true
    try await withKeyedServer(configuration: configuration, keys: [], clock: clock) { client, server, _ in try await body(client, server) }
}

/// A key `withKeyedServer` makes before the server starts.
struct TestKey: Sendable {
    var name: String
    var role: Role
    var stores: [String]? = nil
}

/// `withServer` with API keys: `keys` are made in the ledger's key file first; `body` gets each
/// key by name (send it with `bearer`). `projections`: run the projection workers too (as
/// `loyalty serve` does: `/ready` turns 200 once they caught up).
func withKeyedServer(configuration: ServerConfiguration = ServerConfiguration(host: "127.0.0.1", port: 0),
                     keys: [TestKey], projections: Bool = false, clock: LedgerClock = .system,
                     _ body: @Sendable (any TestClientProtocol, LedgerServer, [String: String]) async throws -> Void) async throws {
    let dir = TemporaryDirectory()
    let app = try LedgerApplication.open(path: dir.ledger, options: ApplicationOptions(writable: true, create: true, clock: clock))
    defer { app.close() }
    let (rules, _) = try LedgerApplication.defaultRules(currency: nil, zone: nil)
    _ = try await app.ledger.execute(.publishProgram(rules, at: LedgerApplication.defaultRulesEffectiveAt))
    var made: [String: String] = [:]
    for key in keys {
        made[key.name] = try APIKeyFile.create(ledger: dir.ledger, name: key.name, role: key.role, stores: key.stores, now: .now())
    }
    let secrets = made
    let server = try LedgerServer(app: app, configuration: configuration)
    let services: [any Service] = projections ? [try server.projectionService()] : []
    let http = Application(router: server.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)), services: services)
    try await http.test(.live) { client in try await body(client, server, secrets) }
}

/// The `Authorization` header of `key`.
func bearer(_ key: String?) -> HTTPFields {
    guard let key else { return [:] }
    return [.authorization: "Bearer " + key]
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

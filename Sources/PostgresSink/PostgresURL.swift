import Foundation
public import PostgresNIO

/// A PostgreSQL connection URL: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`, or a Unix
/// socket as libpq spells it, `postgres://USER@/DATABASE?host=/socket/dir[&port=N]` (the socket
/// is `DIR/.s.PGSQL.PORT`). User and database default to `postgres`, the port to 5432. TLS is
/// not offered: `sslmode` may be `disable`, `allow` or `prefer` (all: no TLS), anything else is
/// refused rather than silently sent in clear.
public struct PostgresURL: Sendable, CustomStringConvertible {
    public var configuration: PostgresConnection.Configuration
    /// The URL with its password masked (what messages and logs show).
    public var description: String

    public init(_ text: String) throws {
        guard let url = URLComponents(string: text), let scheme = url.scheme, ["postgres", "postgresql"].contains(scheme) else {
            throw SinkError("--url: '\(Self.masked(text))' is not a postgres:// URL (postgres://USER:PASSWORD@HOST:PORT/DATABASE)")
        }
        var query: [String: String] = [:]
        for item in url.queryItems ?? [] { query[item.name] = item.value ?? "" }
        if let mode = query["sslmode"], !["disable", "allow", "prefer"].contains(mode) {
            throw SinkError("--url: sslmode=\(mode) is not supported (this sink connects without TLS: use a local socket or a trusted network)")
        }
        let user = url.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        let password = url.password.flatMap { $0.removingPercentEncoding }
        var database = url.path.removingPercentEncoding ?? url.path
        while database.hasPrefix("/") { database.removeFirst() }
        if database.isEmpty { database = user }
        let portText = query["port"] ?? url.port.map(String.init) ?? "5432"
        guard let port = Int(portText), (1...65_535).contains(port) else {
            throw SinkError("--url: port '\(portText)' is not 1 to 65535")
        }
        let host = query["host"] ?? url.host.flatMap { $0.removingPercentEncoding } ?? ""
        if host.hasPrefix("/") {
            configuration = .init(unixSocketPath: host + "/.s.PGSQL.\(port)", username: user, password: password, database: database)
        } else if !host.isEmpty {
            configuration = .init(host: host, port: port, username: user, password: password, database: database, tls: .disable)
        } else {
            throw SinkError("--url: '\(Self.masked(text))' names no host (give HOST, or ?host=/socket/dir for a Unix socket)")
        }
        configuration.options.connectTimeout = .seconds(5)
        description = Self.masked(text)
    }

    /// `text` with the password between `:` and `@` of the authority replaced by `***`.
    static func masked(_ text: String) -> String {
        guard let scheme = text.range(of: "://"), let at = text[scheme.upperBound...].firstIndex(of: "@") else { return text }
        let authority = text[scheme.upperBound..<at]
        guard let colon = authority.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }
}

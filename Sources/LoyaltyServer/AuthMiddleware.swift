import Foundation
import Hummingbird
import Logging

/// Checks `Authorization: Bearer KEY` on every route but the open ones (`/health`, `/ready`) and
/// sets `context.caller`. A missing, malformed, unknown or revoked key is `401 unauthorized` with
/// `WWW-Authenticate: Bearer`; which of these it was is not told (nor logged with the key).
struct AuthMiddleware: RouterMiddleware {
    let keys: APIKeyRing

    /// The routes anyone may call.
    static let openPaths: Set<String> = ["/health", "/ready"]

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        if Self.openPaths.contains(request.uri.path) { return try await next(request, context) }
        guard let key = Self.bearer(request.headers[.authorization]) else {
            throw Self.unauthorized("send an API key as 'Authorization: Bearer KEY'", request, context)
        }
        let caller: Caller?
        do {
            caller = try keys.caller(key: key)
        } catch {
            // A damaged key file: no key counts until it is mended.
            context.logger.error("the API key file cannot be read", metadata: ["error": "\(error)"])
            throw Problem(.serviceUnavailable, "unavailable", "The server cannot check API keys", detail: "the server's key file cannot be read; see its log")
        }
        guard let caller else { throw Self.unauthorized("the API key is unknown or revoked", request, context) }
        var context = context
        context.caller = caller
        context.logger[metadataKey: "key"] = .string(caller.name)
        return try await next(request, context)
    }

    /// The key of an `Authorization: Bearer KEY` header (the scheme is case-insensitive).
    static func bearer(_ header: String?) -> String? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let key = parts[1].trimmingCharacters(in: .whitespaces)
        return key.isEmpty ? nil : key
    }

    /// The 401 answer, logged at debug like every answered request (`RequestLogMiddleware`).
    static func unauthorized(_ detail: String, _ request: Request, _ context: ServerContext) -> Problem {
        context.logger.debug("request", metadata: ["route": .string(context.endpointPath ?? "-"), "method": .string(request.method.rawValue),
                                                   "status": "401", "key": "-"])
        var problem = Problem(.unauthorized, "unauthorized", "An API key is needed", detail: detail)
        problem.extraHeaders[.wwwAuthenticate] = #"Bearer realm="loyalty""#
        return problem
    }
}

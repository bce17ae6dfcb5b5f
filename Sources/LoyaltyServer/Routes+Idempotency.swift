import HTTPTypes
import Hummingbird
import LedgerJSON
import NIOCore

extension LedgerServer {
    /// The `Idempotency-Key` request header.
    static let idempotencyKeyField = HTTPField.Name("Idempotency-Key")

    /// Answers `run`'s result, or, for a request with an `Idempotency-Key` header already
    /// answered, the stored answer (`IdempotencyStore` says which answers are kept and what a
    /// crash between the commit and the store means).
    func idempotent(_ request: Request, _ context: ServerContext, body: [UInt8],
                    _ run: () async throws -> (status: HTTPResponse.Status, body: JSONValue)) async throws -> Response {
        guard let field = Self.idempotencyKeyField, let key = request.headers[field] else {
            let answer = try await run()
            return JSONBody.response(answer.body, status: answer.status)
        }
        guard (1...IdempotencyStore.keyBytesMax).contains(key.utf8.count), key.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw Problem.invalidParameter("Idempotency-Key", "the Idempotency-Key header must be 1 to \(IdempotencyStore.keyBytesMax) visible ASCII characters")
        }
        let route = "\(request.method) \(context.endpointPath ?? request.uri.path)"
        let scope = IdempotencyStore.scope(caller: context.caller?.name, route: route, key: key)
        let target = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
        let hash = IdempotencyStore.hash(method: request.method.rawValue, path: target, body: body)
        switch idempotency.begin(scope: scope, hash: hash) {
        case .replay(let answer):
            return Response(status: .init(code: answer.status), headers: [.contentType: answer.contentType],
                            body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
        case .conflict(let detail):
            throw Problem(.conflict, "idempotency-conflict", "The idempotency key was used for a different request", detail: detail,
                          field: "Idempotency-Key")
        case .proceed:
            break
        }
        let stored: IdempotencyStore.Answer
        do {
            let answer = try await run()
            var bytes = JSONCanonical.encode(answer.body)
            bytes.append(0x0A)
            stored = .init(status: Int(answer.status.code), contentType: "application/json", body: bytes)
        } catch {
            guard let problem = Problem.from(error), [409, 422].contains(problem.status.code) else {
                idempotency.abandon(scope: scope)
                throw error
            }
            stored = .init(status: Int(problem.status.code), contentType: "application/problem+json", body: JSONCanonical.encode(problem.json))
        }
        do {
            try idempotency.finish(scope: scope, hash: hash, answer: stored)
        } catch {
            idempotency.abandon(scope: scope)
            throw error
        }
        return Response(status: .init(code: stored.status), headers: [.contentType: stored.contentType],
                        body: .init(byteBuffer: ByteBuffer(bytes: stored.body)))
    }
}

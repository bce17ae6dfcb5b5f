import Hummingbird
import Logging

/// Logs every request at debug: the route template (`/v1/members/{id}`, never the path itself:
/// member ids stay out of the log), method, status, duration and the key's name. Bodies, query
/// strings and headers are never logged (they carry member data and keys).
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = ServerContext

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        guard context.logger.logLevel <= .debug else { return try await next(request, context) }
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            log(request, context, status: Int(response.status.code), start: start)
            return response
        } catch {
            log(request, context, status: Int((Problem.from(error)?.status ?? .internalServerError).code), start: start)
            throw error
        }
    }

    private func log(_ request: Request, _ context: ServerContext, status: Int, start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let micros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
        context.logger.debug("request", metadata: [
            "route": .string(context.endpointPath ?? "-"), "method": .string(request.method.rawValue),
            "status": .stringConvertible(status), "micros": .stringConvertible(micros),
            "key": .string(context.caller?.name ?? "-"),
        ])
    }
}

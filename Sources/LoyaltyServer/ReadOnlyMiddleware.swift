import Hummingbird

/// A read-only server (a replica) answers reads only: any other method is `405
/// method-not-allowed` with `Allow: GET, HEAD`, before the route runs, so no command, import or
/// rules change reaches the application. Runs after the key check: a request without a valid key
/// is still `401`.
struct ReadOnlyMiddleware: RouterMiddleware {
    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        guard request.method == .get || request.method == .head else {
            var problem = Problem(.methodNotAllowed, "method-not-allowed", "This server is read-only",
                                  detail: "a read replica answers reads only: send \(request.method.rawValue) requests to the primary")
            problem.extraHeaders[.allow] = "GET, HEAD"
            throw problem
        }
        return try await next(request, context)
    }
}

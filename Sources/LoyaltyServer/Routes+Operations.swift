import Hummingbird
import NIOCore

extension LedgerServer {
    /// Liveness, readiness (both open), the metrics and the API's own description.
    func addOperationRoutes(to router: Router<ServerContext>) {
        router.get("/health") { _, _ in JSONBody.response(.object(["status": .string("ok")])) }
        router.get("/ready") { _, _ in
            guard self.isReady else {
                throw Problem(.serviceUnavailable, "unavailable", "Not ready",
                              detail: "the projections have not caught up with the log since the server started")
            }
            return JSONBody.response(.object(["status": .string("ready")]))
        }
        router.get("/metrics") { _, context in
            try Access.check(context.caller, .read)
            let text = try self.metrics.scrape()
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: text)))
        }
        router.get("/openapi.yaml") { request, _ in
            _ = try QueryParameters(request, allowed: [])
            return Response(status: .ok, headers: [.contentType: "application/yaml"],
                            body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
        }
    }
}

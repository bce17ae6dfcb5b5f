import Hummingbird
import NIOCore

extension LedgerServer {
    /// The operational routes: liveness and readiness (open to all), and the API's own
    /// description.
    func addOperationRoutes(to router: Router<ServerContext>) {
        router.get("/health") { _, _ in JSONBody.response(.object(["status": .string("ok")])) }
        router.get("/ready") { _, _ in JSONBody.response(.object(["status": .string("ready")])) }
        router.get("/openapi.yaml") { request, _ in
            _ = try QueryParameters(request, allowed: [])
            return Response(status: .ok, headers: [.contentType: "application/yaml"],
                            body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
        }
    }
}

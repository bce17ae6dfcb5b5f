import Hummingbird

extension LedgerServer {
    /// The open routes: liveness and readiness.
    func addOperationRoutes(to router: Router<ServerContext>) {
        router.get("/health") { _, _ in JSONBody.response(.object(["status": .string("ok")])) }
        router.get("/ready") { _, _ in JSONBody.response(.object(["status": .string("ready")])) }
    }
}

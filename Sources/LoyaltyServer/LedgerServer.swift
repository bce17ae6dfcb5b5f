public import Hummingbird
public import LoyaltyLedger
public import Logging
import LoyaltyDomain
public import Projections
import Synchronization

/// The HTTP service over one open `LedgerApplication`: every route parses its request, calls the
/// application (the same calls the CLI makes) and writes the answer.
public final class LedgerServer: Sendable {
    public let app: LedgerApplication
    public let configuration: ServerConfiguration
    /// The decision state commands go through (the application is open for writing); read-only
    /// (`configuration.readOnly`), the one reads answer from.
    let ledger: Ledger
    /// The answers of requests sent with an `Idempotency-Key`, under `<ledger>/api/`.
    let idempotency: IdempotencyStore
    /// The latest reconciliation report.
    let reconciliations = Reconciliations()
    /// The API keys requests must carry; nil with `insecureNoAuth` (every request is allowed).
    let keys: APIKeyRing?
    let metrics: ServerMetrics
    /// Set once the projections caught up after the start (`/ready`).
    private let caughtUp = Atomic<Bool>(false)
    /// The gauges of the open event streams.
    let streamMetrics = StreamMetrics()

    /// Throws `ServerSetupError` when keys are required and the ledger has no active key.
    /// The service's own files in the ledger directory, relative to it, that nothing rebuilds from
    /// the log: the API keys, and the answers kept for retried requests. A backup copies them.
    public static let stateFiles = [APIKeyFile.fileName, IdempotencyStore.directoryName + "/" + IdempotencyStore.fileName]

    public init(app: LedgerApplication, configuration: ServerConfiguration) throws {
        self.app = app
        self.configuration = configuration
        self.ledger = configuration.readOnly ? try app.decisionState() : try app.ledger
        self.idempotency = try IdempotencyStore(directory: app.path + "/" + IdempotencyStore.directoryName)
        if configuration.insecureNoAuth {
            keys = nil
        } else {
            let ring = try APIKeyRing(ledger: app.path)
            guard ring.activeCount > 0 else {
                throw ServerSetupError(description: "the ledger has no API key: create one with `loyalty api-keys create NAME --role ROLE` "
                                       + "(or, for local development only, serve with --insecure-no-auth)")
            }
            keys = ring
        }
        self.metrics = ServerMetrics(app: app)
    }

    /// Now, by the ledger's clock (tests fix it).
    var now: Timestamp { ledger.clock.now() }

    /// True once the projections caught up after the start.
    public var isReady: Bool { caughtUp.load(ordering: .acquiring) }

    /// The projection workers, as a service that marks the server ready after its first catch-up.
    public func projectionService() throws -> ProjectionService {
        var service = ProjectionService(projections: try app.projections())
        service.onCaughtUp = { self.caughtUp.store(true, ordering: .releasing) }
        return service
    }

    /// The router with every route of API version 1. Middleware, outermost first: request
    /// metrics, problem documents, API keys, the request log.
    public func router() -> Router<ServerContext> {
        let router = Router(context: ServerContext.self)
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: ProblemMiddleware())
        if let keys { router.add(middleware: AuthMiddleware(keys: keys)) }
        router.add(middleware: RequestLogMiddleware())
        if configuration.readOnly { router.add(middleware: ReadOnlyMiddleware()) }
        addOperationRoutes(to: router)
        addCommandRoutes(to: router)
        addCardRoutes(to: router)
        addQueryRoutes(to: router)
        addReportRoutes(to: router)
        addImportRoutes(to: router)
        addEventRoutes(to: router)
        addRecordRoutes(to: router)
        return router
    }

    /// The hummingbird application listening on the configured address.
    public func application(logger: Logger) -> some ApplicationProtocol {
        Application(router: router(),
                    configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "loyalty"),
                    logger: logger)
    }
}

/// A server that cannot start as configured (no API keys, ...).
public struct ServerSetupError: Error, CustomStringConvertible {
    public var description: String
}

public import Hummingbird
public import LoyaltyLedger
public import Logging
import LoyaltyDomain

/// The HTTP service over one open `LedgerApplication`: every route parses its request, calls the
/// application (the same calls the CLI makes) and writes the answer.
public final class LedgerServer: Sendable {
    public let app: LedgerApplication
    public let configuration: ServerConfiguration
    /// The decision state commands go through (the application is open for writing).
    let ledger: Ledger
    /// The gauges of the open event streams.
    let streamMetrics = StreamMetrics()

    public init(app: LedgerApplication, configuration: ServerConfiguration) throws {
        self.app = app
        self.configuration = configuration
        self.ledger = try app.ledger
    }

    /// Now, by the ledger's clock (tests fix it).
    var now: Timestamp { ledger.clock.now() }

    /// The router with every route of API version 1.
    public func router() -> Router<ServerContext> {
        let router = Router(context: ServerContext.self)
        router.add(middleware: ProblemMiddleware())
        addOperationRoutes(to: router)
        addCommandRoutes(to: router)
        addQueryRoutes(to: router)
        addEventRoutes(to: router)
        return router
    }

    /// The hummingbird application listening on the configured address.
    public func application(logger: Logger) -> some ApplicationProtocol {
        Application(router: router(),
                    configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "loyalty"),
                    logger: logger)
    }
}

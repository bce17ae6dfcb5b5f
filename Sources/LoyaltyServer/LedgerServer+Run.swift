import Hummingbird
public import Logging
import Projections
import ServiceLifecycle

extension LedgerServer {
    /// Runs the HTTP server and the projection workers as one service group until SIGTERM or
    /// SIGINT (or until the HTTP server stops): a graceful shutdown stops accepting connections,
    /// answers every request already accepted, then stops the workers. The caller closes the
    /// application after this returns, so nothing acknowledged is lost.
    public func run(logger: Logger, onListening: (@Sendable (Int) async -> Void)? = nil) async throws {
        var logger = logger
        logger[metadataKey: "ledger"] = .string(app.log.path)
        let http = Application(router: router(),
                               configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "loyalty"),
                               onServerRunning: { channel in await onListening?(channel.localAddress?.port ?? 0) },
                               logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: try projectionService()),
            .init(service: http, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
        ]
        if let schedule = configuration.dailyJobs, !configuration.readOnly {
            services.append(.init(service: DailyJobsService(app: app, schedule: schedule, logger: logger)))
        }
        let group = ServiceGroup(configuration: .init(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }
}

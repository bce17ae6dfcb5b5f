import ArgumentParser
import AsyncHTTPClient
import Foundation
import LedgerTailClient
import Logging
import NIOCore
import NIOPosix
import PostgresSink

/// `loyalty sink`: follow the log into another system. One subcommand per target.
struct SinkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sink", abstract: "Follow the log into another system (resumable from a checkpoint).",
        subcommands: [SinkPostgresCommand.self, WebhookSinkCommand.self])
}

/// `loyalty sink postgres --url URL [--from N] [--source PATH|URL] [--api-key KEY]`.
struct SinkPostgresCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "postgres", abstract: "Follow the log into PostgreSQL: events, member views, balances (schema loyalty).",
        discussion: """
            Creates and migrates the schema `loyalty` (schemas/postgres-sink.md) and keeps it following the log: each run of \
            events is one transaction with the checkpoint, so a crash neither loses nor duplicates a row; the next run resumes \
            at the checkpoint. A lost connection is retried with backoff. --source is a ledger directory (default: --ledger) \
            or the URL of `loyalty serve` (with --api-key).
            """)

    @OptionGroup var ledger: LedgerOptions
    @Option(help: "The database: postgres://USER:PASSWORD@HOST:PORT/DATABASE, or postgres://USER@/DATABASE?host=/socket/dir.")
    var url: String
    @Option(help: "A new sink starts after this position (ignored once the sink has a checkpoint).") var from: UInt64 = 0
    @Option(help: "The log to follow: a ledger directory (default: --ledger) or http(s)://HOST:PORT of `loyalty serve`.")
    var source: String?
    @Option(help: "The API key for a remote --source (sent as a bearer token).") var apiKey: String?
    @Flag(help: "Stop when caught up with the head instead of following.") var stopAtHead = false
    @Option(help: "Events per transaction from a local ledger (1 to \(SinkLimits.batchEventsMax)).") var batchEvents = SinkLimits.batchEventsMax

    func validate() throws {
        guard (1...SinkLimits.batchEventsMax).contains(batchEvents) else {
            throw ValidationError("--batch-events: '\(batchEvents)' is not 1 to \(SinkLimits.batchEventsMax)")
        }
        if apiKey != nil, !isRemote { throw ValidationError("--api-key goes with a remote --source (http:// or https://)") }
    }

    private var isRemote: Bool { source.map { $0.hasPrefix("http://") || $0.hasPrefix("https://") } ?? false }

    func run() async throws {
        let logger = Logger(label: "loyalty.sink") { StreamLogHandler.standardError(label: $0) }
        let target: PostgresURL
        do { target = try PostgresURL(url) } catch let e as SinkError { throw CLIError(e.description) }
        do {
            if isRemote, let source {
                try await runRemote(source, target, logger)
            } else {
                let path = source ?? ledger.path
                var options = ledger
                options.ledger = path
                let app = try options.open()
                defer { app.close() }
                var local = LocalSource(app: app, name: path)
                local.pageEventsMax = batchEvents
                try await PostgresSink(url: target, source: local, from: from,
                                       stopAtHead: stopAtHead, logger: logger).run()
            }
        } catch let e as SinkError {
            throw CLIError("sink postgres: \(e.description)")
        }
    }

    private func runRemote(_ base: String, _ target: PostgresURL, _ logger: Logger) async throws {
        var configuration = HTTPClient.Configuration()
        // The stream sends a keep-alive at least every 15 s: a longer silence is a dead connection.
        configuration.timeout = .init(connect: .seconds(3), read: .seconds(45))
        let http = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
        let client = LedgerTailClient(url: base, apiKey: apiKey, http: http)
        do {
            try await PostgresSink(url: target, source: RemoteSource(client: client), from: from, stopAtHead: stopAtHead, logger: logger).run()
            try await http.shutdown()
        } catch {
            try? await http.shutdown()
            throw error
        }
    }
}

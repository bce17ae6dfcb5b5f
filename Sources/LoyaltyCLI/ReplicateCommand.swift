import ArgumentParser
import AsyncHTTPClient
import Foundation
import LedgerReplica
import LedgerStore
import NIOPosix

/// `loyalty replicate`: keeps a verified copy of a served ledger's log (see `Replicator`).
struct ReplicateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replicate",
        abstract: "Copy a served ledger's log into a local replica, checking every record's chain hash before storing it.",
        discussion: """
            The first run creates the replica (--ledger) with the primary's ledger id; later runs resume from the \
            replica's own head. A record whose chain hash does not match the replica's chain stops it: the message \
            names the position and both hashes, and the exit status is 1. Serve the replica with \
            `loyalty serve --read-only` (queries and tails, no commands) while this keeps appending.
            """)

    @OptionGroup var options: LedgerOptions
    @Option(help: "The primary's base URL (a `loyalty serve`), e.g. http://10.0.0.5:8080.") var from: String
    @Option(name: .customLong("api-key"), help: "An operator or auditor API key of the primary.") var apiKey: String?
    @Flag(help: "Keep following new records after catching up (until SIGTERM or SIGINT).") var follow = false
    @Option(name: .customLong("page-records"), help: .hidden) var pageRecords = 4_096

    func validate() throws {
        guard from.hasPrefix("http://") || from.hasPrefix("https://") else {
            throw ValidationError("--from: '\(from)' is not an http:// or https:// URL")
        }
        guard (1...10_000).contains(pageRecords) else { throw ValidationError("--page-records: '\(pageRecords)' is not 1 to 10000") }
    }

    func run() async throws {
        var replicator = Replicator(url: from, apiKey: apiKey, ledgerPath: options.path)
        replicator.pageRecords = pageRecords
        replicator.writerLockWaitMilliseconds = options.waitForWriter * 1000
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(3), read: .seconds(Int64(replicator.waitSeconds) + 60))
        let http = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
        do {
            let head = try await replicator.run(follow: follow, http: http)
            try await http.shutdown()
            print("replica at position \(head.position), chain hash \(head.hash.hex)")
        } catch let error as ReplicationError {
            try? await http.shutdown()
            throw CLIError("replication stopped: \(error.description)")
        } catch {
            try? await http.shutdown()
            throw error
        }
    }
}

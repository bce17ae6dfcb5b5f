import AsyncHTTPClient
import Foundation
import LedgerTailClient
import NIOCore
import NIOPosix

/// `loyalty tail --url`: follows a remote ledger through `loyalty serve`, printing the same lines
/// as the local tail. With `--checkpoint FILE` the position reached is stored (after the lines
/// were written) and the next run starts from it.
struct RemoteTail {
    var url: String
    var apiKey: String?
    var after: UInt64
    var follow: Bool
    var checkpoint: TailCheckpoint?
    var member: String?
    var typePrefix: String?

    func run() async throws {
        var configuration = HTTPClient.Configuration()
        // The stream sends a keep-alive at least every 15 s: a longer silence is a dead connection.
        configuration.timeout = .init(connect: .seconds(3), read: .seconds(45))
        let http = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
        do {
            try await tail(http)
            try await http.shutdown()
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    private func tail(_ http: HTTPClient) async throws {
        let client = LedgerTailClient(url: url, apiKey: apiKey, member: member, typePrefix: typePrefix, http: http)
        let start = try checkpoint?.load() ?? after
        let deliver: ([TailEvent], UInt64) async throws -> Void = { events, position in
            if !events.isEmpty {
                var text = ""
                for event in events { text += event.line; text += "\n" }
                try FileHandle.standardOutput.write(contentsOf: Data(text.utf8))
            }
            try checkpoint?.store(position)
        }
        do {
            if follow {
                try await client.follow(after: start, deliver: deliver)
            } else {
                try await client.read(after: start, deliver: deliver)
            }
        } catch let error as TailClientError {
            throw CLIError("tail \(url): \(error.description)")
        }
    }
}

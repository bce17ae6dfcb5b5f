import Foundation
import Hummingbird
import Logging
import NIOCore

/// What a listing answers in, chosen by the request's `Accept`.
enum ListingFormat {
    case jsonLines, csv

    var contentType: String {
        switch self {
        case .jsonLines: return "application/x-ndjson"
        case .csv: return "text/csv; charset=utf-8"
        }
    }

    /// The first type of `Accept` the route can write (JSON Lines when none is given, for
    /// `*/*`, `application/json` and `application/x-ndjson`; CSV for `text/csv`); 406 when
    /// none of them is one.
    init(accept: String?) throws {
        guard let accept, !accept.isEmpty else { self = .jsonLines; return }
        for part in accept.split(separator: ",") {
            let type = part.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            switch type {
            case "application/x-ndjson", "application/jsonl", "application/json", "*/*", "application/*": self = .jsonLines; return
            case "text/csv", "text/*": self = .csv; return
            default: continue
            }
        }
        throw Problem(.notAcceptable, "not-acceptable", "No acceptable answer format",
                      detail: "Accept '\(accept)' names neither application/x-ndjson nor text/csv")
    }
}

/// Bytes handed from a blocking producer (a fold or a walk of a projection, on a thread of its
/// own) to the task writing the response: the producer waits while more than
/// `pendingBytesMax` are not yet written, so a slow client holds back the producer instead of
/// filling memory; a client that goes away stops it.
final class ChunkChannel: @unchecked Sendable {
    // @unchecked: `pending` and `cancelled` only under `condition`.
    static let pendingBytesMax = 1 << 20

    private let condition = NSCondition()
    private var pending = 0
    private var cancelled = false
    let stream: AsyncThrowingStream<[UInt8], any Error>
    private let continuation: AsyncThrowingStream<[UInt8], any Error>.Continuation

    init() { (stream, continuation) = AsyncThrowingStream.makeStream() }

    /// Hands `bytes` over; waits while the writer is behind; throws once the writer stopped.
    func send(_ bytes: [UInt8]) throws {
        condition.lock()
        while pending > Self.pendingBytesMax && !cancelled { condition.wait() }
        let stop = cancelled
        if !stop { pending += bytes.count }
        condition.unlock()
        if stop { throw CancellationError() }
        if !bytes.isEmpty { continuation.yield(bytes) }
    }

    func finish(throwing error: (any Error)? = nil) { continuation.finish(throwing: error) }

    fileprivate func written(_ count: Int) {
        condition.lock()
        pending -= count
        condition.broadcast()
        condition.unlock()
    }

    fileprivate func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }
}

enum StreamedBody {
    /// A `200` whose body `produce` writes on a thread of its own, streamed as it comes. An
    /// error after the first bytes were sent cannot change the status: it ends the response
    /// early (the client sees a body cut short) and is logged.
    static func response(contentType: String, logger: Logger, produce: @escaping @Sendable (ChunkChannel) throws -> Void) -> Response {
        Response(status: .ok, headers: [.contentType: contentType], body: ResponseBody { writer in
            let channel = ChunkChannel()
            let thread = Thread {
                do {
                    try produce(channel)
                    channel.finish()
                } catch {
                    channel.finish(throwing: error)
                }
            }
            thread.name = "loyalty-http-listing"
            thread.start()
            do {
                for try await chunk in channel.stream {
                    try await writer.write(ByteBuffer(bytes: chunk))
                    channel.written(chunk.count)
                }
            } catch {
                channel.cancel()
                if !(error is CancellationError) {
                    logger.error("a streamed answer stopped early", metadata: ["error": "\(String(reflecting: type(of: error)))"])
                }
                throw error
            }
            try await writer.finish(nil)
        })
    }

    /// Runs the blocking `body` on a thread of its own (a fold or a report that takes a while
    /// must not hold one of the few threads every request shares).
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try body() }) }
            thread.name = "loyalty-http-report"
            thread.start()
        }
    }
}

public import Logging
import AsyncHTTPClient
import LoyaltyLedger
import NIOCore
import NIOPosix

/// Follows the log and posts its events to one receiver in signed batches, in log order, one
/// batch at a time.
///
/// Order: a batch is delivered (or set aside) before the next is sent, so every member's events
/// arrive in log order. A batch refused for good becomes a dead letter and parks its members:
/// their later events are set aside behind it ("held") until a replay delivers it, while other
/// members go on. Delivery is at least once: a batch whose answer was lost (a timeout, a dropped
/// connection, a crash before the checkpoint) is sent again, so receivers de-duplicate by event
/// position (schemas/webhooks.md).
public struct WebhookSink: Sendable {
    public let configuration: WebhookSinkConfiguration
    let logger: Logger

    public init(configuration: WebhookSinkConfiguration, logger: Logger) throws(WebhookError) {
        try WebhookSinkConfiguration.checkURL(configuration.url, what: "--url")
        if case .remote(let url, _) = configuration.source { try WebhookSinkConfiguration.checkURL(url, what: "--source") }
        precondition(configuration.batchEventsMax >= 1 && configuration.deadLettersMax >= 1 && configuration.pollMilliseconds >= 1,
                     "the caller checks the sink's figures")
        (self.configuration, self.logger) = (configuration, logger)
    }

    /// Delivers from the stored position to the head (and on, with `follow`, until cancelled).
    public func run() async throws -> WebhookRunSummary {
        // The ledger first: a wrong path creates no state directory.
        var app: LedgerApplication?
        if case .ledger(let path) = configuration.source { app = try LedgerApplication.open(path: path) }
        defer { app?.close() }
        let state = try WebhookState(directory: configuration.stateDirectory)
        return try await withPoster { poster in
            var run = Run(state: state, poster: poster, configuration: configuration)
            if let app {
                try await followLedger(app, run: &run)
            } else if case .remote(let url, let apiKey) = configuration.source {
                try await followRemote(url: url, apiKey: apiKey, run: &run)
            }
            run.summary.position = state.position
            return run.summary
        }
    }

    /// Sends the dead letters again, oldest first. A letter refused again stays (with the new
    /// reason), and so do later letters sharing a member with it (their order is kept).
    public func replayDeadLetters() async throws -> WebhookReplaySummary {
        let state = try WebhookState(directory: configuration.stateDirectory)
        return try await withPoster { poster in
            var summary = WebhookReplaySummary()
            var blocked = Set<String>()
            for var letter in try state.store.list() {
                guard letter.members.isDisjoint(with: blocked) else {
                    blocked.formUnion(letter.members)
                    summary.lettersRemaining += 1
                    continue
                }
                switch try await poster.deliver(letter.batch) {
                case .delivered:
                    try state.store.remove(letter)
                    summary.lettersDelivered += 1
                    summary.eventsDelivered += letter.events.count
                case .refused(let attempts, let reason):
                    (letter.kind, letter.reason) = (.failed, reason)
                    letter.attempts = letter.attempts.addingReportingOverflow(attempts).partialValue
                    try state.store.store(letter)
                    blocked.formUnion(letter.members)
                    summary.lettersRemaining += 1
                }
            }
            return summary
        }
    }

    /// The dead letters kept in `stateDirectory`, oldest first (read without the lock: a
    /// running sink may add one meanwhile).
    public static func deadLetters(stateDirectory: String) throws(WebhookError) -> [DeadLetter] {
        try DeadLetterStore(directory: stateDirectory + "/dead-letters", create: false).list()
    }

    /// Runs `body` with a poster on its own HTTP client, shut down on every path.
    private func withPoster<T>(_ body: (WebhookPoster) async throws -> T) async throws -> T {
        var http = HTTPClient.Configuration()
        let timeout = TimeAmount.milliseconds(Int64(configuration.retry.requestTimeoutMilliseconds))
        http.timeout = .init(connect: timeout, read: timeout)
        http.redirectConfiguration = .disallow
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: http)
        let poster = WebhookPoster(url: configuration.url, secret: configuration.secret, policy: configuration.retry, http: client, logger: logger)
        do {
            let result = try await body(poster)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}

/// One run's moving parts: the state, the poster and what was done.
struct Run {
    let state: WebhookState
    let poster: WebhookPoster
    let configuration: WebhookSinkConfiguration
    var summary = WebhookRunSummary()

    /// Delivers `events` (log order, at most a batch) and stores `position` (at or after the
    /// last of them) as reached. Events of parked members are set aside first; the rest go in
    /// one request.
    mutating func process(_ events: [WebhookEvent], through position: UInt64) async throws {
        let fresh = events.filter { !state.lettered.contains($0.position) }
        let held = fresh.filter { state.parked.contains($0.member) }
        let ready = fresh.filter { !state.parked.contains($0.member) }
        if !held.isEmpty {
            try state.setAside(held, kind: .held, attempts: 0, reason: "held behind an earlier dead letter of the same member",
                               limit: configuration.deadLettersMax)
            summary.eventsHeld += held.count
        }
        if !ready.isEmpty {
            let batch = WebhookBatch(events: ready)
            switch try await poster.deliver(batch) {
            case .delivered:
                summary.eventsDelivered += ready.count
                summary.batchesDelivered += 1
            case .refused(let attempts, let reason):
                poster.logger.warning("webhook batch refused: set aside as a dead letter", metadata: [
                    "batch": "\(batch.id)", "attempts": "\(attempts)", "reason": "\(reason)"])
                try state.setAside(ready, kind: .failed, attempts: attempts, reason: reason, limit: configuration.deadLettersMax)
                summary.eventsFailed += ready.count
            }
        }
        try state.advance(to: position)
    }

    /// `events` cut into batches, each processed in turn; the last stores `position`.
    mutating func process(run events: [WebhookEvent], through position: UInt64) async throws {
        var start = 0
        while start < events.count {
            let end = min(start + configuration.batchEventsMax, events.count)
            try await process(Array(events[start..<end]), through: end == events.count ? position : events[end - 1].position)
            start = end
        }
        if events.isEmpty { try state.advance(to: position) }
    }
}

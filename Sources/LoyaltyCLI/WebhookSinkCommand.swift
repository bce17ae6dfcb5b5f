import ArgumentParser
import Foundation
import LedgerJSON
import Logging
import WebhookSink

/// `loyalty sink webhook`: parses, then calls `WebhookSink` (which does the delivering) and prints.
struct WebhookSinkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhook", abstract: "Post the log's events to a URL in signed batches (schemas/webhooks.md).",
        discussion: """
            Sends every event after the stored position, in log order, in batches signed with HMAC-SHA-256 \
            (header Loyalty-Signature); retries with exponential backoff and jitter; stores the position after each \
            batch in the state directory. A batch refused for good becomes a dead letter and its members' later \
            events wait behind it: --dead-letters lists them, --replay-dead-letters sends them again (stop the \
            running sink first: one process per state directory).
            """)

    @OptionGroup var options: LedgerOptions
    @Option(help: "The receiver (http:// or https://).") var url: String?
    @Option(help: "A file holding the shared secret (not readable by other users; at least 16 bytes).") var secretFile: String?
    @Option(help: "Only events whose type starts with this prefix (e.g. points.).") var types: String?
    @Option(help: "Read the log from this ledger directory or `loyalty serve` URL (default: --ledger).") var source: String?
    @Option(help: "With a --source URL: the API key (a consumer's).") var apiKey: String?
    @Option(help: "The position and dead letters go here (default: LEDGER/webhook-sink; required with a --source URL).")
    var state: String?
    @Flag(help: "Keep following new commits (until interrupted); otherwise stop at the head.") var follow = false
    @Option(help: "Events per request, at most.") var batchSize = WebhookLimits.batchEventsDefault
    @Option(help: "Attempts at a batch before it becomes a dead letter.") var attempts = WebhookLimits.attemptsDefault
    @Option(help: "The first wait after a failure, doubled per failure (milliseconds).")
    var backoffInitialMs = WebhookLimits.backoffInitialMillisecondsDefault
    @Option(help: "The longest wait between attempts (milliseconds).") var backoffMaxMs = WebhookLimits.backoffMaxMillisecondsDefault
    @Option(help: "How long one request may take to connect, and between reads (milliseconds).")
    var timeoutMs = WebhookLimits.requestTimeoutMillisecondsDefault
    @Option(help: "Stop instead of setting aside more dead letters than this.") var deadLettersMax = WebhookLimits.deadLettersDefault
    @Flag(help: "List the dead letters and exit.") var deadLetters = false
    @Flag(help: "Send the dead letters again, oldest first, and exit.") var replayDeadLetters = false
    @Option(help: "With --dead-letters: table or json.") var format: OutputFormat = .table
    @Option(help: "trace, debug, info, notice, warning, error or critical (on standard error).") var logLevel = "info"

    func validate() throws {
        if deadLetters && replayDeadLetters { throw ValidationError("--dead-letters and --replay-dead-letters go alone") }
        if !deadLetters {
            guard url != nil else { throw ValidationError("--url is required (the receiver)") }
            guard secretFile != nil else { throw ValidationError("--secret-file is required") }
        }
        if let url { try check { try WebhookSinkConfiguration.checkURL(url, what: "--url") } }
        if let source, isURL(source) {
            try check { try WebhookSinkConfiguration.checkURL(source, what: "--source") }
            if state == nil { throw ValidationError("--state is required with a --source URL (there is no ledger directory to keep it in)") }
        } else if apiKey != nil {
            throw ValidationError("--api-key goes with a --source URL")
        }
        if types?.isEmpty == true { throw ValidationError("--types must not be empty") }
        try range("--batch-size", batchSize, 1...WebhookLimits.batchEventsMax)
        try range("--attempts", attempts, 1...WebhookLimits.attemptsMax)
        try range("--backoff-initial-ms", backoffInitialMs, 0...WebhookLimits.backoffMillisecondsMax)
        try range("--backoff-max-ms", backoffMaxMs, backoffInitialMs...max(backoffInitialMs, WebhookLimits.backoffMillisecondsMax))
        try range("--timeout-ms", timeoutMs, 1...WebhookLimits.requestTimeoutMillisecondsMax)
        try range("--dead-letters-max", deadLettersMax, 1...WebhookLimits.deadLettersMax)
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level: '\(logLevel)' is not a log level") }
    }

    func run() async throws {
        let stateDirectory = state ?? (source ?? options.path) + "/webhook-sink"
        do {
            if deadLetters { return try list(WebhookSink.deadLetters(stateDirectory: stateDirectory)) }
            let sink = try WebhookSink(configuration: configuration(stateDirectory: stateDirectory), logger: logger())
            if replayDeadLetters {
                let summary = try await sink.replayDeadLetters()
                print("replayed \(summary.lettersDelivered) dead letters (\(summary.eventsDelivered) events); \(summary.lettersRemaining) remain")
                if summary.lettersRemaining > 0 {
                    throw CLIError("\(summary.lettersRemaining) dead letters remain: see `loyalty sink webhook --dead-letters`")
                }
                return
            }
            let summary = try await sink.run()
            print("delivered \(summary.eventsDelivered) events in \(summary.batchesDelivered) batches; "
                  + "set aside \(summary.eventsFailed) refused and \(summary.eventsHeld) held events; position \(summary.position)")
        } catch let error as WebhookError {
            throw CLIError("sink webhook: \(error.description)")
        }
    }

    private func configuration(stateDirectory: String) throws(WebhookError) -> WebhookSinkConfiguration {
        let secret = try WebhookSecret.load(path: secretFile ?? "")
        let from: WebhookSource
        if let source, isURL(source) { from = .remote(url: source, apiKey: apiKey) } else { from = .ledger(path: source ?? options.path) }
        var configuration = WebhookSinkConfiguration(url: url ?? "", secret: secret, source: from, stateDirectory: stateDirectory, typePrefix: types)
        configuration.follow = follow
        configuration.batchEventsMax = batchSize
        configuration.retry = RetryPolicy(attemptsMax: attempts, backoffInitialMilliseconds: backoffInitialMs,
                                          backoffMaxMilliseconds: backoffMaxMs, requestTimeoutMilliseconds: timeoutMs)
        configuration.deadLettersMax = deadLettersMax
        return configuration
    }

    private func list(_ letters: [DeadLetter]) {
        if format == .json {
            printJSON(.array(letters.map { letter in
                .object([
                    "sequence": .int(Int64(clamping: letter.sequence)), "kind": .string(letter.kind.rawValue), "attempts": .int(letter.attempts),
                    "reason": .string(letter.reason), "positions": .array(letter.events.map { .integer(String($0.position)) }),
                    "members": .array(letter.members.sorted().map { .string($0) }),
                ])
            }))
            return
        }
        if letters.isEmpty { return print("no dead letters") }
        print(padded("SEQ", 6) + padded("KIND", 8) + padded("EVENTS", 8) + padded("POSITIONS", 24) + padded("MEMBERS", 24) + padded("ATTEMPTS", 9) + "REASON")
        for letter in letters {
            let positions = "\(letter.events[0].position)..\(letter.events[letter.events.count - 1].position)"
            let members = letter.members.sorted()
            let shown = members.prefix(3).joined(separator: ",") + (members.count > 3 ? ",+\(members.count - 3)" : "")
            print(padded(String(letter.sequence), 6) + padded(letter.kind.rawValue, 8) + padded(String(letter.events.count), 8)
                  + padded(positions, 24) + padded(shown, 24) + padded(String(letter.attempts), 9) + letter.reason)
        }
    }

    private func logger() -> Logger {
        var logger = Logger(label: "loyalty.sink.webhook") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        return logger
    }

    private func isURL(_ text: String) -> Bool { text.hasPrefix("http://") || text.hasPrefix("https://") }

    private func check(_ body: () throws -> Void) throws {
        do { try body() } catch let error as WebhookError { throw ValidationError(error.description) }
    }

    private func range(_ name: String, _ value: Int, _ range: ClosedRange<Int>) throws {
        guard range.contains(value) else { throw ValidationError("\(name): '\(value)' is not \(range.lowerBound) to \(range.upperBound)") }
    }
}

/// How a batch is retried: up to `attemptsMax` attempts, waiting between them an exponential
/// backoff (`backoffInitial` doubled per failure, capped at `backoffMax`) with "equal jitter":
/// half the step fixed, half random, so sinks that failed together do not retry together.
public struct RetryPolicy: Sendable, Equatable {
    public var attemptsMax: Int
    public var backoffInitialMilliseconds: Int
    public var backoffMaxMilliseconds: Int
    /// How long one request may take to connect and between reads.
    public var requestTimeoutMilliseconds: Int

    public init(attemptsMax: Int = WebhookLimits.attemptsDefault,
                backoffInitialMilliseconds: Int = WebhookLimits.backoffInitialMillisecondsDefault,
                backoffMaxMilliseconds: Int = WebhookLimits.backoffMaxMillisecondsDefault,
                requestTimeoutMilliseconds: Int = WebhookLimits.requestTimeoutMillisecondsDefault) {
        precondition(attemptsMax >= 1 && backoffInitialMilliseconds >= 0 && backoffMaxMilliseconds >= backoffInitialMilliseconds
                     && requestTimeoutMilliseconds >= 1, "a retry policy's figures are checked by its caller")
        self.attemptsMax = attemptsMax
        self.backoffInitialMilliseconds = backoffInitialMilliseconds
        self.backoffMaxMilliseconds = backoffMaxMilliseconds
        self.requestTimeoutMilliseconds = requestTimeoutMilliseconds
    }

    /// The wait after the `failures`-th failure in a row (1 is the first), in milliseconds:
    /// from half the step to the step, where the step is the initial wait doubled per failure
    /// and capped.
    public func delayMilliseconds(afterFailure failures: Int, using random: inout some RandomNumberGenerator) -> Int {
        let doublings = min(max(failures - 1, 0), 40)
        let (doubled, overflow) = backoffInitialMilliseconds.multipliedReportingOverflow(by: 1 << doublings)
        let step = overflow ? backoffMaxMilliseconds : min(doubled, backoffMaxMilliseconds)
        let half = step / 2
        return step - half + Int.random(in: 0...half, using: &random)
    }
}

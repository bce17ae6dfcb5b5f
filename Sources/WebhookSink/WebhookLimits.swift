/// The webhook sink's limits and defaults in one place (units last).
public enum WebhookLimits {
    /// Events in one posted batch, at most (the receiver's request size stays bounded).
    public static let batchEventsDefault = 100
    public static let batchEventsMax = 10_000
    /// Attempts at one batch before it becomes a dead letter.
    public static let attemptsDefault = 10
    public static let attemptsMax = 1_000
    /// Exponential backoff between attempts: the first wait, doubled up to the cap, with jitter.
    public static let backoffInitialMillisecondsDefault = 500
    public static let backoffMaxMillisecondsDefault = 60_000
    public static let backoffMillisecondsMax = 3_600_000
    /// How long one request may take (connect, and each read) before it counts as failed.
    public static let requestTimeoutMillisecondsDefault = 10_000
    public static let requestTimeoutMillisecondsMax = 600_000
    /// Dead letters kept at most: past it the sink stops instead of parking the whole log (a
    /// receiver that refuses everything, a wrong secret).
    public static let deadLettersDefault = 1_000
    public static let deadLettersMax = 1_000_000
    /// How often a local follower looks for commits of other processes when caught up.
    public static let pollMillisecondsDefault = 250
    /// A secret file is small; a longer one is a wrong path. A shorter secret than the minimum
    /// is guessable.
    public static let secretBytesMax = 4_096
    public static let secretBytesMin = 16
    /// Bytes of a refusing answer's body kept in a dead letter's reason.
    public static let reasonBodyBytesMax = 300
    /// The signature's timestamp tolerance a receiver should apply (documented, used by tests).
    public static let signatureToleranceSecondsDefault: Int64 = 300
}

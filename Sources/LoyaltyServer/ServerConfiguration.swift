public import LoyaltyLedger

/// How `loyalty serve` runs.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// The largest command or rules body, in bytes (413 above).
    public var commandBodyBytesMax = ServerConfiguration.commandBodyBytesMaxDefault
    /// The largest import body, in bytes (413 above).
    public var importBodyBytesMax = 256 << 20
    /// The longest `wait` of a long poll, in seconds.
    public var longPollSecondsMax = 60
    /// When the daily jobs (expiry, tier evaluation) run, in the program's time zone; nil: never
    /// (an operator runs `loyalty expire` and `loyalty tiers evaluate` instead).
    public var dailyJobs: DailyJobs? = DailyJobs(minuteOfDay: 3 * 60)
    /// Serve without API keys: every request is allowed and events have no actor. For local
    /// development only (`loyalty serve --insecure-no-auth`); by default a server needs keys
    /// and refuses to start without one.
    public var insecureNoAuth = false

    public static let commandBodyBytesMaxDefault = 1 << 20

    public init(host: String = "127.0.0.1", port: Int = 8080) {
        (self.host, self.port) = (host, port)
    }
}

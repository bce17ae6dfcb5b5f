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
    /// Serve a ledger opened read-only (a replica: `loyalty replicate` appends to it): every
    /// request that is not a read is refused with 405, and no daily jobs run.
    public var readOnly = false
    /// The events a long poll answers when it names no `limit`, and the most it may ask for.
    public var eventsLimitDefault = 1_000
    public var eventsLimitMax = 10_000
    /// The event stream (`/v1/events/stream`): see `EventStream`.
    public var stream = StreamConfiguration()

    public static let commandBodyBytesMaxDefault = 1 << 20

    public init(host: String = "127.0.0.1", port: Int = 8080) {
        (self.host, self.port) = (host, port)
    }
}

/// How the event stream treats its consumers.
public struct StreamConfiguration: Sendable {
    /// A consumer that had caught up with the head and then fell more than this many events
    /// behind it is cut off (it drains slower than the ledger writes).
    public var lagEventsMax: UInt64 = 100_000
    /// A consumer that takes no data for this long (a write to it does not complete) is cut off.
    public var stallTimeout: Duration = .seconds(30)
    /// An idle stream sends a comment this often, so proxies keep it open.
    public var heartbeatInterval: Duration = .seconds(15)
    /// With a filter, a `checkpoint` event is sent once this many events were examined without
    /// one delivered, and whenever the stream catches up with the head.
    public var checkpointEvents: UInt64 = 10_000
    /// Events read from the log per batch (one read transaction, one write to the consumer).
    public var batchEvents = 512

    public init() {}
}

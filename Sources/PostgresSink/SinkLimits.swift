/// The sink's limits in one place.
public enum SinkLimits {
    /// Events per transaction from a local log.
    public static let batchEventsMax = 10_000
    /// Members whose fold states stay cached between transactions; past it the cache is
    /// dropped after a commit (and reloaded from PostgreSQL as members come back).
    public static let cachedMembersMax = 500_000
    /// How often a caught-up local sink looks for new events.
    public static let pollInterval = Duration.milliseconds(200)
    /// How often the position and lag are logged while events flow.
    public static let progressInterval = Duration.seconds(5)
    /// Reconnection waits after a lost PostgreSQL connection: doubled from the first to the last.
    public static let backoffMin = Duration.milliseconds(100)
    public static let backoffMax = Duration.seconds(5)
}

/// The outcome of one event of an append.
public struct AppendedEvent: Sendable, Hashable {
    public var position: UInt64
    public var version: UInt64
    public var recordedAt: Int64
    /// True when the idempotency key matched an earlier identical event: nothing was written and
    /// this is that event's original outcome.
    public var deduplicated: Bool

    public init(position: UInt64, version: UInt64, recordedAt: Int64, deduplicated: Bool) {
        self.position = position
        self.version = version
        self.recordedAt = recordedAt
        self.deduplicated = deduplicated
    }
}

/// The outcome of an append: one entry per draft, in order.
public struct AppendResult: Sendable, Hashable {
    public var events: [AppendedEvent]
    /// The log head right after the commit that carried this batch.
    public var headPosition: UInt64
}

/// The end of the log: its last position and chain hash.
public struct LogHead: Sendable, Hashable {
    public var position: UInt64
    public var hash: ChainHash
    public var recordedAt: Int64
}

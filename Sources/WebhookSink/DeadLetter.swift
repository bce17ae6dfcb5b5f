/// A batch the sink set aside, kept until a replay delivers it.
public struct DeadLetter: Sendable, Equatable {
    /// Why it was set aside.
    public enum Kind: String, Sendable {
        /// The receiver refused it for good, or every attempt failed.
        case failed
        /// Not sent: its members had an earlier dead letter, and their events must not overtake it.
        case held
    }

    /// Its place in the order letters were made (replays go in this order).
    public var sequence: UInt64
    public var kind: Kind
    public var attempts: Int
    public var reason: String
    /// Its events, in log order.
    public var events: [WebhookEvent]

    public var batch: WebhookBatch { WebhookBatch(events: events) }
    public var members: Set<String> { Set(events.map(\.member)) }
}

import LedgerStore

/// A stored event the domain model cannot fold: it does not decode, or it contradicts the events
/// before it (`FoldError`). The model stops before it, so no command is decided on this ledger
/// (every one is refused with this error); reading the log itself (`events`, `verify`, `history`)
/// does not need the model.
public struct StoredEventError: Error, Sendable, CustomStringConvertible {
    /// The event's position in the log (1-based).
    public let position: UInt64
    public let type: String
    public let member: String
    /// Why it cannot be applied.
    public let reason: String

    init(_ e: RecordedEvent, reason: String) {
        position = e.position
        type = e.type
        member = e.member
        self.reason = reason
    }

    public var description: String {
        "event at position \(position) (\(type), member \(member)) cannot be applied: \(reason)"
    }
}

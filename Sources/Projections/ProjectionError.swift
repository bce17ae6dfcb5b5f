/// What can go wrong with a projection. Operating faults (LMDB, the log) pass through as they are.
public enum ProjectionError: Error, CustomStringConvertible, Equatable {
    /// A stored value does not decode: the projection must be rebuilt.
    case damagedValue(String)
    /// A stored meta record does not decode.
    case damagedMeta(name: String, reason: String)
    /// No projection of that name.
    case unknownProjection(String, known: [String])
    /// The log holds an event the projection cannot read (its position and why).
    case undecodableEvent(position: UInt64, reason: String)
    /// The projection's checkpoint is past the log's head: the log was replaced or truncated.
    case aheadOfLog(name: String, checkpoint: UInt64, head: UInt64)

    public var description: String {
        switch self {
        case .damagedValue(let why): return "damaged projection value: \(why) (run `loyalty projections rebuild`)"
        case let .damagedMeta(name, why): return "damaged meta record of projection '\(name)': \(why)"
        case let .unknownProjection(name, known): return "unknown projection '\(name)' (known: \(known.joined(separator: ", ")))"
        case let .undecodableEvent(position, why): return "event \(position) cannot be projected: \(why)"
        case let .aheadOfLog(name, checkpoint, head):
            return "projection '\(name)' is at position \(checkpoint), past the log's head \(head): the log was replaced; it is rebuilt"
        }
    }
}

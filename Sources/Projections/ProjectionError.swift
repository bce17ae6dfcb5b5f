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
    /// A stored event decodes but the fold cannot apply it (an allocation from a lot the member
    /// does not have, a sum past 64 bits): the projection stops before it.
    case unappliable(position: UInt64, type: String, member: String, reason: String)
    /// Projections that stopped before an event they cannot apply (`catchUp` went as far as it
    /// could for every other projection first).
    case stopped([ProjectionStop])

    /// The log position the error names, if any.
    public var position: UInt64? {
        switch self {
        case .undecodableEvent(let p, _), .unappliable(let p, _, _, _): return p
        case .stopped(let stops): return stops.map(\.position).min()
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .damagedValue(let why): return "damaged projection value: \(why) (run `loyalty projections rebuild`)"
        case let .damagedMeta(name, why): return "damaged meta record of projection '\(name)': \(why)"
        case let .unknownProjection(name, known): return "unknown projection '\(name)' (known: \(known.joined(separator: ", ")))"
        case let .undecodableEvent(position, why): return "position \(position): cannot be projected: \(why)"
        case let .unappliable(position, type, member, why): return "position \(position) (\(type), member \(member)): \(why)"
        case .stopped(let stops): return stops.map(\.description).joined(separator: "; ")
        case let .aheadOfLog(name, checkpoint, head):
            return "projection '\(name)' is at position \(checkpoint), past the log's head \(head): the log was replaced; it is rebuilt"
        }
    }
}

/// Where a projection stopped: the first event it cannot apply. Its checkpoint stays before it;
/// every later `catchUp` tries that event again (a fixed fold, after a rebuild, goes past it).
public struct ProjectionStop: Sendable, Equatable, CustomStringConvertible {
    public var projection: String
    public var position: UInt64
    /// The event's member (empty when unknown: an event that does not decode).
    public var member: String
    public var reason: String

    public init(projection: String, position: UInt64, member: String, reason: String) {
        (self.projection, self.position, self.member, self.reason) = (projection, position, member, reason)
    }

    public var description: String { "projection '\(projection)' stopped before \(reason)" }

    /// Value form in the meta table (`stop/NAME`): u64le position, then the member and the
    /// reason as u32le-length-prefixed UTF-8.
    var bytes: [UInt8] {
        var w = ValueWriter(capacity: 64)
        w.uint64(position)
        w.string(String(decoding: Array(member.utf8.prefix(ProjectionKey.componentBytesMax)), as: UTF8.self))
        w.string(String(decoding: Array(reason.utf8.prefix(ProjectionStop.reasonBytesMax)), as: UTF8.self))
        return w.bytes
    }

    init(projection: String, bytes: UnsafeRawBufferPointer) throws(ProjectionError) {
        var r = ValueReader(bytes)
        let (position, member, reason) = (try r.uint64(), try r.string(), try r.string())
        self.init(projection: projection, position: position, member: member, reason: reason)
    }

    /// Bytes of a stored reason (the rest is cut: the log keeps the event itself).
    static let reasonBytesMax = 1_024
}

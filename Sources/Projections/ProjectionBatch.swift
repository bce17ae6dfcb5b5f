/// A run of domain events in log order, as a fold applies them (`ProjectionFold.apply(_:to:)`):
/// a value (it shares the run's storage; nothing is copied to make one).
public struct ProjectionBatch: Sendable {
    package let events: ArraySlice<ProjectionEvent>

    public init(_ events: [ProjectionEvent]) { self.events = events[...] }

    package init(_ events: ArraySlice<ProjectionEvent>) { self.events = events }

    public var count: Int { events.count }
    public var isEmpty: Bool { events.isEmpty }

    /// The events, copied (for a reader that keeps them; a fold uses `forEach`).
    public var all: [ProjectionEvent] { Array(events) }

    /// Calls `body` with each event in order, read in place: an event is borrowed, never copied
    /// (a copy retains and releases everything it holds, per event).
    @inline(__always)
    public func forEach(_ body: (borrowing ProjectionEvent) throws -> Void) rethrows {
        try events.withUnsafeBufferPointer { buffer in
            for i in buffer.indices { try body(buffer[i]) }
        }
    }

    /// The events after position `position` (positions ascend: a suffix, found by bisection).
    package func suffix(after position: UInt64) -> ProjectionBatch {
        ProjectionBatch(events[Self.firstIndex(in: events, after: position)...])
    }

    /// The index in `events` of the first event past `position`.
    package static func firstIndex(in events: ArraySlice<ProjectionEvent>, after position: UInt64) -> Int {
        var low = events.startIndex, high = events.endIndex
        while low < high {
            let mid = low + (high - low) / 2
            if events[mid].position <= position { low = mid + 1 } else { high = mid }
        }
        return low
    }
}

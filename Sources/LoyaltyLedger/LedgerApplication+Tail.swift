public import LedgerStore

/// Which events a tail delivers: one member's (exact id) and/or those whose type starts with a
/// prefix (`points.`). An empty filter delivers every event.
public struct EventFilter: Sendable, Equatable {
    public var member: String?
    public var typePrefix: String?

    public init(member: String? = nil, typePrefix: String? = nil) {
        (self.member, self.typePrefix) = (member, typePrefix)
    }

    public var isEmpty: Bool { member == nil && typePrefix == nil }

    public func matches(_ event: RecordedEvent) -> Bool {
        if let member, event.member != member { return false }
        if let typePrefix, !event.type.hasPrefix(typePrefix) { return false }
        return true
    }
}

/// One read of a tail: the matching events, and where the next read starts.
public struct EventPage: Sendable {
    /// The events after the read's start that match its filter, in log order.
    public var events: [RecordedEvent]
    /// The last position examined (delivered or filtered out); the start when nothing was
    /// examined. A consumer resumes after it: it neither re-reads nor misses an event.
    public var next: UInt64
    /// The chain hash at `next` when an event was examined (continues the next read without
    /// looking the hash up again).
    public var nextHash: ChainHash?
    /// The head when the read ended (at least `next` unless the start was past the head).
    public var head: UInt64
}

extension LedgerApplication {
    /// The events after `position` that match `filter`: at most `limit` of them, examining at
    /// most `examineMax` events (a filter that matches little reads a bounded part of the log per
    /// call; `next` says where it stopped). Each event carries its chain hash; `previousHash`,
    /// the hash at `position` from the previous page, saves looking it up.
    ///
    /// Reads in batches, each in a short read transaction (the writer is never blocked).
    public func events(after position: UInt64, limit: Int, filter: EventFilter = EventFilter(),
                       examineMax: Int = 100_000, previousHash: ChainHash? = nil) throws -> EventPage {
        var page = EventPage(events: [], next: position, nextHash: previousHash, head: 0)
        var examined = 0
        let limit = max(0, limit)
        while page.events.count < limit, examined < examineMax {
            let want = filter.isEmpty ? limit - page.events.count : min(examineMax - examined, 1_024)
            let batch = try log.events(after: page.next, limit: want, previousHash: page.nextHash)
            guard let last = batch.last else { break }
            for event in batch where filter.matches(event) {
                page.events.append(event)
                if page.events.count == limit {
                    // Stop at the last delivered event: those after it are read again next time.
                    page.next = event.position
                    page.nextHash = event.hash
                    page.head = try log.headPosition()
                    return page
                }
            }
            examined += batch.count
            page.next = last.position
            page.nextHash = last.hash
        }
        page.head = try log.headPosition()
        return page
    }
}

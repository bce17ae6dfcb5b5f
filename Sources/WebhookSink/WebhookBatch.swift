public import LedgerStore
import LedgerJSON
import LoyaltyLedger

/// One event as the sink posts it: its position, its member (for per-member order) and its
/// `EventJSON` line (what `GET /v1/events` gives).
public struct WebhookEvent: Sendable, Equatable {
    public var position: UInt64
    public var member: String
    public var json: [UInt8]

    public init(position: UInt64, member: String, json: [UInt8]) {
        (self.position, self.member, self.json) = (position, member, json)
    }

    public init(_ event: RecordedEvent) {
        self.init(position: event.position, member: event.member, json: EventJSON.line(event))
    }

    /// An event line read back (from a remote tail or a dead-letter file): its position and
    /// member come from the line itself.
    public init(line: [UInt8], what: String) throws(WebhookError) {
        guard let value = try? JSONCanonical.parse(utf8: line),
              case .integer(let text)? = value["position"], let position = UInt64(text),
              case .string(let member)? = value["member"]
        else { throw WebhookError(.source, "\(what): not an event (a JSON object with a position and a member)") }
        self.init(position: position, member: member, json: line)
    }
}

/// The events of one request, in log order; its body is `{"id":ID,"events":[EVENT,...]}`.
public struct WebhookBatch: Sendable, Equatable {
    public var events: [WebhookEvent]

    public init(events: [WebhookEvent]) {
        precondition(!events.isEmpty, "a batch holds at least one event")
        self.events = events
    }

    /// `FIRST-LAST`: the positions of its first and last events. A retry and a replay send the
    /// same id; receivers still de-duplicate by event position (a batch is re-formed after a
    /// restart).
    public var id: String { "\(events[0].position)-\(events[events.count - 1].position)" }

    public var members: Set<String> { Set(events.map(\.member)) }

    public var body: [UInt8] {
        var out: [UInt8] = Array(#"{"id":"#.utf8)
        JSONCanonical.writeString(id, into: &out)
        out.append(contentsOf: #","events":["#.utf8)
        for (i, event) in events.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: event.json)
        }
        out.append(contentsOf: "]}".utf8)
        return out
    }
}

import LedgerJSON
import LoyaltyDomain
import Projections

/// One transaction's rows: the events, and for every member they touch, the member view, the
/// balance and the fold state after them, all evaluated at the member's last event.
///
/// The time-dependent fields (available, pending, held, expired, lifecycle stage) are evaluated
/// at the recording time of the member's last event (`as_of`), not at the wall clock: a row is
/// then a function of the log alone, the same whichever batch or restart wrote it.
struct SinkBatch {
    var through: UInt64
    var hash: String?
    var events = CopyText()
    var memberViews = CopyText()
    var balances = CopyText()
    var memberFold = CopyText()

    /// Folds `events` (the members' states preloaded into `folds`) and builds the rows.
    init(events: [SinkEvent], through: UInt64, folds: MemberFolds) throws {
        self.through = through
        hash = events.last?.hash
        self.events = CopyText(capacity: max(1, events.count) * 400)
        var last: [String: (position: UInt64, recordedAt: Int64)] = [:]
        for event in events {
            if let pe = try event.projectionEvent() {
                do { try folds.apply(pe) } catch { throw SinkError("\(error)") }
                last[pe.member] = (event.position, event.recordedAt)
            }
            Self.row(event, into: &self.events)
        }
        for (member, at) in last.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            try memberRows(member, position: at.position, at: Timestamp(microseconds: at.recordedAt), folds: folds)
        }
    }

    private mutating func memberRows(_ member: String, position: UInt64, at: Timestamp, folds: MemberFolds) throws {
        let (view, record) = try folds.values(member)
        let balance = record?.balance(member, at: at)
        if let view {
            let json = view.json(member: member, balance: balance, at: at, thresholds: LifecycleThresholds())
            for column in SinkColumns.memberViews { memberViews.json(json[column.key]) }
            memberViews.integer(position)
            memberViews.endRow()
        }
        if let balance {
            let json = balance.json
            for column in SinkColumns.balances { balances.json(json[column.key]) }
            balances.integer(position)
            balances.endRow()
        }
        let encoded = try folds.encoded(member)
        memberFold.text(member)
        memberFold.bytea(encoded.view)
        memberFold.bytea(encoded.balance)
        memberFold.endRow()
    }

    /// An event's row: the payload as `jsonb`, or (data that is not JSON PostgreSQL takes, such
    /// as a `\u0000` escape, which `jsonb` refuses) as `payload_raw` bytes.
    static func row(_ e: SinkEvent, into out: inout CopyText) {
        out.integer(e.position)
        out.text(e.type)
        out.integer(e.schemaVersion)
        out.text(e.member)
        out.integer(e.version)
        out.time(e.recordedAt)
        out.time(e.occurredAt)
        out.text(e.idempotencyKey)
        out.text(e.actor)
        if e.data.isEmpty {
            out.null(); out.null()
        } else if takesAsJSONB(e) {
            out.text(e.data)
            out.null()
        } else {
            out.null()
            out.bytea(e.data)
        }
        out.text(e.hash)
        out.endRow()
    }

    /// Whether PostgreSQL's `jsonb` takes the event's data: JSON (domain events decoded, so
    /// they are; others are parsed) without a `\u0000` escape.
    static func takesAsJSONB(_ e: SinkEvent) -> Bool {
        if !DomainEvent.isDomainType(e.type) || e.neutralised {
            guard (try? JSONCanonical.parse(utf8: e.data)) != nil else { return false }
        }
        return !containsNULEscape(e.data)
    }

    static func containsNULEscape(_ data: [UInt8]) -> Bool {
        let pattern = Array(#"\u0000"#.utf8)
        guard data.count >= pattern.count else { return false }
        var i = 0
        while let j = data[i...].firstIndex(of: 0x5C) {
            if j + pattern.count <= data.count, data[j..<(j + pattern.count)].elementsEqual(pattern) { return true }
            i = j + 1
        }
        return false
    }
}

public import LedgerStore

/// Stored domain events written raw, as a foreign or damaged writer would: the tests of events a
/// fold cannot apply (projections, read commands).
public enum StoredEventDrafts {
    public static let at: Int64 = 1_767_225_600_000_000

    public static func draft(_ type: String, _ m: String, _ json: String, at: Int64 = at) -> EventDraft {
        EventDraft(type: type, member: m, occurredAt: at, data: Array(json.utf8))
    }

    public static func enrolled(_ m: String, store: String = "S1") -> EventDraft {
        draft("member.enrolled", m, #"{"brand":"main","channel":"app","member":"\#(m)","profile":{},"store":"\#(store)"}"#)
    }

    public static func earned(_ m: String, lot: String, points: Int64) -> EventDraft {
        draft("points.earned", m,
              #"{"availableAt":"2026-01-01T00:00:00Z","debtPaid":0,"expiresAt":"2027-01-01T00:00:00Z","lotId":"\#(lot)","member":"\#(m)","points":\#(points),"rule":"base","ruleVersion":1,"source":{"id":"\#(lot.dropFirst(2))","kind":"purchase"}}"#)
    }

    public static func redeemed(_ m: String, lot: String, points: Int64, id: String) -> EventDraft {
        draft("points.redeemed", m,
              #"{"allocations":[{"lotId":"\#(lot)","points":\#(points)}],"member":"\#(m)","points":\#(points),"redemptionId":"\#(id)"}"#)
    }

    public static func purchased(_ m: String, id: String, amount: Int64, store: String = "S1") -> EventDraft {
        draft("purchase.recorded", m, #"{"amount":\#(amount),"currency":"EUR","member":"\#(m)","purchaseId":"\#(id)","store":"\#(store)"}"#)
    }

    public static func open(_ dir: borrowing TemporaryDirectory) throws -> EventLog {
        try EventLog.open(path: dir.ledger, options: { var o = EventLogOptions(); o.create = true; return o }())
    }
}

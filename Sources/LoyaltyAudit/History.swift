public import LoyaltyDomain
public import LedgerStore
public import LedgerJSON

/// One row of `loyalty history`: an event of the member with both times and the running figures
/// after it. Fields: schemas/audit.md.
public struct HistoryRow: Sendable, Hashable {
    public var position: UInt64
    public var recordedAt: Timestamp
    public var occurredAt: Timestamp
    public var type: String
    public var description: String
    /// The running figures after the event, evaluated at `evaluatedAt`: the latest business time
    /// of the member's events so far in log order (a late-arriving purchase does not turn this
    /// clock back; pending points turn available as it moves on).
    public var evaluatedAt: Timestamp
    public var available: Points
    public var pending: Points
    public var held: Points
    public var debt: Points
    /// For debits (redemptions, transfers out, clawbacks, negative adjustments, expiries): the lots
    /// the event consumed, as recorded in it.
    public var consumed: [LotAllocation]
    /// For accruals: the rule explanation and the rule version that computed them.
    public var rule: String?
    public var ruleVersion: Int64?
    /// Set when the event could not be applied (a corrupt log: a debit of points the member's lots
    /// do not have).
    public var fault: String?

    public init(position: UInt64, recordedAt: Timestamp, occurredAt: Timestamp, type: String, description: String,
                evaluatedAt: Timestamp, available: Points, pending: Points, held: Points, debt: Points,
                consumed: [LotAllocation], rule: String?, ruleVersion: Int64?, fault: String?) {
        (self.position, self.recordedAt, self.occurredAt, self.type, self.description) = (position, recordedAt, occurredAt, type, description)
        (self.evaluatedAt, self.available, self.pending, self.held, self.debt) = (evaluatedAt, available, pending, held, debt)
        (self.consumed, self.rule, self.ruleVersion, self.fault) = (consumed, rule, ruleVersion, fault)
    }
}

public enum History {
    /// Every event of `member` in log order with running figures. Rows outside `[from, to]`
    /// (business time) are left out, but every earlier event still counts in the figures.
    public static func rows(member: String, log: EventLog, from: Timestamp? = nil, to: Timestamp? = nil) throws -> [HistoryRow] {
        var out: [HistoryRow] = []
        try forEachRow(member: member, log: log, from: from, to: to) { out.append($0) }
        return out
    }

    /// `rows`, handed to `visit` one at a time as the fold makes them (`history` writes each out
    /// at once instead of keeping 10,000 rows).
    public static func forEachRow(member: String, log: EventLog, from: Timestamp? = nil, to: Timestamp? = nil,
                                  _ visit: (HistoryRow) -> Void) throws {
        let (events, program) = try AuditEvents.timeline(member: member, log: log)
        guard !events.isEmpty else { throw unknown(member) }
        forEachRow(member: member, events: events, program: program, from: from, to: to, visit)
    }

    static func unknown(_ member: String) -> AuditError { AuditError("unknown member '\(member)' (no events)") }

    public static func rows(member: String, events: [LoggedEvent], program: [LoggedEvent], from: Timestamp? = nil,
                            to: Timestamp? = nil) -> [HistoryRow] {
        var out: [HistoryRow] = []
        out.reserveCapacity(events.count)
        forEachRow(member: member, events: events, program: program, from: from, to: to) { out.append($0) }
        return out
    }

    public static func forEachRow(member: String, events: [LoggedEvent], program: [LoggedEvent], from: Timestamp? = nil,
                                  to: Timestamp? = nil, _ visit: (HistoryRow) -> Void) {
        var drafter = RowDrafter(member: member, program: program, from: from, to: to)
        for e in events { drafter.feed(e) { visit(HistoryRow($0)) } }
    }

    /// A row before its description is written (`write` describes rows on its output thread).
    struct RowDraft: Sendable {
        var event: LoggedEvent
        var evaluatedAt: Timestamp
        var figures: (available: Points, pending: Points, held: Points, debt: Points)
        var fault: String?
    }

    /// The fold behind every form of `history`: running figures after each member event, and a
    /// draft for each event inside `[from, to]` (business time).
    struct RowDrafter {
        private var folder: AsOfView.Folder
        private var running = RunningFigures()
        private let from: Timestamp?, to: Timestamp?
        private(set) var fed = 0

        init(member: String, program: [LoggedEvent], from: Timestamp?, to: Timestamp?) {
            (folder, self.from, self.to) = (AsOfView.Folder(member: member, program: program, filter: ViewFilter()), from, to)
        }

        mutating func feed(_ e: LoggedEvent, _ emit: (RowDraft) -> Void) {
            fed += 1
            folder.feed(e) { e, exclusion, state in
                running.update(after: exclusion == nil ? e.event : nil, state: state, at: e.occurredAt)
                guard (from.map { e.occurredAt >= $0 } ?? true) && (to.map { e.occurredAt <= $0 } ?? true) else { return }
                let f = running.figures(state: state)
                let fault = exclusion?.reason ?? (f == nil ? "a running figure does not fit in 64 bits (shown as 0)" : nil)
                let g = f ?? [0, 0, 0, 0]
                emit(RowDraft(event: e, evaluatedAt: running.clock, figures: (g[0], g[1], g[2], g[3]), fault: fault))
            }
        }
    }

    /// One line saying what the event did.
    public static func describe(_ event: DomainEvent) -> String {
        switch event {
        case .memberEnrolled(let e): return "enrolled at store \(e.store) (brand \(e.brand), \(e.channel))"
        case .profileUpdated(_, let changes): return "profile updated: \(changes.keys.sorted().joined(separator: ", "))"
        case .memberClosed(_, let reason): return "closed: \(reason)"
        case .purchaseRecorded(let e):
            return "purchase \(e.purchaseId) of \(e.amount) minor units \(e.currency) at \(e.store)"
                + (e.paidWithPoints > 0 ? " (\(e.paidWithPoints) paid with points)" : "")
        case .purchaseReturned(let e):
            let taken = e.clawedBack.reduce(Int128(0)) { $0 + Int128($1.points) }
            return "return \(e.returnId) of purchase \(e.purchaseId), \(e.amount) minor units: \(taken) points clawed back"
                + (e.debt > 0 ? ", \(e.debt) became debt" : "") + (e.forgiven > 0 ? ", \(e.forgiven) forgiven" : "")
        case .pointsEarned(let e):
            return "earned \(e.points) points, lot \(e.lotId), available \(e.availableAt.rfc3339)"
                + (e.debtPaid > 0 ? ", \(e.debtPaid) paid debt" : "")
        case .pointsRedeemed(let e): return "redeemed \(e.points) points (\(e.redemptionId)\(e.reward.map { ", reward \($0)" } ?? ""))"
        case .redemptionReversed(let e):
            let back = e.restored.reduce(Int128(0)) { $0 + Int128($1.points) }, lapsed = e.expired.reduce(Int128(0)) { $0 + Int128($1.points) }
            return "redemption \(e.redemptionId) reversed: \(back) points restored" + (lapsed > 0 ? ", \(lapsed) came back expired" : "")
        case .pointsAdjusted(let e): return "adjusted \(e.points > 0 ? "+" : "")\(e.points) points by \(e.operatorId): \(e.reason)"
        case let .pointsExpired(_, lotId, points): return "\(points) points of lot \(lotId) expired"
        case let .pointsHeld(_, holdId, points, until): return "hold \(holdId) of \(points) points until \(until.rfc3339)"
        case let .holdReleased(_, holdId): return "hold \(holdId) released"
        case .pointsTransferredOut(let e): return "transferred \(e.points) points to \(e.to) (\(e.transferId))"
        case .pointsTransferredIn(let e): return "received \(e.points) points from \(e.from) (\(e.transferId))"
        case .tierChanged(let e): return "tier \(e.from ?? "none") -> \(e.to ?? "none"): \(e.reason) (qualifying \(e.qualifyingValue))"
        case .rewardDefined(let e): return "reward \(e.rewardId) defined"
        case .programPublished(let r): return "rules v\(r.version) published"
        case .cardIssued(let e): return "card \(e.number) issued" + (e.replaces.map { ", replacing card \($0)" } ?? "")
        case let .cardBlocked(_, number, reason): return "card \(number) blocked: \(reason)"
        case .tierSet(let e):
            return "tier \(e.from ?? "none") -> \(e.tier) set by \(e.operatorId): \(e.reason)"
                + (e.floor ? " (a floor until \(e.until?.rfc3339 ?? "further notice"))" : "")
        case .targetSet(let e): return "target \(e.metric) of store \(e.store) for \(e.period) set to \(e.value)"
        }
    }
}

extension HistoryRow {
    init(_ d: History.RowDraft) {
        let e = d.event
        self.init(position: e.position, recordedAt: e.recordedAt, occurredAt: e.occurredAt, type: e.event.type,
                  description: History.describe(e.event), evaluatedAt: d.evaluatedAt, available: d.figures.available,
                  pending: d.figures.pending, held: d.figures.held, debt: d.figures.debt, consumed: e.event.consumedAllocations,
                  rule: nil, ruleVersion: nil, fault: d.fault)
        if case .pointsEarned(let earned) = e.event { (rule, ruleVersion) = (earned.rule, earned.ruleVersion) }
    }

    /// Keys in canonical order, so the encoder does not sort them.
    public var json: JSONValue {
        .object([
            "available": .int(available),
            "consumed": consumed.isEmpty ? nil : .array(consumed.map { .object(["lotId": .string($0.lotId), "points": .int($0.points)]) }),
            "debt": .int(debt), "description": .string(description), "evaluatedAt": .string(evaluatedAt.rfc3339),
            "fault": fault.map { .string($0) }, "held": .int(held), "occurredAt": .string(occurredAt.rfc3339), "pending": .int(pending),
            "position": .int(Int64(position)), "recordedAt": .string(recordedAt.rfc3339), "rule": rule.map { .string($0) },
            "ruleVersion": ruleVersion.map { .int($0) }, "type": .string(type),
        ])
    }
}

extension HistoryRow {
    /// `JSONCanonical.encode(json)`, written straight into bytes (a 10,000-event history spent
    /// half its time building and encoding `JSONValue` trees). Keys in canonical order; optional
    /// members left out as `json` leaves them out. Tests compare both.
    public func writeJSON(into out: inout [UInt8]) {
        typealias W = CanonicalWriter
        W.key("available", first: true, into: &out); W.int(available, into: &out)
        if !consumed.isEmpty {
            W.key("consumed", into: &out)
            out.append(UInt8(ascii: "["))
            for (i, a) in consumed.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                W.key("lotId", first: true, into: &out); W.string(a.lotId, into: &out)
                W.key("points", into: &out); W.int(a.points, into: &out)
                out.append(UInt8(ascii: "}"))
            }
            out.append(UInt8(ascii: "]"))
        }
        W.key("debt", into: &out); W.int(debt, into: &out)
        W.key("description", into: &out); W.string(description, into: &out)
        W.key("evaluatedAt", into: &out); W.time(evaluatedAt, into: &out)
        if let fault { W.key("fault", into: &out); W.string(fault, into: &out) }
        W.key("held", into: &out); W.int(held, into: &out)
        W.key("occurredAt", into: &out); W.time(occurredAt, into: &out)
        W.key("pending", into: &out); W.int(pending, into: &out)
        W.key("position", into: &out); W.int(Int64(position), into: &out)
        W.key("recordedAt", into: &out); W.time(recordedAt, into: &out)
        if let rule { W.key("rule", into: &out); W.string(rule, into: &out) }
        if let ruleVersion { W.key("ruleVersion", into: &out); W.int(ruleVersion, into: &out) }
        W.key("type", into: &out); W.string(type, into: &out)
        out.append(UInt8(ascii: "}"))
    }

    /// Column widths of the table form (a column wider than its width is followed by one space).
    public static let tableWidths = (position: 10, time: 29, type: 24, available: 11, pending: 9, held: 6, debt: 6)

    public static var tableHeader: String {
        "position  recordedAt                   occurredAt                   type                    available  pending  held  debt  what\n"
    }

    /// One line of the table form, written into bytes. Widths count bytes: every padded column
    /// (numbers, RFC 3339 times, event type names) is ASCII.
    public func writeTableLine(into out: inout [UInt8]) {
        let w = Self.tableWidths
        func pad(from start: Int, _ width: Int) {
            let n = out.count - start
            if n >= width { out.append(UInt8(ascii: " ")) } else { out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: width - n)) }
        }
        func column(_ width: Int, _ write: (inout [UInt8]) -> Void) {
            let start = out.count
            write(&out)
            pad(from: start, width)
        }
        column(w.position) { CanonicalWriter.int(Int64(position), into: &$0) }
        column(w.time) { recordedAt.appendRFC3339(to: &$0) }
        column(w.time) { occurredAt.appendRFC3339(to: &$0) }
        column(w.type) { $0.append(contentsOf: type.utf8) }
        column(w.available) { CanonicalWriter.int(available, into: &$0) }
        column(w.pending) { CanonicalWriter.int(pending, into: &$0) }
        column(w.held) { CanonicalWriter.int(held, into: &$0) }
        column(w.debt) { CanonicalWriter.int(debt, into: &$0) }
        out.append(contentsOf: description.utf8)
        if !consumed.isEmpty {
            out.append(contentsOf: " [lots: ".utf8)
            for (i, a) in consumed.enumerated() {
                if i > 0 { out.append(contentsOf: ", ".utf8) }
                out.append(contentsOf: a.lotId.utf8)
                out.append(UInt8(ascii: "="))
                CanonicalWriter.int(a.points, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        if let ruleVersion {
            out.append(contentsOf: " [rule v".utf8)
            CanonicalWriter.int(ruleVersion, into: &out)
            out.append(contentsOf: ": \(rule ?? "")]".utf8)
        }
        if let fault { out.append(contentsOf: " [FAULT: \(fault)]".utf8) }
        out.append(UInt8(ascii: "\n"))
    }
}

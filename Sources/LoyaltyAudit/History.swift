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
}

public enum History {
    /// Every event of `member` in log order with running figures. Rows outside `[from, to]`
    /// (business time) are left out, but every earlier event still counts in the figures.
    public static func rows(member: String, log: EventLog, from: Timestamp? = nil, to: Timestamp? = nil) throws -> [HistoryRow] {
        let (events, program) = try AuditEvents.timeline(member: member, log: log)
        guard !events.isEmpty else { throw AuditError("unknown member '\(member)' (no events)") }
        return rows(member: member, events: events, program: program, from: from, to: to)
    }

    public static func rows(member: String, events: [LoggedEvent], program: [LoggedEvent], from: Timestamp? = nil,
                            to: Timestamp? = nil) -> [HistoryRow] {
        var out: [HistoryRow] = []
        out.reserveCapacity(events.count)
        var running = RunningFigures()
        _ = AsOfView.fold(member: member, events: events, program: program) { e, exclusion, state in
            running.update(after: exclusion == nil ? e.event : nil, state: state, at: e.occurredAt)
            guard (from.map { e.occurredAt >= $0 } ?? true) && (to.map { e.occurredAt <= $0 } ?? true) else { return }
            let f = running.figures(state: state)
            var row = HistoryRow(position: e.position, recordedAt: e.recordedAt, occurredAt: e.occurredAt, type: e.event.type,
                                 description: describe(e.event), evaluatedAt: running.clock, available: f[0], pending: f[1],
                                 held: f[2], debt: f[3], consumed: e.event.consumedAllocations, rule: nil, ruleVersion: nil,
                                 fault: exclusion?.reason)
            if case .pointsEarned(let earned) = e.event { (row.rule, row.ruleVersion) = (earned.rule, earned.ruleVersion) }
            out.append(row)
        }
        return out
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
            let taken = e.clawedBack.reduce(0) { $0 + $1.points }
            return "return \(e.returnId) of purchase \(e.purchaseId), \(e.amount) minor units: \(taken) points clawed back"
                + (e.debt > 0 ? ", \(e.debt) became debt" : "") + (e.forgiven > 0 ? ", \(e.forgiven) forgiven" : "")
        case .pointsEarned(let e):
            return "earned \(e.points) points, lot \(e.lotId), available \(e.availableAt.rfc3339)"
                + (e.debtPaid > 0 ? ", \(e.debtPaid) paid debt" : "")
        case .pointsRedeemed(let e): return "redeemed \(e.points) points (\(e.redemptionId)\(e.reward.map { ", reward \($0)" } ?? ""))"
        case .redemptionReversed(let e):
            let back = e.restored.reduce(0) { $0 + $1.points }, lapsed = e.expired.reduce(0) { $0 + $1.points }
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
        }
    }
}

extension HistoryRow {
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

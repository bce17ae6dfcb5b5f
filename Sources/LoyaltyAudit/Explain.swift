public import LoyaltyDomain
public import LedgerStore
public import LedgerJSON

/// `loyalty explain MEMBER`: a short account of the balance: where each open lot came from and
/// what happened to it, and what was spent, returned, expired, adjusted (by whom) and moved.
public struct Explanation: Sendable {
    public var member: String
    public var balance: Balance
    /// One line per open lot (in spending order), then one per kind of movement.
    public var lotLines: [String] = []
    public var movementLines: [String] = []

    public var lines: [String] {
        ["member \(member) at \(balance.asOf.rfc3339): available \(balance.available), pending \(balance.pending), held \(balance.held), debt \(balance.debt)",
         "open lots (spent in this order):"] + (lotLines.isEmpty ? ["  none"] : lotLines.map { "  " + $0 })
            + ["movements:"] + movementLines.map { "  " + $0 }
    }

    public var json: JSONValue {
        .object(["member": .string(member), "balance": balance.json, "lots": .array(lotLines.map { .string($0) }),
                 "movements": .array(movementLines.map { .string($0) })])
    }

    public static func explain(member: String, log: EventLog, at t: Timestamp) throws -> Explanation {
        let (events, program) = try AuditEvents.timeline(member: member, log: log)
        let view = AsOfView.fold(member: member, events: events, program: program)
        guard let balance = view.balance(at: t) else { throw AuditError("unknown member '\(member)' (no events)") }
        var x = Explanation(member: member, balance: balance)
        var origin: [String: String] = [:], outs: [String: [String]] = [:]
        var purchases: [String: DomainEvent.PurchaseRecorded] = [:]
        var m = Movements()
        for e in events {
            if case .purchaseRecorded(let p) = e.event { purchases[p.purchaseId] = p }
            for o in Self.origins(e, purchases: purchases) { origin[o.lot] = o.text }
            for a in e.event.consumedAllocations { outs[a.lotId, default: []].append("\(a.points) \(Self.verb(e.event))") }
            m.add(e)
        }
        for lot in balance.lots {
            let history = outs[lot.lotId].map { "; " + $0.joined(separator: ", ") } ?? ""
            x.lotLines.append("\(lot.lotId): \(lot.remaining) of \(lot.points) left, \(origin[lot.lotId] ?? "origin not in the stream")"
                + ", available \(lot.availableAt.rfc3339), expires \(lot.expiresAt?.rfc3339 ?? "never")\(history)")
        }
        x.movementLines = m.lines(balance: balance)
        if !view.exclusions.isEmpty { x.movementLines.append("faults: \(view.exclusions.map { "position \($0.position): \($0.reason)" }.joined(separator: "; "))") }
        return x
    }

    static func origins(_ e: LoggedEvent, purchases: [String: DomainEvent.PurchaseRecorded]) -> [(lot: String, text: String)] {
        switch e.event {
        case .pointsTransferredIn(let t):
            // The receiver's lots are named "T:<transfer>:<i>" and keep the sender's expiry.
            return t.allocations.indices.map { ("T:\(t.transferId):\($0)", "transfer \(t.transferId) from \(t.from) on \(e.occurredAt.rfc3339)") }
        case .pointsEarned(let p):
            var text = "earned \(e.occurredAt.rfc3339) under rules v\(p.ruleVersion) (\(p.rule))"
            if case .purchase(let id) = p.source, let buy = purchases[id] {
                text = "purchase \(id) (\(buy.amount) minor units at \(buy.store)) " + text
            }
            return [(p.lotId, text)]
        case .pointsAdjusted(let a) where a.points > 0:
            return [(a.lotId ?? "A:\(a.key)", "adjustment +\(a.points) by \(a.operatorId) on \(e.occurredAt.rfc3339): \(a.reason)")]
        default: return []
        }
    }

    static func verb(_ event: DomainEvent) -> String {
        switch event {
        case .pointsRedeemed(let r): return "redeemed (\(r.redemptionId))"
        case .purchaseReturned(let r): return "clawed back (return \(r.returnId))"
        case .pointsAdjusted(let a): return "adjusted by \(a.operatorId)"
        case .pointsTransferredOut(let t): return "transferred to \(t.to)"
        case .pointsExpired: return "expired"
        default: return "taken"
        }
    }
}

/// Tallies of a member's movements for `explain`.
private struct Movements {
    var redemptions = 0, reversals = 0, returns = 0, forgiven: Int128 = 0
    var adjustments: [String] = [], transfers: [String] = [], holds: [String: String] = [:], tierSets: [String] = []

    mutating func add(_ e: LoggedEvent) {
        switch e.event {
        case .pointsRedeemed: redemptions += 1
        case .redemptionReversed: reversals += 1
        case .purchaseReturned(let r): returns += 1; forgiven += Int128(r.forgiven)
        case .pointsAdjusted(let a):
            adjustments.append("\(a.points > 0 ? "+" : "")\(a.points) by \(a.operatorId) on \(e.occurredAt.rfc3339): \(a.reason)")
        case .pointsTransferredOut(let t): transfers.append("\(t.points) to \(t.to) on \(e.occurredAt.rfc3339)")
        case .pointsTransferredIn(let t):
            // A member's own transfer events: the lots it received are named "T:<transfer>:<i>".
            transfers.append("\(t.points) from \(t.from) on \(e.occurredAt.rfc3339)")
        case let .pointsHeld(_, id, points, until): holds[id] = "\(points) until \(until.rfc3339)"
        case let .holdReleased(_, id): holds[id] = nil
        case .tierSet(let t):
            tierSets.append("\(t.tier) by \(t.operatorId) on \(e.occurredAt.rfc3339): \(t.reason)"
                            + (t.floor ? " (floor until \(t.until?.rfc3339 ?? "further notice"))" : ""))
        default: break
        }
    }

    func lines(balance b: Balance) -> [String] {
        var out = ["earned \(b.earned) points in all"]
        out.append("spent \(b.redeemed) points (\(redemptions) redemptions, \(reversals) reversed)")
        out.append("returned: \(returns) returns clawed back \(b.clawedBack) points (\(b.debt) still owed as debt, \(forgiven) forgiven)")
        out.append("expired \(b.expired) points")
        out.append(adjustments.isEmpty ? "adjusted: none" : "adjusted \(b.adjusted) points: " + adjustments.joined(separator: "; "))
        if !transfers.isEmpty { out.append("transfers (in \(b.transferredIn), out \(b.transferredOut)): " + transfers.joined(separator: "; ")) }
        if !tierSets.isEmpty { out.append("tiers set by operators: " + tierSets.joined(separator: "; ")) }
        if !holds.isEmpty { out.append("holds: " + holds.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: "; ")) }
        return out
    }
}

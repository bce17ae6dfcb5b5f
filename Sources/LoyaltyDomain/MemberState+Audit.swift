/// Read-only helpers for audits (history, as-of views, reconciliation): what a fold of a subset
/// of a member's events needs to stay safe and cheap.
extension MemberState {
    /// Running figures at `t` in one pass over the lots (no sorting, unlike `Balance`).
    public func figures(at t: Timestamp) -> (available: Points, pending: Points, held: Points, debt: Points) {
        var spendable: Points = 0, pending: Points = 0
        for lot in lots where lot.remaining > 0 {
            if lot.isSpendable(at: t) {
                spendable = spendable.boundedAdding(lot.remaining)
            } else if lot.isPending(at: t) {
                pending = pending.boundedAdding(lot.remaining)
            }
        }
        let active = holds.values.reduce(Points(0)) { $0.boundedAdding($1.expiresAt > t ? $1.points : 0) }
        let held = min(active, spendable)
        return (spendable - held, pending, held, debt)
    }

    /// The lot with this id, if the member has it.
    public func lot(id: String) -> Lot? { lot(id) }

    /// True when every allocation names a lot of this member with at least that many points left:
    /// an event of a partial view (as of a business time) that fails this cannot be applied.
    public func canTake(_ allocations: [LotAllocation]) -> Bool {
        var need: [String: Points] = [:]
        for a in allocations {
            guard a.points >= 0 else { return false }
            let (sum, overflow) = need[a.lotId, default: 0].addingReportingOverflow(a.points)
            guard !overflow else { return false }
            need[a.lotId] = sum
        }
        for (id, points) in need {
            guard let lot = lot(id), lot.remaining >= points else { return false }
        }
        return true
    }
}

extension DomainEvent {
    /// The lots this event takes points from (debits, clawbacks, expiries), as recorded in it.
    public var consumedAllocations: [LotAllocation] {
        switch self {
        case .pointsRedeemed(let e): return e.allocations
        case .purchaseReturned(let e): return e.clawedBack
        case .pointsAdjusted(let e): return e.points < 0 ? e.allocations : []
        case .pointsTransferredOut(let e): return e.allocations
        case let .pointsExpired(_, lotId, points): return [LotAllocation(lotId: lotId, points: points)]
        default: return []
        }
    }
}

extension MemberState {
    /// The index of the lot in `lots` (lots are only ever appended, so an index stays valid).
    public func lotPosition(id: String) -> Int? { lotIndex[id] }
}

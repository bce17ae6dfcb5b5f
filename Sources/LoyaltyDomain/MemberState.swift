/// A credit of points: what is left of it and when it can be spent and until when.
public struct Lot: Hashable, Sendable {
    public var lotId: String
    public var points: Points
    public var remaining: Points
    public var earnedAt: Timestamp
    public var availableAt: Timestamp
    public var expiresAt: Timestamp?
    public var source: LotSource
    /// An expiry event was written for this lot's remainder.
    public var expiryWritten = false

    public func isExpired(at t: Timestamp) -> Bool { expiresAt.map { $0 <= t } ?? false }
    public func isSpendable(at t: Timestamp) -> Bool { availableAt <= t && !isExpired(at: t) }
    public func isPending(at t: Timestamp) -> Bool { availableAt > t && !isExpired(at: t) }

    /// Debits take the lot nearest expiry first, then the oldest, then the lowest lot id.
    static func consumptionOrder(_ a: Lot, _ b: Lot) -> Bool {
        switch (a.expiresAt, b.expiresAt) {
        case let (x?, y?) where x != y: return x < y
        case (.some, nil): return true
        case (nil, .some): return false
        default: break
        }
        if a.earnedAt != b.earnedAt { return a.earnedAt < b.earnedAt }
        return a.lotId.utf8.lexicographicallyPrecedes(b.lotId.utf8)
    }
}

/// A member's state: a fold of the member's events.
public struct MemberState: Hashable, Sendable {
    public struct Purchase: Hashable, Sendable {
        public var purchaseId: String
        public var at: Timestamp
        public var store: String
        public var amount: MinorUnits
        public var currency: String
        public var paidWithPoints: MinorUnits
        public var returned: MinorUnits = 0
        public var points: Points = 0
        public var clawedBack: Points = 0
        public var lotIds: [String] = []
        public var qualifying: Int64 = 0
    }

    public struct Redemption: Hashable, Sendable {
        public var points: Points
        public var reward: String?
        public var allocations: [LotAllocation]
        public var reversed = false
    }

    public struct Hold: Hashable, Sendable {
        public var points: Points
        public var expiresAt: Timestamp
    }

    public var member: String
    public var enrolledAt: Timestamp?
    public var closed = false
    public var brand = ""
    public var store = ""
    public var channel = ""
    public var birthDate: String?
    public var gender: String?
    public var profile: [String: String] = [:]

    public var lots: [Lot] = []
    var lotIndex: [String: Int] = [:]
    public var holds: [String: Hold] = [:]
    /// The lifetime counters and the debt (the counters' names below read and write them).
    public var figures = LifetimeFigures()

    public var purchases: [String: Purchase] = [:]
    public var purchaseCount = 0
    public var totalSpend: MinorUnits = 0
    public var firstPurchaseAt: Timestamp?
    public var lastPurchaseAt: Timestamp?
    public var lastActivityAt: Timestamp?
    public var redemptions: [String: Redemption] = [:]
    /// (time, value) of every change to the tier-qualifying measure (returns are negative).
    public var qualifying: [(at: Timestamp, value: Int64)] = []
    /// (time, points counted against caps) of every purchase accrual.
    public var accruals: [(at: Timestamp, points: Points)] = []
    public var lastBirthdayBonusYear: Int64?
    public var tier: String?
    public var tierSince: Timestamp?
    public var tierFloor: (tier: String, until: Timestamp)?
    public var adjustmentKeys: [String: Points] = [:]
    public var transferKeys: [String: Points] = [:]

    public init(member: String) { self.member = member }

    public static func == (a: MemberState, b: MemberState) -> Bool { a.member == b.member && a.lots == b.lots && a.debt == b.debt && a.holds == b.holds }
    public func hash(into h: inout Hasher) { h.combine(member) }

    public var isEnrolled: Bool { enrolledAt != nil }

    func lot(_ id: String) -> Lot? { lotIndex[id].map { lots[$0] } }

    /// Adds a credit's lot. Throws (and changes nothing) for a lot id the member already has or
    /// a remainder outside 0...points.
    mutating func addLot(_ lot: Lot) throws(FoldError) {
        guard lot.points >= 0, lot.remaining >= 0, lot.remaining <= lot.points else {
            throw FoldError(.negativeValue, "member '\(member)': lot '\(lot.lotId)' of \(lot.points) points would keep \(lot.remaining)")
        }
        guard lotIndex[lot.lotId] == nil else {
            throw FoldError(.duplicateLot, "member '\(member)' already has lot '\(lot.lotId)'")
        }
        lotIndex[lot.lotId] = lots.count
        lots.append(lot)
    }

    /// Takes `allocations` from the lots. Throws (and changes nothing) for an allocation from a
    /// lot the member does not have, a negative allocation, or more than a lot has left (the
    /// allocations of one lot are added up first).
    mutating func take(_ allocations: [LotAllocation]) throws(FoldError) {
        let after = try remainders(after: allocations, sign: -1)
        for (i, remaining) in after { lots[i].remaining = remaining }
    }

    /// Gives `allocations` back to their lots (a reversal), never past a lot's points. Throws
    /// (and changes nothing) like `take`.
    mutating func restore(_ allocations: [LotAllocation]) throws(FoldError) {
        let after = try remainders(after: allocations, sign: 1)
        for (i, remaining) in after { lots[i].remaining = remaining }
    }

    /// The new remainder of each lot `allocations` touch, in the order first touched; nothing
    /// changes here.
    private func remainders(after allocations: [LotAllocation], sign: Int64) throws(FoldError) -> [(Int, Points)] {
        var out: [(Int, Points)] = []
        out.reserveCapacity(allocations.count)
        // Lot index -> its place in `out` (only for more than a few allocations: a scan is cheaper).
        var place: [Int: Int] = [:]
        for a in allocations {
            guard a.points >= 0 else {
                throw FoldError(.negativeValue, "member '\(member)': allocation of \(a.points) points from lot '\(a.lotId)'")
            }
            guard let i = lotIndex[a.lotId] else {
                throw FoldError(.unknownLot, "member '\(member)' has no lot '\(a.lotId)' (allocation of \(a.points) points)")
            }
            let k = allocations.count > 8 ? place[i] : out.firstIndex { $0.0 == i }
            let before = k.map { out[$0].1 } ?? lots[i].remaining
            let (next, overflow) = before.addingReportingOverflow(sign * a.points)
            guard !overflow, next >= 0 else {
                throw FoldError(.lotBelowZero, "member '\(member)': lot '\(a.lotId)' has \(before) points left, \(a.points) taken")
            }
            guard next <= lots[i].points else {
                throw FoldError(.inconsistent, "member '\(member)': lot '\(a.lotId)' of \(lots[i].points) points would hold \(next) after \(a.points) restored")
            }
            if let k { out[k].1 = next } else {
                if allocations.count > 8 { place[i] = out.count }
                out.append((i, next))
            }
        }
        return out
    }

    /// The debt a credit of `credit` points pays (`LifetimeFigures.debtPaid(by:)`: the debt first).
    public func debtPaid(by credit: Points) -> Points { figures.debtPaid(by: credit) }

    /// Pays debt from a credit of `credit` points and returns what it paid (see `debtPaid(by:)`).
    mutating func payDebt(from credit: Points) -> Points { figures.payDebt(from: credit) }

    /// Active holds at `t`, never more than the spendable lots.
    func held(at t: Timestamp) -> Points {
        // Each sum is within `FoldLimits.movedTotalMaxPoints`: the model refuses events past it.
        let active = holds.values.reduce(Points(0)) { $0.boundedAdding($1.expiresAt > t ? $1.points : 0) }
        return min(active, spendableLots(at: t))
    }

    func spendableLots(at t: Timestamp) -> Points {
        lots.reduce(0) { $0.boundedAdding($1.isSpendable(at: t) ? $1.remaining : 0) }
    }

    /// Points a debit may take at `t`: spendable lots less active holds.
    public func spendable(at t: Timestamp) -> Points { spendableLots(at: t) - held(at: t) }

    /// Allocation of `points` from spendable lots in consumption order (nil if not enough).
    func allocate(_ points: Points, at t: Timestamp, from candidates: [Lot]? = nil) -> [LotAllocation]? {
        var need = points
        var out: [LotAllocation] = []
        for lot in (candidates ?? lots.filter { $0.isSpendable(at: t) }).sorted(by: Lot.consumptionOrder) where need > 0 && lot.remaining > 0 {
            let take = min(lot.remaining, need)
            out.append(LotAllocation(lotId: lot.lotId, points: take))
            need -= take  // (take <= need)
        }
        return need == 0 ? out : nil
    }

    /// The qualifying measure in `window` ending at `t`.
    func qualifyingValue(from start: Timestamp, to end: Timestamp) -> Int64 {
        // Within ±`FoldLimits.movedTotalMaxPoints` (or the money limit): each value is part of it.
        qualifying.reduce(0) { $0.boundedAdding($1.at >= start && $1.at <= end ? $1.value : 0) }
    }
}

extension MemberState: LifetimeCounted {}

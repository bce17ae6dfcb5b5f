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
    public var debt: Points = 0
    public var earned: Points = 0
    public var redeemed: Points = 0
    public var expired: Points = 0
    public var adjusted: Points = 0
    public var clawedBack: Points = 0
    public var transferredIn: Points = 0
    public var transferredOut: Points = 0

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

    mutating func addLot(_ lot: Lot) {
        let earlier = lotIndex.updateValue(lots.count, forKey: lot.lotId)  // (one lookup, not two)
        precondition(earlier == nil, "lot ids are unique per member")
        lots.append(lot)
    }

    mutating func take(_ allocations: [LotAllocation]) {
        for a in allocations {
            guard let i = lotIndex[a.lotId] else { preconditionFailure("allocation from unknown lot \(a.lotId)") }
            lots[i].remaining -= a.points
            precondition(lots[i].remaining >= 0, "a lot never goes below zero")
        }
    }

    /// Active holds at `t`, never more than the spendable lots.
    func held(at t: Timestamp) -> Points {
        let active = holds.values.filter { $0.expiresAt > t }.reduce(0) { $0 + $1.points }
        return min(active, spendableLots(at: t))
    }

    func spendableLots(at t: Timestamp) -> Points {
        lots.reduce(0) { $0 + ($1.isSpendable(at: t) ? $1.remaining : 0) }
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
            need -= take
        }
        return need == 0 ? out : nil
    }

    /// The qualifying measure in `window` ending at `t`.
    func qualifyingValue(from start: Timestamp, to end: Timestamp) -> Int64 {
        qualifying.reduce(0) { $0 + ($1.at >= start && $1.at <= end ? $1.value : 0) }
    }
}

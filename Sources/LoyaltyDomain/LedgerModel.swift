/// The whole program's state: a fold of every domain event, in log order. Pure: `apply` never
/// fails on events that `decide` produced; `decide` never mutates.
public struct LedgerModel: Sendable {
    public struct Reward: Hashable, Sendable {
        public var definition: DomainEvent.RewardDefined
        public var issued: Int64 = 0
        public var pointsSpent: Points = 0
    }

    public var members: [String: MemberState] = [:]
    /// Purchase id -> member; redemption id -> member; hold id -> member; return id -> purchase id.
    public var purchaseOwners: [String: String] = [:]
    public var redemptionOwners: [String: String] = [:]
    public var holdOwners: [String: String] = [:]
    public var returns: [String: (purchaseId: String, amount: MinorUnits)] = [:]
    public var rewards: [String: Reward] = [:]
    /// Published rule sets with the time they take effect, in publication order.
    public var publishedRules: [(effectiveAt: Timestamp, rules: ProgramRules)] = []
    public var eventCount = 0

    public init() {}

    /// The rules in force at `t`: the latest published rule set effective at or before `t`.
    public func rules(at t: Timestamp) -> ProgramRules {
        var best: (Timestamp, ProgramRules)?
        for (at, rules) in publishedRules where at <= t {
            if best == nil || at >= best!.0 { best = (at, rules) }
        }
        return best?.1 ?? .default
    }

    public func member(_ id: String) -> MemberState? { members[id] }

    public func balance(_ id: String, at t: Timestamp) -> Balance? { members[id].map { Balance($0, at: t) } }

    /// Applies one event that happened at `at` (the log's occurredAt).
    public mutating func apply(_ event: DomainEvent, at: Timestamp) {
        eventCount += 1
        switch event {
        case .programPublished(let rules):
            publishedRules.append((at, rules))
        case .rewardDefined(let d):
            rewards[d.rewardId, default: Reward(definition: d)].definition = d
        default:
            let id = event.stream
            // The state is swapped out of the dictionary (one lookup, no copy, no rehash) so that
            // its collections are uniquely referenced and mutate in place while `self`'s other
            // tables change too. `applyToMember` never touches `members`, so `i` stays valid.
            guard let i = members.index(forKey: id) else {
                var state = MemberState(member: id)
                applyToMember(event, at: at, state: &state)
                members[id] = state
                return
            }
            var state = MemberState(member: "")  // a placeholder: empty collections allocate nothing
            swap(&state, &members.values[i])
            applyToMember(event, at: at, state: &state)
            swap(&state, &members.values[i])
            assert(members.keys[i] == id && members.values[i].member == id)
        }
    }

    private mutating func applyToMember(_ event: DomainEvent, at: Timestamp, state s: inout MemberState) {
        s.lastActivityAt = max(s.lastActivityAt ?? at, at)
        switch event {
        case .memberEnrolled(let e):
            s.enrolledAt = at
            (s.brand, s.store, s.channel, s.birthDate, s.gender, s.profile) = (e.brand, e.store, e.channel, e.birthDate, e.gender, e.profile)
        case let .profileUpdated(_, changes):
            for (k, v) in changes {
                switch k {
                case "birthDate": s.birthDate = v
                case "gender": s.gender = v
                default: s.profile[k] = v
                }
            }
        case .memberClosed:
            s.closed = true
        case .purchaseRecorded(let e):
            applyPurchase(e, at: at, state: &s)
        case .pointsEarned(let e):
            applyEarned(e, at: at, state: &s)
        case .purchaseReturned(let e):
            applyReturn(e, state: &s)
        case .pointsRedeemed(let e):
            s.take(e.allocations)
            s.redeemed += e.points
            s.redemptions[e.redemptionId] = .init(points: e.points, reward: e.reward, allocations: e.allocations)
            redemptionOwners[e.redemptionId] = s.member
            if let reward = e.reward {
                rewards[reward]?.issued += 1
                rewards[reward]?.pointsSpent += e.points
            }
        case .redemptionReversed(let e):
            applyReversal(e, state: &s)
        case .pointsAdjusted(let e):
            applyAdjustment(e, at: at, state: &s)
        case let .pointsExpired(_, lotId, points):
            if let i = s.lotIndex[lotId] {
                s.lots[i].remaining -= points
                s.lots[i].expiryWritten = true
            }
            s.expired += points
        case let .pointsHeld(_, holdId, points, expiresAt):
            s.holds[holdId] = .init(points: points, expiresAt: expiresAt)
            holdOwners[holdId] = s.member
        case let .holdReleased(_, holdId):
            s.holds[holdId] = nil
        case .pointsTransferredOut(let e):
            s.take(e.allocations)
            s.transferredOut += e.points
            s.transferKeys[e.transferId] = e.points
        case .pointsTransferredIn(let e):
            for (i, (a, expiry)) in zip(e.allocations, e.expiries).enumerated() {
                s.addLot(Lot(lotId: "T:\(e.transferId):\(i)", points: a.points, remaining: a.points, earnedAt: at,
                             availableAt: at, expiresAt: expiry, source: .transfer(e.transferId)))
            }
            s.transferredIn += e.points
            s.transferKeys[e.transferId] = e.points
        case .tierChanged(let e):
            s.tier = e.to
            s.tierSince = at
            if let until = e.floorUntil, let to = e.to { s.tierFloor = (to, until) }
        case .rewardDefined, .programPublished:
            preconditionFailure("program events are not member events")
        }
    }

    private mutating func applyPurchase(_ e: DomainEvent.PurchaseRecorded, at: Timestamp, state s: inout MemberState) {
        let rules = self.rules(at: at)
        let qualifyingValue = rules.tierMeasure == .spend ? e.amount - e.paidWithPoints : 0
        s.purchases[e.purchaseId] = .init(purchaseId: e.purchaseId, at: at, store: e.store, amount: e.amount, currency: e.currency,
                                          paidWithPoints: e.paidWithPoints, qualifying: qualifyingValue)
        purchaseOwners[e.purchaseId] = s.member
        s.purchaseCount += 1
        s.totalSpend += e.amount
        s.firstPurchaseAt = min(s.firstPurchaseAt ?? at, at)
        s.lastPurchaseAt = max(s.lastPurchaseAt ?? at, at)
        if qualifyingValue != 0 { s.qualifying.append((at, qualifyingValue)) }
    }

    private mutating func applyEarned(_ e: DomainEvent.PointsEarned, at: Timestamp, state s: inout MemberState) {
        s.debt -= e.debtPaid
        s.addLot(Lot(lotId: e.lotId, points: e.points, remaining: e.points - e.debtPaid, earnedAt: at,
                     availableAt: e.availableAt, expiresAt: e.expiresAt, source: e.source))
        s.earned += e.points
        // In place (`values[i]`): a copy of the purchase shared its `lotIds`, so the append
        // copied that array too.
        if case let .purchase(id) = e.source, let i = s.purchases.index(forKey: id) {
            s.purchases.values[i].points += e.points
            s.purchases.values[i].lotIds.append(e.lotId)
            let purchasedAt = s.purchases.values[i].at
            s.accruals.append((purchasedAt, e.capCounted ?? e.points))
            if rules(at: purchasedAt).tierMeasure == .qualifyingPoints { s.qualifying.append((purchasedAt, e.points)) }
        }
        if e.birthdayBonus != nil { s.lastBirthdayBonusYear = rules(at: at).timeZone.date(at).year }
    }

    private mutating func applyReturn(_ e: DomainEvent.PurchaseReturned, state s: inout MemberState) {
        s.take(e.clawedBack)
        let total = e.clawedBack.reduce(0) { $0 + $1.points } + e.debt
        s.debt += e.debt
        s.clawedBack += total
        returns[e.returnId] = (e.purchaseId, e.amount)
        guard var p = s.purchases[e.purchaseId] else { return }
        let qualifyingBefore = p.qualifying
        p.returned += e.amount
        p.clawedBack += total + e.forgiven
        s.totalSpend -= e.amount
        // The tier-qualifying amount is reversed in proportion, at the purchase's own time.
        let measure = rules(at: p.at).tierMeasure
        let reversed: Int64 = measure == .spend
            ? Int64(Int128(p.amount - p.paidWithPoints) * Int128(e.amount) / Int128(max(p.amount, 1)))
            : total + e.forgiven
        p.qualifying = qualifyingBefore - reversed
        if reversed != 0 { s.qualifying.append((p.at, -reversed)) }
        s.purchases[e.purchaseId] = p
    }

    private mutating func applyReversal(_ e: DomainEvent.RedemptionReversed, state s: inout MemberState) {
        guard let r = s.redemptions[e.redemptionId] else { return }
        for a in e.restored { if let i = s.lotIndex[a.lotId] { s.lots[i].remaining += a.points } }
        // Points of lots already past their expiry come back expired: counted, never spendable.
        let expired = e.expired.reduce(0) { $0 + $1.points }
        s.redeemed -= r.points
        s.expired += expired
        s.redemptions[e.redemptionId]?.reversed = true
        if let reward = r.reward { rewards[reward]?.pointsSpent -= r.points; rewards[reward]?.issued -= 1 }
    }

    private mutating func applyAdjustment(_ e: DomainEvent.PointsAdjusted, at: Timestamp, state s: inout MemberState) {
        s.adjusted += e.points
        s.adjustmentKeys[e.key] = e.points
        if e.points > 0, let lotId = e.lotId {
            let paid = min(e.points, s.debt)
            s.debt -= paid
            s.addLot(Lot(lotId: lotId, points: e.points, remaining: e.points - paid, earnedAt: at, availableAt: at,
                         expiresAt: e.expiresAt, source: .adjustment(e.key)))
        } else {
            s.take(e.allocations)
        }
    }
}


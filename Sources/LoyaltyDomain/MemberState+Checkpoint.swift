extension MemberState {
    /// What the events of one command may change in a member's state, as it was before them:
    /// every scalar, the lengths of the append-only lists, and the entries under the keys the
    /// events name. Cheap (no copy of a collection: holding one would make the next change
    /// copy it whole), so `LedgerModel.apply(contentsOf:)` keeps one for every command.
    struct Checkpoint {
        var enrolledAt: Timestamp?, closed: Bool, brand: String, store: String, channel: String
        var birthDate: String?, gender: String?, profile: [String: String]
        var figures: LifetimeFigures
        var purchaseCount: Int, totalSpend: MinorUnits, firstPurchaseAt: Timestamp?, lastPurchaseAt: Timestamp?
        var lastActivityAt: Timestamp?, lastBirthdayBonusYear: Int64?
        var tier: String?, tierSince: Timestamp?, tierFloor: (tier: String, until: Timestamp)?
        var lotCount: Int, accrualCount: Int, qualifyingCount: Int
        var lots: [(Int, Lot)] = []
        var purchases: [(String, Purchase?)] = []
        var redemptions: [(String, Redemption?)] = []
        var holds: [(String, Hold?)] = []
        var adjustmentKeys: [(String, Points?)] = []
        var transferKeys: [(String, Points?)] = []
    }

    /// The state `events` (those of this member among them) may change, as it is now.
    func checkpoint(for events: [DomainEvent]) -> Checkpoint {
        var c = Checkpoint(enrolledAt: enrolledAt, closed: closed, brand: brand, store: store, channel: channel,
                           birthDate: birthDate, gender: gender, profile: profile, figures: figures, purchaseCount: purchaseCount, totalSpend: totalSpend,
                           firstPurchaseAt: firstPurchaseAt, lastPurchaseAt: lastPurchaseAt, lastActivityAt: lastActivityAt,
                           lastBirthdayBonusYear: lastBirthdayBonusYear, tier: tier, tierSince: tierSince, tierFloor: tierFloor,
                           lotCount: lots.count, accrualCount: accruals.count, qualifyingCount: qualifying.count)
        func keepLots(_ allocations: [LotAllocation]) {
            for a in allocations { if let i = lotIndex[a.lotId] { c.lots.append((i, lots[i])) } }
        }
        func keepPurchase(_ id: String) {
            // (A purchase's events name it more than once; its entry is kept once.)
            if !c.purchases.contains(where: { $0.0 == id }) { c.purchases.append((id, purchases[id])) }
        }
        for i in events.indices where events[i].stream == member {
            switch events[i] {
            case .purchaseRecorded(let p): keepPurchase(p.purchaseId)
            case .pointsEarned(let p): if case let .purchase(id) = p.source { keepPurchase(id) }
            case .purchaseReturned(let r):
                keepPurchase(r.purchaseId)
                keepLots(r.clawedBack)
            case .pointsRedeemed(let r):
                c.redemptions.append((r.redemptionId, redemptions[r.redemptionId]))
                keepLots(r.allocations)
            case .redemptionReversed(let r):
                c.redemptions.append((r.redemptionId, redemptions[r.redemptionId]))
                keepLots(r.restored)
            case .pointsAdjusted(let a):
                c.adjustmentKeys.append((a.key, adjustmentKeys[a.key]))
                keepLots(a.allocations)
            case let .pointsExpired(_, lotId, points): keepLots([LotAllocation(lotId: lotId, points: points)])
            case let .pointsHeld(_, holdId, _, _), let .holdReleased(_, holdId): c.holds.append((holdId, holds[holdId]))
            case .pointsTransferredOut(let t):
                c.transferKeys.append((t.transferId, transferKeys[t.transferId]))
                keepLots(t.allocations)
            case .pointsTransferredIn(let t): c.transferKeys.append((t.transferId, transferKeys[t.transferId]))
            case .memberEnrolled, .profileUpdated, .memberClosed, .tierChanged, .rewardDefined, .programPublished, .cardIssued, .cardBlocked, .tierSet, .targetSet: break
            }
        }
        return c
    }

    /// Puts back what `c` kept (entries in reverse order: a key kept twice ends with its first value).
    mutating func rollBack(to c: Checkpoint) {
        while lots.count > c.lotCount { lotIndex[lots.removeLast().lotId] = nil }
        for (i, lot) in c.lots.reversed() { lots[i] = lot }
        accruals.removeLast(accruals.count - c.accrualCount)
        qualifying.removeLast(qualifying.count - c.qualifyingCount)
        for (k, v) in c.purchases.reversed() { purchases[k] = v }
        for (k, v) in c.redemptions.reversed() { redemptions[k] = v }
        for (k, v) in c.holds.reversed() { holds[k] = v }
        for (k, v) in c.adjustmentKeys.reversed() { adjustmentKeys[k] = v }
        for (k, v) in c.transferKeys.reversed() { transferKeys[k] = v }
        (enrolledAt, closed, brand, store, channel, birthDate, gender, profile) =
            (c.enrolledAt, c.closed, c.brand, c.store, c.channel, c.birthDate, c.gender, c.profile)
        figures = c.figures
        (purchaseCount, totalSpend, firstPurchaseAt, lastPurchaseAt, lastActivityAt, lastBirthdayBonusYear) =
            (c.purchaseCount, c.totalSpend, c.firstPurchaseAt, c.lastPurchaseAt, c.lastActivityAt, c.lastBirthdayBonusYear)
        (tier, tierSince, tierFloor) = (c.tier, c.tierSince, c.tierFloor)
    }
}

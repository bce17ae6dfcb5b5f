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
    /// Adjustment key -> member: an adjustment key names one adjustment in the whole program.
    public var adjustmentOwners: [String: String] = [:]
    public var rewards: [String: Reward] = [:]
    /// Card number -> card (`Cards.swift`); issue key -> card number.
    public var cards: [String: Card] = [:]
    public var cardKeys: [String: String] = [:]
    /// Tier-set key -> the member and the tier it set (`TierSet.swift`).
    public var tierSets: [String: TierSetEntry] = [:]
    /// Published rule sets with the time they take effect, in publication order.
    public var publishedRules: [(effectiveAt: Timestamp, rules: ProgramRules)] = []
    public var eventCount = 0
    /// Sum of the magnitudes of every point count the applied events carry; never above
    /// `FoldLimits.movedTotalMaxPoints`.
    public internal(set) var pointsMoved: Points = 0
    /// Sum of every amount of money the applied events carry; never above
    /// `FoldLimits.recordedTotalMaxMinorUnits`.
    public internal(set) var moneyRecorded: MinorUnits = 0

    public init() {}

    /// The rules in force at `t`: the latest published rule set effective at or before `t`.
    public func rules(at t: Timestamp) -> ProgramRules {
        var best: (at: Timestamp, rules: ProgramRules)?
        for (at, rules) in publishedRules where at <= t {
            if let b = best, at < b.at { continue }
            best = (at, rules)
        }
        return best?.rules ?? .default
    }

    public func member(_ id: String) -> MemberState? { members[id] }

    public func balance(_ id: String, at t: Timestamp) -> Balance? { members[id].map { Balance($0, at: t) } }

    /// Applies one event that happened at `at` (the log's occurredAt). Atomic: an event that
    /// contradicts the state, or would take a total past `FoldLimits`, throws and changes nothing.
    public mutating func apply(_ event: DomainEvent, at: Timestamp) throws(FoldError) {
        guard at.microseconds.magnitude <= UInt64(FoldLimits.timeMagnitudeMaxMicroseconds) else {
            throw FoldError(.timeOutOfRange, "\(event.type) of member '\(event.stream)' happened at \(at.microseconds) µs from 1970, "
                            + "past the fold's limit of ±\(FoldLimits.timeMagnitudeMaxMicroseconds)")
        }
        let (moved, recorded) = try Self.magnitudes(of: event)
        let (movedAfter, movedOverflow) = pointsMoved.addingReportingOverflow(moved)
        guard !movedOverflow, movedAfter <= FoldLimits.movedTotalMaxPoints else {
            throw FoldError(.limitExceeded, "\(event.type) of member '\(event.stream)' carries \(moved) points: the program's total of "
                            + "points moved (\(pointsMoved)) would pass its limit of \(FoldLimits.movedTotalMaxPoints)")
        }
        let (recordedAfter, recordedOverflow) = moneyRecorded.addingReportingOverflow(recorded)
        guard !recordedOverflow, recordedAfter <= FoldLimits.recordedTotalMaxMinorUnits else {
            throw FoldError(.limitExceeded, "\(event.type) of member '\(event.stream)' carries \(recorded) minor units: the program's "
                            + "total of money recorded (\(moneyRecorded)) would pass its limit of \(FoldLimits.recordedTotalMaxMinorUnits)")
        }
        switch event {
        case .programPublished(let rules):
            publishedRules.append((at, rules))
        case .rewardDefined(let d):
            rewards[d.rewardId, default: Reward(definition: d)].definition = d
        case .targetSet:
            break  // read by the reports' projection only
        default:
            try applyMemberEvent(event, at: at)
        }
        eventCount += 1
        pointsMoved = movedAfter
        moneyRecorded = recordedAfter
    }

    /// Applies the events of one command: all of them, or (throwing) none. For more than one
    /// event, what they may change is kept first and put back if one fails: a checkpoint of each
    /// member they touch, and the entries of the model's tables under their keys (never a whole
    /// collection: holding one would make the next change copy it).
    public mutating func apply(contentsOf events: [DomainEvent], at: Timestamp) throws(FoldError) {
        guard events.count > 1 else {
            if let only = events.first { try apply(only, at: at) }
            return
        }
        var saved = Undo()
        // (By index, here and below: `for e in events` would copy each event.)
        for i in events.indices { saved.keep(events[i], of: &self, command: events) }
        let counts = (publishedRules.count, eventCount, pointsMoved, moneyRecorded)
        do throws(FoldError) {
            for i in events.indices { try apply(events[i], at: at) }
        } catch {
            saved.restore(into: &self)
            publishedRules.removeLast(publishedRules.count - counts.0)
            (eventCount, pointsMoved, moneyRecorded) = (counts.1, counts.2, counts.3)
            throw error
        }
    }

    /// What the events of one command may change, as it was before them (`apply(contentsOf:)`).
    private struct Undo {
        /// Each member the events touch: its checkpoint, or nil when the model did not have it.
        var members: [(String, MemberState.Checkpoint?)] = []
        var purchaseOwners: [(String, String?)] = []
        var redemptionOwners: [(String, String?)] = []
        var holdOwners: [(String, String?)] = []
        var returns: [(String, (purchaseId: String, amount: MinorUnits)?)] = []
        var adjustmentOwners: [(String, String?)] = []
        var cards: [(String, Card?)] = []
        var cardKeys: [(String, String?)] = []
        var tierSets: [(String, TierSetEntry?)] = []
        /// The rewards catalogue (small), when an event may change it.
        var rewards: [String: Reward]?

        /// (`model` is inout only to read a member's state in place: `keep` changes nothing.)
        mutating func keep(_ e: DomainEvent, of model: inout LedgerModel, command events: [DomainEvent]) {
            switch e {
            case .programPublished, .targetSet: return
            case .rewardDefined: if rewards == nil { rewards = model.rewards }; return
            case .purchaseRecorded(let p): purchaseOwners.append((p.purchaseId, model.purchaseOwners[p.purchaseId]))
            case .pointsRedeemed(let r):
                redemptionOwners.append((r.redemptionId, model.redemptionOwners[r.redemptionId]))
                if rewards == nil { rewards = model.rewards }
            case .redemptionReversed: if rewards == nil { rewards = model.rewards }
            case let .pointsHeld(_, holdId, _, _): holdOwners.append((holdId, model.holdOwners[holdId]))
            case .purchaseReturned(let r): returns.append((r.returnId, model.returns[r.returnId]))
            case .pointsAdjusted(let a): adjustmentOwners.append((a.key, model.adjustmentOwners[a.key]))
            case .cardIssued(let c):
                for n in [c.number] + (c.replaces.map { [$0] } ?? []) { cards.append((n, model.cards[n])) }
                if let key = c.key { cardKeys.append((key, model.cardKeys[key])) }
            case let .cardBlocked(_, number, _): cards.append((number, model.cards[number]))
            case .tierSet(let t): tierSets.append((t.key, model.tierSets[t.key]))
            default: break
            }
            if !members.contains(where: { $0.0 == e.stream }) {
                // (In place, through the dictionary's mutable view: reading `members[id]` would
                // copy the member's state first.)
                var checkpoint: MemberState.Checkpoint?
                if let i = model.members.index(forKey: e.stream) { checkpoint = Self.checkpoint(of: &model.members.values[i], for: events) }
                members.append((e.stream, checkpoint))
            }
        }

        private static func checkpoint(of state: inout MemberState, for events: [DomainEvent]) -> MemberState.Checkpoint {
            state.checkpoint(for: events)
        }

        /// Puts back what was kept (in reverse order: a key kept twice ends with its first value).
        func restore(into model: inout LedgerModel) {
            for (id, checkpoint) in members {
                if let checkpoint { model.members[id]?.rollBack(to: checkpoint) } else { model.members[id] = nil }
            }
            for (k, v) in purchaseOwners.reversed() { model.purchaseOwners[k] = v }
            for (k, v) in redemptionOwners.reversed() { model.redemptionOwners[k] = v }
            for (k, v) in holdOwners.reversed() { model.holdOwners[k] = v }
            for (k, v) in returns.reversed() { model.returns[k] = v }
            for (k, v) in adjustmentOwners.reversed() { model.adjustmentOwners[k] = v }
            for (k, v) in cards.reversed() { model.cards[k] = v }
            for (k, v) in cardKeys.reversed() { model.cardKeys[k] = v }
            for (k, v) in tierSets.reversed() { model.tierSets[k] = v }
            if let rewards { model.rewards = rewards }
        }
    }

    /// The magnitudes of the points and of the money `event` carries (each count checked not
    /// negative where it cannot be, each sum checked).
    static func magnitudes(of event: DomainEvent) throws(FoldError) -> (points: Points, money: MinorUnits) {
        var points: Points = 0, money: MinorUnits = 0
        // (Built only for a message: an apply that succeeds never formats it.)
        func what() -> String { "\(event.type) of member '\(event.stream)'" }
        func count(_ n: Points, _ field: String) throws(FoldError) {
            guard n >= 0 else { throw FoldError(.negativeValue, "\(what()): \(field) is \(n), below zero") }
            points = try points.adding(n, field: "\(what()): points carried")
        }
        func amount(_ n: MinorUnits, _ field: String) throws(FoldError) {
            guard n >= 0 else { throw FoldError(.negativeValue, "\(what()): \(field) is \(n), below zero") }
            money = try money.adding(n, field: "\(what()): money carried")
        }
        func allocations(_ list: [LotAllocation], _ field: String) throws(FoldError) {
            for a in list { try count(a.points, "\(field) of lot '\(a.lotId)'") }
        }
        switch event {
        case .memberEnrolled, .profileUpdated, .memberClosed, .holdReleased, .tierChanged, .programPublished, .cardIssued, .cardBlocked, .tierSet, .targetSet:
            break
        case .rewardDefined(let d):
            try count(d.cost, "cost")
            if let budget = d.budget { try count(budget, "budget") }
        case .purchaseRecorded(let e):
            try amount(e.amount, "amount")
            try amount(e.paidWithPoints, "paidWithPoints")
            for line in e.lines { try amount(line.amount, "line amount") }
        case .pointsEarned(let e):
            try count(e.points, "points")
            try count(e.debtPaid, "debtPaid")
            if let n = e.capCounted { try count(n, "capCounted") }
            if let n = e.birthdayBonus { try count(n, "birthdayBonus") }
        case .purchaseReturned(let e):
            try amount(e.amount, "amount")
            try allocations(e.clawedBack, "clawedBack")
            try count(e.debt, "debt")
            try count(e.forgiven, "forgiven")
        case .pointsRedeemed(let e):
            try count(e.points, "points")
            try allocations(e.allocations, "allocation")
        case .redemptionReversed(let e):
            try allocations(e.restored, "restored")
            try allocations(e.expired, "expired")
            try count(e.debtPaid, "debtPaid")
        case .pointsAdjusted(let e):
            guard e.points != .min else { throw FoldError(.overflow, "\(what()): points \(e.points) has no magnitude in Int64") }
            try count(abs(e.points), "points")
            try allocations(e.allocations, "allocation")
        case let .pointsExpired(_, _, n):
            try count(n, "points")
        case let .pointsHeld(_, _, n, _):
            try count(n, "points")
        case .pointsTransferredOut(let e), .pointsTransferredIn(let e):
            try count(e.points, "points")
            try allocations(e.allocations, "allocation")
        }
        return (points, money)
    }

    private mutating func applyMemberEvent(_ event: DomainEvent, at: Timestamp) throws(FoldError) {
        let id = event.stream
        // The state is swapped out of the dictionary (one lookup, no copy, no rehash) so that
        // its collections are uniquely referenced and mutate in place while `self`'s other
        // tables change too. `applyToMember` never touches `members`, so `i` stays valid.
        guard let i = members.index(forKey: id) else {
            var state = MemberState(member: id)
            try applyToMember(event, at: at, state: &state)
            members[id] = state
            return
        }
        var state = MemberState(member: "")  // a placeholder: empty collections allocate nothing
        swap(&state, &members.values[i])
        do throws(FoldError) {
            try applyToMember(event, at: at, state: &state)
        } catch {
            swap(&state, &members.values[i])  // unchanged: each handler checks before it changes anything
            throw error
        }
        swap(&state, &members.values[i])
        assert(members.keys[i] == id && members.values[i].member == id)
    }

    /// Applies a member event to `s`. Each case checks everything first and changes nothing when
    /// it throws.
    private mutating func applyToMember(_ event: DomainEvent, at: Timestamp, state s: inout MemberState) throws(FoldError) {
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
            try applyPurchase(e, at: at, state: &s)
        case .pointsEarned(let e):
            try applyEarned(e, at: at, state: &s)
        case .purchaseReturned(let e):
            try applyReturn(e, state: &s)
        case .pointsRedeemed(let e):
            try applyRedeemed(e, state: &s)
        case .redemptionReversed(let e):
            try applyReversal(e, state: &s)
        case .pointsAdjusted(let e):
            try applyAdjustment(e, at: at, state: &s)
        case let .pointsExpired(_, lotId, points):
            let expired = try s.expired.adding(points, field: "member '\(s.member)': expired")
            try s.take([LotAllocation(lotId: lotId, points: points)])
            if let i = s.lotIndex[lotId] { s.lots[i].expiryWritten = true }
            s.expired = expired
        case let .pointsHeld(_, holdId, points, expiresAt):
            s.holds[holdId] = .init(points: points, expiresAt: expiresAt)
            holdOwners[holdId] = s.member
        case let .holdReleased(_, holdId):
            s.holds[holdId] = nil
        case .pointsTransferredOut(let e):
            try Self.expectSum(e.allocations, equal: e.points, "member '\(s.member)': transfer '\(e.transferId)' out")
            let out = try s.transferredOut.adding(e.points, field: "member '\(s.member)': transferredOut")
            try s.take(e.allocations)
            s.transferredOut = out
            s.transferKeys[e.transferId] = e.points
        case .pointsTransferredIn(let e):
            try applyTransferIn(e, at: at, state: &s)
        case .tierChanged(let e):
            s.tier = e.to
            s.tierSince = at
            if let until = e.floorUntil, let to = e.to { s.tierFloor = (to, until) }
        case .cardIssued(let e):
            try applyCardIssued(e)
        case let .cardBlocked(m, number, _):
            try applyCardBlocked(member: m, number: number)
        case .tierSet(let e):
            try applyTierSet(e, at: at, state: &s)
        case .rewardDefined, .programPublished, .targetSet:
            throw FoldError(.notAMemberEvent, "\(event.type) is a program event, not an event of member '\(s.member)'")
        }
        s.lastActivityAt = max(s.lastActivityAt ?? at, at)
    }

    /// Throws unless the allocations add up to `points`.
    static func expectSum(_ allocations: [LotAllocation], equal points: Points, _ what: @autoclosure () -> String) throws(FoldError) {
        var sum: Points = 0
        for a in allocations { sum = try sum.adding(a.points, field: "\(what()): allocations") }
        guard sum == points else { throw FoldError(.inconsistent, "\(what()): allocations add up to \(sum), the event says \(points)") }
    }

    private mutating func applyPurchase(_ e: DomainEvent.PurchaseRecorded, at: Timestamp, state s: inout MemberState) throws(FoldError) {
        let member = s.member
        func what() -> String { "member '\(member)': purchase '\(e.purchaseId)'" }
        let rules = self.rules(at: at)
        let qualifyingValue = rules.tierMeasure == .spend ? try e.amount.subtracting(e.paidWithPoints, field: "\(what()): qualifying spend") : 0
        let totalSpend = try s.totalSpend.adding(e.amount, field: "\(what()): total spend")
        s.purchases[e.purchaseId] = .init(purchaseId: e.purchaseId, at: at, store: e.store, amount: e.amount, currency: e.currency,
                                          paidWithPoints: e.paidWithPoints, qualifying: qualifyingValue)
        purchaseOwners[e.purchaseId] = s.member
        s.purchaseCount += 1  // (at most one per event: bounded by the log)
        s.totalSpend = totalSpend
        s.firstPurchaseAt = min(s.firstPurchaseAt ?? at, at)
        s.lastPurchaseAt = max(s.lastPurchaseAt ?? at, at)
        if qualifyingValue != 0 { s.qualifying.append((at, qualifyingValue)) }
    }

    private mutating func applyEarned(_ e: DomainEvent.PointsEarned, at: Timestamp, state s: inout MemberState) throws(FoldError) {
        let member = s.member
        func what() -> String { "member '\(member)': lot '\(e.lotId)'" }
        guard s.figures.allowsDebtPaid(e.debtPaid, by: e.points) else {
            throw FoldError(.debtBelowZero, "\(what()) of \(e.points) points pays \(e.debtPaid) of a debt of \(s.debt)")
        }
        let earned = try s.earned.adding(e.points, field: "\(what()): earned")
        var purchase: Dictionary<String, MemberState.Purchase>.Index?
        if case let .purchase(id) = e.source { purchase = s.purchases.index(forKey: id) }
        let purchasePoints = try purchase.map { i throws(FoldError) in
            try s.purchases.values[i].points.adding(e.points, field: "\(what()): the purchase's points")
        }
        try s.addLot(Lot(lotId: e.lotId, points: e.points, remaining: e.points - e.debtPaid, earnedAt: at,
                         availableAt: e.availableAt, expiresAt: e.expiresAt, source: e.source))
        s.debt -= e.debtPaid  // (checked above: at most the debt)
        s.earned = earned
        // In place (`values[i]`): a copy of the purchase would share its `lotIds`, and the append
        // would then copy that array too.
        if let i = purchase, let purchasePoints {
            s.purchases.values[i].points = purchasePoints
            s.purchases.values[i].lotIds.append(e.lotId)
            let purchasedAt = s.purchases.values[i].at
            s.accruals.append((purchasedAt, e.capCounted ?? e.points))
            if rules(at: purchasedAt).tierMeasure == .qualifyingPoints { s.qualifying.append((purchasedAt, e.points)) }
        }
        if e.birthdayBonus != nil { s.lastBirthdayBonusYear = rules(at: at).timeZone.date(at).year }
    }

    private mutating func applyReturn(_ e: DomainEvent.PurchaseReturned, state s: inout MemberState) throws(FoldError) {
        let member = s.member
        func what() -> String { "member '\(member)': return '\(e.returnId)'" }
        var total = e.debt
        for a in e.clawedBack { total = try total.adding(a.points, field: "\(what()): points clawed back") }
        let debt = try s.debt.adding(e.debt, field: "\(what()): debt")
        let clawedBack = try s.clawedBack.adding(total, field: "\(what()): clawed back")
        var purchase = s.purchases[e.purchaseId]
        var totalSpend = s.totalSpend, reversed: Int64 = 0
        if var p = purchase {
            p.returned = try p.returned.adding(e.amount, field: "\(what()): returned")
            p.clawedBack = try p.clawedBack.adding(try total.adding(e.forgiven, field: "\(what()): forgiven"), field: "\(what()): clawed back")
            // The tier-qualifying amount is reversed in proportion, at the purchase's own time.
            if rules(at: p.at).tierMeasure == .spend {
                let share = Int128(p.amount - p.paidWithPoints) * Int128(e.amount) / Int128(max(p.amount, 1))
                guard let n = Int64(exactly: share) else { throw FoldError(.overflow, "\(what()): the qualifying spend reversed is \(share)") }
                reversed = n
            } else {
                reversed = try total.adding(e.forgiven, field: "\(what()): qualifying points reversed")
            }
            _ = try Int64(0).subtracting(reversed, field: "\(what()): qualifying reversed")
            p.qualifying = try p.qualifying.subtracting(reversed, field: "\(what()): qualifying")
            purchase = p
            totalSpend = try totalSpend.subtracting(e.amount, field: "\(what()): total spend")
        }
        try s.take(e.clawedBack)
        s.debt = debt
        s.clawedBack = clawedBack
        returns[e.returnId] = (e.purchaseId, e.amount)
        guard let p = purchase else { return }
        s.totalSpend = totalSpend
        if reversed != 0 { s.qualifying.append((p.at, 0 - reversed)) }  // (negation checked above)
        s.purchases[e.purchaseId] = p
    }

    private mutating func applyRedeemed(_ e: DomainEvent.PointsRedeemed, state s: inout MemberState) throws(FoldError) {
        let member = s.member
        func what() -> String { "member '\(member)': redemption '\(e.redemptionId)'" }
        try Self.expectSum(e.allocations, equal: e.points, what())
        let redeemed = try s.redeemed.adding(e.points, field: "\(what()): redeemed")
        var reward = e.reward.flatMap { rewards[$0] }
        if var r = reward {
            r.issued = try r.issued.adding(1, field: "\(what()): rewards issued")
            r.pointsSpent = try r.pointsSpent.adding(e.points, field: "\(what()): points spent on the reward")
            reward = r
        }
        try s.take(e.allocations)
        s.redeemed = redeemed
        s.redemptions[e.redemptionId] = .init(points: e.points, reward: e.reward, allocations: e.allocations)
        redemptionOwners[e.redemptionId] = s.member
        if let id = e.reward, let reward { rewards[id] = reward }
    }

    /// Restores the redeemed lots; the restored points pay the member's debt first (`debtPaid`,
    /// taken from the allocations in the order listed: `LifetimeFigures.lotCredits`).
    private mutating func applyReversal(_ e: DomainEvent.RedemptionReversed, state s: inout MemberState) throws(FoldError) {
        let member = s.member
        func what() -> String { "member '\(member)': reversal of redemption '\(e.redemptionId)'" }
        guard let r = s.redemptions[e.redemptionId] else {
            throw FoldError(.unknownRedemption, "\(what()): the member has no such redemption")
        }
        guard !r.reversed else { throw FoldError(.redemptionAlreadyReversed, "\(what()): it was reversed before") }
        var restored: Points = 0, expired: Points = 0
        for a in e.restored { restored = try restored.adding(a.points, field: "\(what()): restored") }
        for a in e.expired { expired = try expired.adding(a.points, field: "\(what()): expired") }
        guard try restored.adding(expired, field: "\(what()): points back") == r.points else {
            throw FoldError(.inconsistent, "\(what()): \(restored) restored and \(expired) expired, the redemption took \(r.points)")
        }
        guard s.figures.allowsDebtPaid(e.debtPaid, by: restored) else {
            throw FoldError(.debtBelowZero, "\(what()): \(restored) points restored pay \(e.debtPaid) of a debt of \(s.debt)")
        }
        let redeemed = try s.redeemed.subtracting(r.points, field: "\(what()): redeemed")
        // Points of lots already past their expiry come back expired: counted, never spendable.
        let expiredTotal = try s.expired.adding(expired, field: "\(what()): expired")
        var reward = r.reward.flatMap { rewards[$0] }
        if var rw = reward {
            rw.pointsSpent = try rw.pointsSpent.subtracting(r.points, field: "\(what()): points spent on the reward")
            rw.issued = try rw.issued.subtracting(1, field: "\(what()): rewards issued")
            reward = rw
        }
        try s.restore(LifetimeFigures.lotCredits(e.restored, debtPaid: e.debtPaid))
        s.debt -= e.debtPaid  // (checked above: at most the debt)
        s.redeemed = redeemed
        s.expired = expiredTotal
        s.redemptions[e.redemptionId]?.reversed = true
        if let id = r.reward, let reward { rewards[id] = reward }
    }

    private mutating func applyAdjustment(_ e: DomainEvent.PointsAdjusted, at: Timestamp, state s: inout MemberState) throws(FoldError) {
        let member = s.member
        func what() -> String { "member '\(member)': adjustment '\(e.key)'" }
        let adjusted = try s.adjusted.adding(e.points, field: "\(what()): adjusted")
        if e.points > 0 {
            guard let lotId = e.lotId else { throw FoldError(.inconsistent, "\(what()): a credit of \(e.points) points without a lot") }
            let paid = s.debtPaid(by: e.points)
            try s.addLot(Lot(lotId: lotId, points: e.points, remaining: e.points - paid, earnedAt: at, availableAt: at,
                             expiresAt: e.expiresAt, source: .adjustment(e.key)))
            _ = s.payDebt(from: e.points)
        } else {
            try Self.expectSum(e.allocations, equal: -e.points, what())
            try s.take(e.allocations)
        }
        s.adjusted = adjusted
        s.adjustmentKeys[e.key] = e.points
        adjustmentOwners[e.key] = s.member
    }

    /// New lots keeping each sent lot's expiry; the points pay the member's debt first.
    private mutating func applyTransferIn(_ e: DomainEvent.PointsTransfer, at: Timestamp, state s: inout MemberState) throws(FoldError) {
        let member = s.member
        func what() -> String { "member '\(member)': transfer '\(e.transferId)' in" }
        try Self.expectSum(e.allocations, equal: e.points, what())
        guard e.allocations.count == e.expiries.count else {
            throw FoldError(.inconsistent, "\(what()): \(e.allocations.count) allocations but \(e.expiries.count) expiries")
        }
        let transferredIn = try s.transferredIn.adding(e.points, field: "\(what()): transferredIn")
        let ids = e.allocations.indices.map { "T:\(e.transferId):\($0)" }
        for id in ids where s.lot(id) != nil { throw FoldError(.duplicateLot, "member '\(s.member)' already has lot '\(id)'") }
        let paid = s.debtPaid(by: e.points)
        let credits = LifetimeFigures.lotCredits(e.allocations, debtPaid: paid)
        for (i, (a, expiry)) in zip(e.allocations, e.expiries).enumerated() {
            // (Cannot throw: the ids are new and distinct, the credits within 0...points.)
            try s.addLot(Lot(lotId: ids[i], points: a.points, remaining: credits[i].points, earnedAt: at,
                             availableAt: at, expiresAt: expiry, source: .transfer(e.transferId)))
        }
        _ = s.payDebt(from: e.points)
        s.transferredIn = transferredIn
        s.transferKeys[e.transferId] = e.points
    }
}

extension DomainEvent {
    /// Rules and rewards: events of the program, not of a member.
    var isProgramEvent: Bool {
        switch self {
        case .programPublished, .rewardDefined, .targetSet: return true
        default: return false
        }
    }
}

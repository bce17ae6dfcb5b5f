/// What a command comes to: events to append, or a retry of a command already carried out.
public enum Decision: Hashable, Sendable {
    case append([DomainEvent])
    /// The command's key was used before for this same command: nothing to write; the original
    /// outcome stands.
    case replay(key: String)
}

extension LedgerModel {
    /// Decides `command` against the current state, before the time rules
    /// (`decide(_:clock:)`, in LedgerModel+TimeRules.swift, is the entry point).
    func decideCommand(_ command: Command) throws -> Decision {
        switch command {
        case let .publishProgram(rules, at): return try decidePublish(rules, at: at)
        case let .enroll(m, store, brand, channel, birthDate, gender, profile, _):
            if let existing = members[m], existing.isEnrolled {
                guard existing.store == store, existing.brand == brand else { throw DomainError.idempotencyConflict(key: "enroll:\(m)") }
                return .replay(key: "enroll:\(m)")
            }
            try checkId(m, field: "member")
            guard !m.hasPrefix("$") else { throw DomainError.invalid(field: "member", value: m, reason: "must not start with $ (reserved)") }
            if let b = birthDate, Timestamp(rfc3339: b) == nil || b.count != 10 {
                throw DomainError.invalid(field: "birthDate", value: b, reason: "is not a date (YYYY-MM-DD)")
            }
            return .append([.memberEnrolled(.init(member: m, brand: brand, store: store, channel: channel, birthDate: birthDate,
                                                  gender: gender, profile: profile))])
        case let .updateProfile(m, changes, _):
            _ = try activeMember(m)
            return .append([.profileUpdated(member: m, changes: changes)])
        case let .closeMember(m, reason, _):
            _ = try activeMember(m)
            return .append([.memberClosed(member: m, reason: reason)])
        case .purchase(let p): return try decidePurchase(p)
        case let .returnPurchase(purchaseId, returnId, amount, at):
            return try decideReturn(purchaseId: purchaseId, returnId: returnId, amountText: amount, at: at)
        case let .redeem(m, points, id, reward, at): return try decideRedeem(m, points: points, id: id, reward: reward, at: at)
        case let .reverseRedemption(id, at): return try decideReversal(id, at: at)
        case let .adjust(m, points, reason, op, key, at): return try decideAdjust(m, points: points, reason: reason, op: op, key: key, at: at)
        case let .transfer(from, to, points, key, at): return try decideTransfer(from: from, to: to, points: points, key: key, at: at)
        case let .hold(m, points, id, expiresAt, at):
            if let owner = holdOwners[id] {
                guard owner == m, members[m]?.holds[id]?.points == points else { throw DomainError.idempotencyConflict(key: "hold:\(id)") }
                return .replay(key: "hold:\(id)")
            }
            let s = try activeMember(m)
            try positive(points, "points")
            guard expiresAt > at else { throw DomainError.invalid(field: "expiresAt", value: expiresAt.rfc3339, reason: "must be after the hold's time") }
            let spendable = s.spendable(at: at)
            guard spendable >= points else { throw DomainError.insufficientPoints(member: m, requested: points, spendable: spendable) }
            return .append([.pointsHeld(member: m, holdId: id, points: points, expiresAt: expiresAt)])
        case let .release(id, _):
            guard let m = holdOwners[id] else { throw DomainError.unknownHold(id) }
            guard members[m]?.holds[id] != nil else { return .replay(key: "release:\(id)") }
            return .append([.holdReleased(member: m, holdId: id)])
        case let .defineReward(id, name, cost, stock, budget, _):
            try checkId(id, field: "rewardId")
            try positive(cost, "cost")
            if let stock, stock < 0 { throw DomainError.invalid(field: "stock", value: "\(stock)", reason: "must not be negative") }
            if let budget, budget < 0 { throw DomainError.invalid(field: "budget", value: "\(budget)", reason: "must not be negative") }
            return .append([.rewardDefined(.init(rewardId: id, name: name, cost: cost, stock: stock, budget: budget))])
        case .expire(let asOf): return .append(decideExpiry(asOf: asOf))
        case .evaluateTiers(let asOf): return .append(decideTiers(asOf: asOf))
        case let .issueCard(m, number, key, _): return try decideIssueCard(member: m, number: number, key: key)
        case let .blockCard(number, reason, _): return try decideBlockCard(number: number, reason: reason)
        case let .replaceCard(old, new, _): return try decideReplaceCard(old: old, new: new)
        case .setTier(let c): return try decideSetTier(c)
        case .setTarget(let t, _): return .append([.targetSet(t)])
        }
    }

    func activeMember(_ m: String) throws(DomainError) -> MemberState {
        guard let s = members[m], s.isEnrolled else { throw .unknownMember(m) }
        guard !s.closed else { throw .memberClosed(m) }
        return s
    }

    func positive(_ n: Int64, _ field: String) throws(DomainError) {
        guard n > 0 else { throw .invalid(field: field, value: "\(n)", reason: "must be a positive whole number") }
    }

    /// Ids (members, purchases, redemptions, keys, rewards) are 1 to `DomainLimits.idBytesMax`
    /// bytes of printable ASCII: the log compares them as bytes, and ASCII has one form only.
    func checkId(_ id: String, field: String) throws(DomainError) { try Check.id(id, field) }

    func money(_ text: String, field: String, rules: ProgramRules) throws(DomainError) -> MinorUnits {
        guard let v = Decimal10.minorUnits(text, exponent: rules.minorUnitExponent) else {
            throw .invalid(field: field, value: DomainLimits.shown(text),
                           reason: "is not a non-negative amount with at most \(rules.minorUnitExponent) decimals")
        }
        guard v <= DomainLimits.moneyMinorUnitsMax else {
            throw .invalid(field: field, value: text, reason: "exceeds the largest amount, \(DomainLimits.moneyMinorUnitsMax) minor units")
        }
        return v
    }

    private func decidePublish(_ rules: ProgramRules, at: Timestamp) throws -> Decision {
        if let same = publishedRules.first(where: { $0.rules.version == rules.version }) {
            guard same.rules == rules else { throw DomainError.idempotencyConflict(key: "program:v\(rules.version)") }
            return .replay(key: "program:v\(rules.version)")
        }
        let latest = publishedRules.map(\.rules.version).max() ?? 0
        if rules.version < latest {
            throw DomainError.invalid(field: "version", value: "\(rules.version)", reason: "must be above the latest published version \(latest)")
        }
        guard rules.version - latest <= DomainLimits.ruleVersionStepMax else {
            throw DomainError.invalid(field: "version", value: "\(rules.version)",
                                      reason: "may be at most \(DomainLimits.ruleVersionStepMax) above the latest published version \(latest)")
        }
        return .append([.programPublished(rules)])
    }

    private func decidePurchase(_ c: Command.Purchase) throws -> Decision {
        let rules = self.rules(at: c.at)
        let amount = try money(c.amount, field: "amount", rules: rules)
        let paid = try c.paidWithPoints.map { try money($0, field: "paidWithPoints", rules: rules) } ?? 0
        let lines = try c.lines.enumerated().map { i, l in
            DomainEvent.PurchaseRecorded.Line(category: l.category, amount: try money(l.amount, field: "lines[\(i)].amount", rules: rules))
        }
        let currency = c.currency ?? rules.currency
        let event = DomainEvent.PurchaseRecorded(member: c.member, purchaseId: c.purchaseId, store: c.store, amount: amount,
                                                 currency: currency, lines: lines, paidWithPoints: paid)
        if let owner = purchaseOwners[c.purchaseId] {
            let p = members[owner]?.purchases[c.purchaseId]
            guard owner == c.member, p?.amount == amount, p?.store == c.store, p?.at == c.at else {
                throw DomainError.idempotencyConflict(key: "purchase:\(c.purchaseId)")
            }
            return .replay(key: "purchase:\(c.purchaseId)")
        }
        try checkId(c.purchaseId, field: "purchaseId")
        let s = try activeMember(c.member)
        guard currency == rules.currency else { throw DomainError.invalid(field: "currency", value: currency, reason: "the program runs in \(rules.currency)") }
        guard paid <= amount else { throw DomainError.invalid(field: "paidWithPoints", value: c.paidWithPoints ?? "", reason: "exceeds the amount") }
        guard lines.reduce(0, { $0 + $1.amount }) <= amount else {
            throw DomainError.invalid(field: "lines", value: "\(lines.count) lines", reason: "add up to more than the amount")
        }
        var events: [DomainEvent] = [.purchaseRecorded(event)]
        let accrual = try Accrual.compute(event, at: c.at, member: s, rules: rules)
        if accrual.points > 0 {
            let availableAt = DomainLimits.adding(days: rules.pendingDays, to: c.at)
            events.append(.pointsEarned(.init(member: c.member, lotId: "P:" + c.purchaseId, points: accrual.points,
                                              source: .purchase(c.purchaseId), ruleVersion: rules.version,
                                              rule: accrual.explanation, availableAt: availableAt,
                                              expiresAt: Accrual.expiry(availableAt: availableAt, rules: rules),
                                              debtPaid: s.debtPaid(by: accrual.points),
                                              capCounted: accrual.counted == accrual.points ? nil : accrual.counted,
                                              birthdayBonus: accrual.birthday)))
        }
        if let upgrade = tierUpgrade(s, adding: rules.tierMeasure == .spend ? amount - paid : accrual.points, at: c.at, rules: rules) {
            events.append(.tierChanged(upgrade))
        }
        return .append(events)
    }

    private func decideReturn(purchaseId: String, returnId: String, amountText: String?, at: Timestamp) throws -> Decision {
        if let earlier = returns[returnId] {
            guard earlier.purchaseId == purchaseId else { throw DomainError.idempotencyConflict(key: "return:\(returnId)") }
            return .replay(key: "return:\(returnId)")
        }
        try checkId(returnId, field: "returnId")
        guard let m = purchaseOwners[purchaseId], let s = members[m], let p = s.purchases[purchaseId] else {
            throw DomainError.unknownPurchase(purchaseId)
        }
        let rules = self.rules(at: p.at)
        let returnable = p.amount - p.returned
        let amount = try amountText.map { try money($0, field: "amount", rules: rules) } ?? returnable
        guard amount > 0 else { throw DomainError.invalid(field: "amount", value: amountText ?? "0", reason: "nothing to return") }
        guard amount <= returnable else { throw DomainError.overReturn(purchase: purchaseId, requested: amount, returnable: returnable) }
        // Cumulative proportion, so partial returns add up exactly to a full one.
        let clawTotal = Points(Int128(p.points) * Int128(p.returned + amount) / Int128(p.amount))
        var need = clawTotal - p.clawedBack
        var taken: [LotAllocation] = []
        let own = s.lots.filter { p.lotIds.contains($0.lotId) && !$0.isExpired(at: at) && $0.remaining > 0 }
        let ownCandidates = rules.returnPolicy == .onlyPending ? own.filter { $0.isPending(at: at) } : own
        for lot in ownCandidates.sorted(by: Lot.consumptionOrder) where need > 0 {
            let n = min(need, lot.remaining)
            taken.append(LotAllocation(lotId: lot.lotId, points: n))
            need -= n
        }
        var debt: Points = 0, forgiven: Points = 0
        if need > 0 && rules.returnPolicy != .onlyPending {
            var after = s
            try after.take(taken)
            let others = after.lots.filter { !p.lotIds.contains($0.lotId) && !$0.isExpired(at: at) && $0.remaining > 0 }
            for lot in others.sorted(by: Lot.consumptionOrder) where need > 0 {
                let n = min(need, lot.remaining)
                taken.append(LotAllocation(lotId: lot.lotId, points: n))
                need -= n
            }
        }
        if rules.returnPolicy == .unlimited { debt = need } else { forgiven = need }
        return .append([.purchaseReturned(.init(member: m, purchaseId: purchaseId, returnId: returnId, amount: amount,
                                                clawedBack: taken, debt: debt, forgiven: forgiven))])
    }

    private func decideRedeem(_ m: String, points: Points?, id: String, reward: String?, at: Timestamp) throws -> Decision {
        if let owner = redemptionOwners[id] {
            let r = members[owner]?.redemptions[id]
            guard owner == m, points == nil || r?.points == points, r?.reward == reward else {
                throw DomainError.idempotencyConflict(key: "redeem:\(id)")
            }
            return .replay(key: "redeem:\(id)")
        }
        try checkId(id, field: "redemptionId")
        let s = try activeMember(m)
        var cost = points
        if let reward {
            guard let rw = rewards[reward] else { throw DomainError.unknownReward(reward) }
            if let points, points != rw.definition.cost {
                throw DomainError.invalid(field: "points", value: "\(points)", reason: "reward '\(reward)' costs \(rw.definition.cost)")
            }
            cost = rw.definition.cost
            if let stock = rw.definition.stock, rw.issued >= stock { throw DomainError.rewardOutOfStock(reward) }
            if let budget = rw.definition.budget, rw.pointsSpent > budget - rw.definition.cost {  // (no sum to overflow)
                throw DomainError.rewardOverBudget(reward: reward, budgetLeft: budget - rw.pointsSpent, cost: rw.definition.cost)
            }
        }
        guard let cost else { throw DomainError.invalid(field: "points", value: "", reason: "is required without a reward") }
        try positive(cost, "points")
        let spendable = s.spendable(at: at)
        guard cost <= spendable, let allocations = s.allocate(cost, at: at) else {
            throw DomainError.insufficientPoints(member: m, requested: cost, spendable: spendable)
        }
        return .append([.pointsRedeemed(.init(member: m, redemptionId: id, points: cost, reward: reward, allocations: allocations))])
    }

    private func decideReversal(_ id: String, at: Timestamp) throws -> Decision {
        guard let m = redemptionOwners[id], let s = members[m], let r = s.redemptions[id] else { throw DomainError.unknownRedemption(id) }
        if r.reversed { return .replay(key: "reverse:\(id)") }
        var restored: [LotAllocation] = [], expired: [LotAllocation] = []
        var restoredPoints: Points = 0
        for a in r.allocations {
            if s.lot(a.lotId)?.isExpired(at: at) == true {
                expired.append(a)
            } else {
                restored.append(a)
                restoredPoints = try add(restoredPoints, a.points, "points restored by reversal '\(id)'")
            }
        }
        // A credit pays the member's debt first, restored points too.
        return .append([.redemptionReversed(.init(member: m, redemptionId: id, restored: restored, expired: expired,
                                                  debtPaid: s.debtPaid(by: restoredPoints)))])
    }

    private func decideAdjust(_ m: String, points: Points, reason: String, op: String, key: String, at: Timestamp) throws -> Decision {
        if let s = members[m], let earlier = s.adjustmentKeys[key] {
            guard earlier == points else { throw DomainError.idempotencyConflict(key: "adjust:\(key)") }
            return .replay(key: "adjust:\(key)")
        }
        if let owner = adjustmentOwners[key], owner != m {
            throw DomainError.idempotencyConflict(key: "adjust:\(key)")
        }
        let s = try activeMember(m)
        guard points != 0 else { throw DomainError.invalid(field: "points", value: "0", reason: "an adjustment must change the balance") }
        try Check.range(points, -DomainLimits.pointsMax...DomainLimits.pointsMax, "points")  // (so `-points` below cannot overflow)
        guard !reason.isEmpty else { throw DomainError.invalid(field: "reason", value: "", reason: "is required") }
        let rules = self.rules(at: at)
        if points > 0 {
            return .append([.pointsAdjusted(.init(member: m, key: key, points: points, reason: reason, operatorId: op,
                                                  lotId: "A:\(key)", expiresAt: Accrual.expiry(availableAt: at, rules: rules)))])
        }
        let spendable = s.spendable(at: at)
        guard -points <= spendable, let allocations = s.allocate(-points, at: at) else {
            throw DomainError.insufficientPoints(member: m, requested: -points, spendable: spendable)
        }
        return .append([.pointsAdjusted(.init(member: m, key: key, points: points, reason: reason, operatorId: op, allocations: allocations))])
    }

    private func decideTransfer(from: String, to: String, points: Points, key: String, at: Timestamp) throws -> Decision {
        if let earlier = members[from]?.transferKeys[key] {
            guard earlier == points, members[to]?.transferKeys[key] == points else { throw DomainError.idempotencyConflict(key: "transfer:\(key)") }
            return .replay(key: "transfer:\(key)")
        }
        guard from != to else { throw DomainError.sameMember(from) }
        let s = try activeMember(from)
        _ = try activeMember(to)
        try positive(points, "points")
        let spendable = s.spendable(at: at)
        guard points <= spendable, let allocations = s.allocate(points, at: at) else {
            throw DomainError.insufficientPoints(member: from, requested: points, spendable: spendable)
        }
        let transfer = DomainEvent.PointsTransfer(from: from, to: to, transferId: key, points: points, allocations: allocations,
                                                  expiries: allocations.map { s.lot($0.lotId)?.expiresAt })
        return .append([.pointsTransferredOut(transfer), .pointsTransferredIn(transfer)])
    }

    /// One expiry event per lot whose expiry passed by `t`, for its remainder, exactly once; and
    /// under the idle policy, every lot of members idle too long. `t` is never after the ledger's
    /// clock (`decide(_:clock:)` sees to it): an expiry applies at once, so a lot expired ahead of
    /// its time would be gone before it should be.
    func decideExpiry(asOf t: Timestamp) -> [DomainEvent] {
        var events: [DomainEvent] = []
        let rules = self.rules(at: t)
        for m in members.keys.sorted() {
            let s = members[m]!
            var idle = false
            if case let .idleDays(days) = rules.expiry, let last = s.lastActivityAt {
                idle = last.microseconds + Int64(days) * Timestamp.microsecondsPerDay <= t.microseconds
            }
            for lot in s.lots.sorted(by: Lot.consumptionOrder) where lot.remaining > 0 && (lot.isExpired(at: t) || idle) {
                events.append(.pointsExpired(member: m, lotId: lot.lotId, points: lot.remaining))
            }
        }
        return events
    }
}

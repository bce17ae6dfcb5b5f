/// How many points a purchase earns under a rule set, and why.
struct Accrual {
    var points: Points
    /// Points counted against caps.
    var counted: Points
    var explanation: String
    var birthday: Points?

    /// Per line: `eligible * rate * category * tier * campaigns`, rounded per line by the rule's
    /// rounding; then fixed bonuses (campaign, birthday); then the caps, applied to the result
    /// (`after_multipliers`, default) or to the base points before any multiplier
    /// (`before_multipliers`, stated in the rules). Integers and exact ratios only.
    static func compute(_ p: DomainEvent.PurchaseRecorded, at t: Timestamp, member s: MemberState,
                        rules: ProgramRules) throws(DomainError) -> Accrual {
        guard p.amount > 0 else { return Accrual(points: 0, counted: 0, explanation: "nothing to earn on", birthday: nil) }
        let eligibleTotal = Int128(p.amount - p.paidWithPoints)
        let lines = p.lines.isEmpty ? [DomainEvent.PurchaseRecorded.Line(category: "", amount: p.amount)] : p.lines
        let tier = s.tier.flatMap { rules.tierMultipliers[$0] } ?? .one
        let zone = rules.timeZone
        let campaigns = rules.campaigns.filter { c in
            c.from <= t && t <= c.to && (c.stores.isEmpty || c.stores.contains(p.store))
                && (c.daysOfWeek.isEmpty || c.daysOfWeek.contains(zone.weekday(t)))
        }
        let campaign = campaigns.reduce(Ratio.one) { acc, c in
            guard let m = c.multiplier else { return acc }
            return Ratio(acc.numerator * m.numerator, acc.denominator * m.denominator)
        }
        let unit = Int128(Decimal10.pow10(rules.minorUnitExponent))
        var base: Int128 = 0, multiplied: Int128 = 0
        for line in lines {
            let eligible = Int128(line.amount) * eligibleTotal / Int128(p.amount)
            let category = rules.categoryMultipliers[line.category] ?? .one
            let rate = rules.pointsPerUnit
            base += rounded(eligible * Int128(rate.numerator), Int128(rate.denominator) * unit, rules.rounding)
            let num = eligible * Int128(rate.numerator) * Int128(category.numerator) * Int128(tier.numerator) * Int128(campaign.numerator)
            let den = Int128(rate.denominator) * unit * Int128(category.denominator) * Int128(tier.denominator) * Int128(campaign.denominator)
            multiplied += rounded(num, den, rules.rounding)
        }
        var bonus = Int128(campaigns.reduce(0) { $0 + $1.bonusPoints })
        let birthday = rules.birthdayBonus > 0 && isBirthday(s.birthDate, at: t, zone: zone)
            && s.lastBirthdayBonusYear != zone.date(t).year
        if birthday { bonus += Int128(rules.birthdayBonus) }
        guard multiplied + bonus <= Int128(Int64.max) else { throw .overflow("points of purchase \(p.purchaseId)") }
        let room = capRoom(s, at: t, rules: rules).map { Int128($0) } ?? multiplied + bonus + base
        var points: Int128, counted: Int128
        var why = "v\(rules.version): base \(base)"
        if tier != .one { why += " x tier \(s.tier ?? "") \(tier)" }
        if campaign != .one { why += " x campaigns \(campaigns.map(\.id).joined(separator: "+")) \(campaign)" }
        if bonus > 0 { why += " + bonus \(bonus)" + (birthday ? " (birthday)" : "") }
        switch rules.capOrder {
        case .afterMultipliers:
            points = min(multiplied + bonus, room)
            counted = points
        case .beforeMultipliers:
            counted = min(base, room)
            points = (base == 0 ? 0 : multiplied * counted / base) + bonus
        }
        if capRoom(s, at: t, rules: rules) != nil { why += ", cap \(rules.capOrder.rawValue) leaves \(room)" }
        why += " = \(points)"
        guard points <= Int128(Int64.max) else { throw .overflow("points of purchase \(p.purchaseId)") }
        return Accrual(points: Points(points), counted: Points(counted), explanation: why,
                       birthday: birthday ? rules.birthdayBonus : nil)
    }

    static func isBirthday(_ birthDate: String?, at t: Timestamp, zone: ProgramTimeZone) -> Bool {
        guard let b = birthDate, b.count == 10, let born = Timestamp(rfc3339: b) else { return false }
        let (_, bm, bd) = ProgramTimeZone("UTC")!.date(born)
        let (_, m, d) = zone.date(t)
        return bm == m && bd == d
    }

    /// Points still allowed by the day, week and month caps at `t` (nil when uncapped).
    static func capRoom(_ s: MemberState, at t: Timestamp, rules: ProgramRules) -> Points? {
        guard rules.capPerDay != nil || rules.capPerWeek != nil || rules.capPerMonth != nil else { return nil }
        let zone = rules.timeZone
        let day = zone.day(t)
        let weekStart = day - Int64(zone.weekday(t))
        let (y, m, _) = zone.date(t)
        let monthStart = CivilDate.toDays(year: y, month: m, day: 1)
        var room = Points.max
        for (cap, from) in [(rules.capPerDay, day), (rules.capPerWeek, weekStart), (rules.capPerMonth, monthStart)] {
            guard let cap else { continue }
            let used = s.accruals.reduce(Points(0)) { acc, a in
                let d = zone.day(a.at)
                return acc + (d >= from && d <= day ? a.points : 0)
            }
            room = min(room, max(0, cap - used))
        }
        return room
    }

    /// When points earned at `availableAt` expire under the rules (nil: they do not, by date).
    static func expiry(availableAt: Timestamp, rules: ProgramRules) -> Timestamp? {
        guard case let .monthsAfterAvailability(months, roundTo) = rules.expiry else { return nil }
        let t = rules.timeZone.adding(months: months, to: availableAt)
        return roundTo == .month ? rules.timeZone.endOfMonth(t) : rules.timeZone.endOfDay(t)
    }
}

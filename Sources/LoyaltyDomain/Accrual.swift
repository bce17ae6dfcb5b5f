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
        let what = "points of purchase \(p.purchaseId)"
        // Every product and sum below is checked: overflow is a refusal, never a trap or a wrap.
        func mul(_ a: Int128, _ b: Int128) throws(DomainError) -> Int128 {
            let (r, o) = a.multipliedReportingOverflow(by: b)
            if o { throw .overflow(what) }
            return r
        }
        func plus(_ a: Int128, _ b: Int128) throws(DomainError) -> Int128 {
            let (r, o) = a.addingReportingOverflow(b)
            if o { throw .overflow(what) }
            return r
        }
        let eligibleTotal = Int128(p.amount) - Int128(p.paidWithPoints)
        let lines = p.lines.isEmpty ? [DomainEvent.PurchaseRecorded.Line(category: "", amount: p.amount)] : p.lines
        let tier = s.tier.flatMap { rules.tierMultipliers[$0] } ?? .one
        let zone = rules.timeZone
        let campaigns = rules.campaigns.filter { c in
            c.from <= t && t <= c.to && (c.stores.isEmpty || c.stores.contains(p.store))
                && (c.daysOfWeek.isEmpty || c.daysOfWeek.contains(zone.weekday(t)))
        }
        var campaignNumerator: Int128 = 1, campaignDenominator: Int128 = 1
        for c in campaigns {
            guard let m = c.multiplier else { continue }
            campaignNumerator = try mul(campaignNumerator, Int128(m.numerator))
            campaignDenominator = try mul(campaignDenominator, Int128(m.denominator))
        }
        let campaignRatio = campaignNumerator == 1 && campaignDenominator == 1 ? nil
            : campaignDenominator == 1 ? "\(campaignNumerator)" : "\(campaignNumerator)/\(campaignDenominator)"
        let unit = Int128(Decimal10.pow10(rules.minorUnitExponent))
        var base: Int128 = 0, multiplied: Int128 = 0
        for line in lines {
            let eligible = try mul(Int128(line.amount), eligibleTotal) / Int128(p.amount)
            let category = rules.categoryMultipliers[line.category] ?? .one
            let rate = rules.pointsPerUnit
            base = try plus(base, rounded(try mul(eligible, Int128(rate.numerator)), try mul(Int128(rate.denominator), unit), rules.rounding))
            let num = try mul(try mul(try mul(try mul(eligible, Int128(rate.numerator)), Int128(category.numerator)),
                                      Int128(tier.numerator)), campaignNumerator)
            let den = try mul(try mul(try mul(try mul(Int128(rate.denominator), unit), Int128(category.denominator)),
                                      Int128(tier.denominator)), campaignDenominator)
            multiplied = try plus(multiplied, rounded(num, den, rules.rounding))
        }
        var bonus: Int128 = 0
        for c in campaigns { bonus = try plus(bonus, Int128(c.bonusPoints)) }
        let birthday = rules.birthdayBonus > 0 && isBirthday(s.birthDate, at: t, zone: zone)
            && s.lastBirthdayBonusYear != zone.date(t).year
        if birthday { bonus = try plus(bonus, Int128(rules.birthdayBonus)) }
        let uncapped = try plus(multiplied, bonus)
        let capped = try capRoom(s, at: t, rules: rules)
        let room: Int128
        if let capped { room = Int128(capped) } else { room = try plus(uncapped, base) }
        var points: Int128, counted: Int128
        var why = "v\(rules.version): base \(base)"
        if tier != .one { why += " x tier \(s.tier ?? "") \(tier)" }
        if let campaignRatio { why += " x campaigns \(campaigns.map(\.id).joined(separator: "+")) \(campaignRatio)" }
        if bonus > 0 { why += " + bonus \(bonus)" + (birthday ? " (birthday)" : "") }
        switch rules.capOrder {
        case .afterMultipliers:
            points = min(uncapped, room)
            counted = points
        case .beforeMultipliers:
            counted = min(base, room)
            points = try plus(base == 0 ? 0 : try mul(multiplied, counted) / base, bonus)
        }
        if capped != nil { why += ", cap \(rules.capOrder.rawValue) leaves \(room)" }
        why += " = \(points)"
        guard points <= Int128(DomainLimits.pointsMax) else {
            throw .invalid(field: "amount", value: Decimal10.format(p.amount, exponent: rules.minorUnitExponent),
                           reason: "would earn \(points) points, more than the \(DomainLimits.pointsMax) one accrual may carry")
        }
        if why.utf8.count > DomainLimits.textBytesMax {  // (a thousand campaigns' ids): keep the start and the result
            why = String(decoding: why.utf8.prefix(DomainLimits.textBytesMax - 64), as: UTF8.self) + " ... = \(points)"
        }
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
    static func capRoom(_ s: MemberState, at t: Timestamp, rules: ProgramRules) throws(DomainError) -> Points? {
        guard rules.capPerDay != nil || rules.capPerWeek != nil || rules.capPerMonth != nil else { return nil }
        let zone = rules.timeZone
        let day = zone.day(t)
        let weekStart = day - Int64(zone.weekday(t))
        let (y, m, _) = zone.date(t)
        let monthStart = CivilDate.toDays(year: y, month: m, day: 1)
        var room = Points.max
        for (cap, from) in [(rules.capPerDay, day), (rules.capPerWeek, weekStart), (rules.capPerMonth, monthStart)] {
            guard let cap else { continue }
            var used: Int128 = 0  // (a member's accruals are each at most `pointsMax`: no Int128 overflow)
            for a in s.accruals {
                let d = zone.day(a.at)
                if d >= from && d <= day { used += Int128(a.points) }
            }
            room = min(room, Points(max(0, Int128(cap) - used)))
        }
        return room
    }

    /// When points earned at `availableAt` expire under the rules (nil: they do not, by date),
    /// clamped to `DomainLimits.timeMax` (a lot that would expire after year 9999 expires at its
    /// last microsecond). Months and times are bounded (`DomainLimits`): no overflow.
    static func expiry(availableAt: Timestamp, rules: ProgramRules) -> Timestamp? {
        guard case let .monthsAfterAvailability(months, roundTo) = rules.expiry else { return nil }
        guard availableAt < DomainLimits.timeMax, (0...DomainLimits.expiryMonthsMax).contains(months) else { return DomainLimits.timeMax }
        let t = rules.timeZone.adding(months: months, to: availableAt)
        guard t < DomainLimits.timeMax else { return DomainLimits.timeMax }
        return DomainLimits.clamped(roundTo == .month ? rules.timeZone.endOfMonth(t) : rules.timeZone.endOfDay(t))
    }
}

extension LedgerModel {
    /// The qualifying window ending at `t`.
    func tierWindow(at t: Timestamp, rules: ProgramRules) -> (from: Timestamp, to: Timestamp) {
        switch rules.tierWindow {
        case .rollingDays(let d):
            let span = Self.days(Int64(d))
            return (Timestamp(microseconds: t.microseconds.boundedSubtracting(span)), t)
        case .calendarYear:
            let (y, _, _) = rules.timeZone.date(t)
            return (rules.timeZone.startOfDay(CivilDate.toDays(year: y, month: 1, day: 1)), t)
        }
    }

    /// `days` in microseconds, saturating (times out of range are refused where they enter).
    static func days(_ days: Int64) -> Int64 {
        let (r, o) = days.multipliedReportingOverflow(by: Timestamp.microsecondsPerDay)
        return o ? (days > 0 ? .max : .min) : r
    }

    /// The highest tier whose threshold `value` reaches (nil: none).
    func tier(for value: Int64, rules: ProgramRules) -> String? {
        rules.tiers.last { value >= $0.threshold }?.name
    }

    func rank(_ tier: String?, rules: ProgramRules) -> Int {
        guard let tier else { return -1 }
        return rules.tiers.firstIndex { $0.name == tier } ?? -1
    }

    /// Upgrade at once when a purchase makes the member qualify for a higher tier.
    func tierUpgrade(_ s: MemberState, adding value: Int64, at t: Timestamp, rules: ProgramRules) -> DomainEvent.TierChanged? {
        guard !rules.tiers.isEmpty else { return nil }
        let window = tierWindow(at: t, rules: rules)
        // Saturating: a purchase past the fold's limits is refused when its events are applied.
        let measure = s.qualifyingValue(from: window.from, to: window.to).boundedAdding(value)
        let qualified = tier(for: measure, rules: rules)
        guard rank(qualified, rules: rules) > rank(s.tier, rules: rules) else { return nil }
        return .init(member: s.member, from: s.tier, to: qualified, reason: "qualified: \(rules.tierMeasure.rawValue) \(measure) in window",
                     qualifyingValue: measure, windowFrom: window.from, windowTo: window.to, floorUntil: nil)
    }

    /// Re-evaluates every member's tier at `t`: upgrades at once; a downgrade only once the
    /// member has held the tier for a whole window plus the grace days, and never below a manual
    /// floor that has not expired.
    func decideTiers(asOf t: Timestamp) -> [DomainEvent] {
        let rules = self.rules(at: t)
        guard !rules.tiers.isEmpty else { return [] }
        var events: [DomainEvent] = []
        for m in members.keys.sorted() {
            guard let s = members[m], s.isEnrolled, !s.closed else { continue }
            let window = tierWindow(at: t, rules: rules)
            let measure = s.qualifyingValue(from: window.from, to: window.to)
            var target = tier(for: measure, rules: rules)
            if let floor = s.tierFloor, floor.until > t, rank(floor.tier, rules: rules) > rank(target, rules: rules) { target = floor.tier }
            let current = rank(s.tier, rules: rules), next = rank(target, rules: rules)
            guard next != current else { continue }
            if next < current {
                let since = s.tierSince ?? t
                let windowMicros: Int64
                switch rules.tierWindow {
                case .rollingDays(let d): windowMicros = Self.days(Int64(d))
                case .calendarYear: windowMicros = Self.days(365)
                }
                let due = since.microseconds.boundedAdding(windowMicros).boundedAdding(Self.days(Int64(rules.tierDowngradeGraceDays)))
                guard t.microseconds >= due else { continue }
            }
            events.append(.tierChanged(.init(member: m, from: s.tier, to: target,
                                             reason: next > current ? "qualified" : "window ended below threshold (after \(rules.tierDowngradeGraceDays) grace days)",
                                             qualifyingValue: measure, windowFrom: window.from, windowTo: window.to, floorUntil: nil)))
        }
        return events
    }
}

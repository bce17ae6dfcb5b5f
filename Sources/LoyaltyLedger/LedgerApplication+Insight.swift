public import LoyaltyDomain
import Projections

/// The operators' reports (schemas/reports.md), answered from the `activity` projection (and the
/// time zones of `figures`, the balances for the warnings' points): call `catchUp` first for an
/// answer as of the head.
extension LedgerApplication {
    /// The projections the reports read.
    public static let insightProjections = [MemberActivities.name, ProgramFigures.name, Balances.name, MemberViews.name]

    /// Every member's activity, the targets and the time zones, as stored.
    public func insightData() throws -> InsightData {
        try refuseIfStopped([MemberActivities.name, ProgramFigures.name], member: nil)
        let projections = try projections()
        var members: [(member: String, activity: MemberActivity)] = []
        var targets: [DomainEvent.TargetSet] = []
        let programKey = ProjectionKey.component(DomainEvent.programStream)
        try projections.store.forEach(MemberActivities.self) { key, value in
            switch value {
            case .member(let a): members.append((key, a))
            case .targets(let t): if key == programKey { targets = t }
            }
        }
        var zones: [ProgramFigures.Zone] = []
        if case .zones(let z)? = try projections.store.value(ProgramFigures.self, key: "zones") { zones = z }
        return InsightData(members: members, targets: targets, zones: zones)
    }

    public func kpis(_ q: InsightQuery, asOf: Timestamp) throws -> KPIReport { try insightData().kpis(q, asOf: asOf) }

    public func cohorts(_ q: InsightQuery, asOf: Timestamp) throws -> CohortReport { try insightData().cohorts(q, asOf: asOf) }

    public func categories(_ q: InsightQuery, asOf: Timestamp) throws -> CategoryReport { try insightData().categories(q, asOf: asOf) }

    /// The early warnings, with each member's available points and points expiring within 30
    /// days at the evaluation time, from the balances projection.
    public func warnings(_ q: InsightQuery, asOf: Timestamp) throws -> WarningReport {
        var report = try insightData().warnings(q, asOf: asOf)
        try refuseIfStopped([Balances.name], member: nil)
        let projections = try projections()
        let horizon = DomainLimits.adding(days: 30, to: report.at)
        for i in report.rows.indices {
            guard let b = try projections.balance(report.rows[i].member, at: report.at) else { continue }
            report.rows[i].available = b.available
            report.rows[i].expiringIn30Days = b.lots.reduce(Int64(0)) { sum, lot in
                guard let x = lot.expiresAt, x <= horizon else { return sum }
                return Self.saturated(sum, lot.remaining)
            }
        }
        return report
    }

    /// The segments: activity as of `asOf`; tier, gender and birth date from the member views
    /// (as they stand now); points expiring within 30 days of `asOf` from the balances.
    public func segments(_ q: InsightQuery, asOf: Timestamp, ageBands: [Int64] = SegmentReport.defaultAgeBands,
                         spendBands: [Int64] = SegmentReport.defaultSpendBands) throws -> SegmentReport {
        let data = try insightData()
        try refuseIfStopped([MemberViews.name, Balances.name], member: nil)
        let projections = try projections()
        var views: [String: MemberView] = [:]
        try projections.store.forEach(MemberViews.self) { key, view in views[key] = view }
        let horizon = DomainLimits.adding(days: 30, to: asOf)
        var people: [SegmentMember] = []
        people.reserveCapacity(data.members.count)
        for (member, activity) in data.members {
            let view = views[member]
            var expiring: Int64 = 0
            if let b = try projections.balance(member, at: asOf) {
                expiring = b.lots.reduce(Int64(0)) { sum, lot in
                    guard let x = lot.expiresAt, x <= horizon else { return sum }
                    return Self.saturated(sum, lot.remaining)
                }
            }
            people.append(SegmentMember(member: member, activity: activity, tier: view?.tier, gender: view?.gender,
                                        birthDate: view?.birthDate, pointsExpiringIn30Days: expiring))
        }
        return data.segments(people, q, asOf: asOf, ageBands: ageBands, spendBands: spendBands)
    }

    /// `a + b`, Int64.max past it (lots the model admitted never get there).
    static func saturated(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : sum
    }
}

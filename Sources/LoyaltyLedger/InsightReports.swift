public import LoyaltyDomain
public import Projections

/// A share `part / whole`, shown as a decimal string with four places ("0.6667"), rounded half
/// up; nil (JSON null) when `whole` is 0. Integers only: no floating point crosses the interface.
public struct Share: Sendable, Equatable {
    public var part: Int64
    public var whole: Int64

    public init(_ part: Int64, of whole: Int64) { (self.part, self.whole) = (part, whole) }

    public var text: String? {
        guard whole > 0, part >= 0 else { return nil }
        let scaled = (Int128(part) * 20_000 + Int128(whole)) / (Int128(whole) * 2)  // round(part / whole * 10^4), half up
        let units = String(scaled / 10_000), fraction = String(scaled % 10_000)
        return units + "." + String(repeating: "0", count: 4 - fraction.count) + fraction
    }
}

/// What the operators' reports read: every member's activity, the targets, the time zones.
public struct InsightData: Sendable {
    public var members: [(member: String, activity: MemberActivity)]
    public var targets: [DomainEvent.TargetSet]
    public var zones: [ProgramFigures.Zone]

    public init(members: [(member: String, activity: MemberActivity)], targets: [DomainEvent.TargetSet], zones: [ProgramFigures.Zone]) {
        (self.members, self.targets, self.zones) = (members, targets, zones)
    }

    /// The local day of `t` in the zone in force at `t`.
    public func day(_ t: Timestamp) -> Int64 {
        ProgramFigures.localDay(t, offsetSeconds: ProgramFigures.offset(at: t, zones))
    }

    /// The first instant of local day `d` (in the zone in force at that day's UTC midnight).
    public func start(ofDay d: Int64) -> Timestamp {
        let utc = Int128(d) * Int128(Timestamp.microsecondsPerDay)
        let guess = Timestamp(microseconds: Int64(clamping: utc))
        let offset = Int128(ProgramFigures.offset(at: guess, zones)) * 1_000_000
        return Timestamp(microseconds: Int64(clamping: utc - offset))
    }

    public func period(_ kind: ReportPeriod.Kind, of t: Timestamp) -> ReportPeriod { ReportPeriod(kind, containing: day(t)) }
}

/// How `kpis` groups members.
public enum InsightGrouping: String, Sendable, CaseIterable { case store, brand }

/// What the operators' reports select (schemas/reports.md, "Common options").
public struct InsightQuery: Sendable {
    public var period: ReportPeriod.Kind = .month
    public var by: InsightGrouping = .store
    /// Only members enrolled at this store (enrollments, conversion, cohorts, warnings), or
    /// purchases made at it (activity, repurchase, spend).
    public var store: String?
    /// Only members of this brand.
    public var brand: String?
    /// Only periods from `from` through `to` (either may be nil).
    public var from: ReportPeriod?
    public var to: ReportPeriod?
    /// Conversion and quick repurchase window in days.
    public var withinDays: Int64 = 30
    public var thresholds = LifecycleThresholds()
    /// Warnings: the period (default: the one holding the as-of time).
    public var warningPeriod: ReportPeriod?

    public init() {}

    func admits(_ p: ReportPeriod) -> Bool {
        if let from, p.endDay <= from.firstDay { return false }
        if let to, p.firstDay >= to.endDay { return false }
        return true
    }
}

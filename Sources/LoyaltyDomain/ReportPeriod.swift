/// A reporting period: a local day, an ISO week (Monday to Sunday; the week belongs to the year of
/// its Thursday) or a calendar month, counted in local day numbers (days since 1970-01-01 in the
/// program's time zone, `ProgramTimeZone.day`). Written `YYYY-MM-DD`, `YYYY-Www`, `YYYY-MM`
/// (schemas/reports.md, "Periods").
public struct ReportPeriod: Hashable, Sendable, Comparable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable { case day, week, month }

    public let kind: Kind
    /// The first local day of the period.
    public let firstDay: Int64
    /// The day after the period's last local day.
    public let endDay: Int64

    /// Years written with four digits: 1900 ... 9999 (the command times' range).
    static let years: ClosedRange<Int64> = 1900...9999

    /// The period of kind `kind` containing local day `day`.
    public init(_ kind: Kind, containing day: Int64) {
        self.kind = kind
        switch kind {
        case .day:
            (firstDay, endDay) = (day, day + 1)
        case .week:
            let monday = day - (day + 3).floorDivided(by: 7).remainder
            (firstDay, endDay) = (monday, monday + 7)
        case .month:
            let (y, m, _) = CivilDate.fromDays(day)
            firstDay = CivilDate.toDays(year: y, month: m, day: 1)
            endDay = firstDay + Int64(CivilDate.daysIn(month: m, year: y))
        }
    }

    /// Parses `YYYY-MM-DD`, `YYYY-Www` or `YYYY-MM` (ASCII digits, years 1900 ... 9999); nil otherwise.
    public init?(_ text: String) {
        let b = Array(text.utf8)
        func number(_ r: Range<Int>) -> Int64? {
            guard r.upperBound <= b.count, !r.isEmpty else { return nil }
            var n: Int64 = 0
            for i in r {
                guard b[i] >= 48, b[i] <= 57 else { return nil }
                n = n * 10 + Int64(b[i] - 48)
            }
            return n
        }
        guard b.count >= 7, b[4] == UInt8(ascii: "-"), let year = number(0..<4), Self.years.contains(year) else { return nil }
        if b.count == 8, b[5] == UInt8(ascii: "W") {
            guard let w = number(6..<8), w >= 1, w <= Self.weeks(in: year) else { return nil }
            self.init(.week, containing: Self.mondayOfWeekOne(year) + (w - 1) * 7)
        } else if b.count == 7, let m = number(5..<7), (1...12).contains(m) {
            self.init(.month, containing: CivilDate.toDays(year: year, month: Int(m), day: 1))
        } else if b.count == 10, b[7] == UInt8(ascii: "-"), let m = number(5..<7), (1...12).contains(m), let d = number(8..<10),
                  d >= 1, d <= Int64(CivilDate.daysIn(month: Int(m), year: year)) {
            self.init(.day, containing: CivilDate.toDays(year: year, month: Int(m), day: Int(d)))
        } else {
            return nil
        }
    }

    /// The Monday of ISO week 1 of `year` (the week holding 4 January).
    static func mondayOfWeekOne(_ year: Int64) -> Int64 {
        let jan4 = CivilDate.toDays(year: year, month: 1, day: 4)
        return jan4 - (jan4 + 3).floorDivided(by: 7).remainder
    }

    static func weeks(in year: Int64) -> Int64 { (mondayOfWeekOne(year + 1) - mondayOfWeekOne(year)) / 7 }

    public var description: String {
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        func four(_ n: Int64) -> String { String(repeating: "0", count: max(0, 4 - String(n).count)) + String(n) }
        switch kind {
        case .day:
            let (y, m, d) = CivilDate.fromDays(firstDay)
            return "\(four(y))-\(two(Int64(m)))-\(two(Int64(d)))"
        case .week:
            let (y, _, _) = CivilDate.fromDays(firstDay + 3)  // the Thursday names the year
            return "\(four(y))-W\(two((firstDay - Self.mondayOfWeekOne(y)) / 7 + 1))"
        case .month:
            let (y, m, _) = CivilDate.fromDays(firstDay)
            return "\(four(y))-\(two(Int64(m)))"
        }
    }

    /// The period of the same kind that follows.
    public var next: ReportPeriod { ReportPeriod(kind, containing: endDay) }

    public func contains(day: Int64) -> Bool { day >= firstDay && day < endDay }

    public static func < (a: ReportPeriod, b: ReportPeriod) -> Bool { (a.firstDay, a.endDay) < (b.firstDay, b.endDay) }
}

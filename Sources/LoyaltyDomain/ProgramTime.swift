/// The program's time zone: UTC or a fixed offset (`+01:00`). Calendar arithmetic (end of day,
/// end of month, days of week, birthdays, caps' day/week/month windows) happens in it.
/// Fixed offsets keep the domain pure and deterministic; IANA names are refused with a message.
public struct ProgramTimeZone: Hashable, Sendable, CustomStringConvertible {
    public let offsetSeconds: Int64

    public init?(_ text: String) {
        if text == "UTC" || text == "Z" || text == "+00:00" { offsetSeconds = 0; return }
        let b = Array(text.utf8)
        guard b.count == 6, b[0] == 43 || b[0] == 45, b[3] == 58,
              let h = Int64(String(text.dropFirst().prefix(2))), let m = Int64(String(text.suffix(2))), h <= 14, m < 60
        else { return nil }
        offsetSeconds = (h * 3600 + m * 60) * (b[0] == 45 ? -1 : 1)
    }

    public var description: String {
        if offsetSeconds == 0 { return "UTC" }
        let a = abs(offsetSeconds)
        let h = a / 3600, m = a % 3600 / 60
        return (offsetSeconds < 0 ? "-" : "+") + (h < 10 ? "0" : "") + "\(h):" + (m < 10 ? "0" : "") + "\(m)"
    }

    var offsetMicros: Int64 { offsetSeconds * 1_000_000 }

    /// Local day number (days since 1970-01-01 in this zone).
    public func day(_ t: Timestamp) -> Int64 {
        (t.microseconds + offsetMicros).floorDivided(by: Timestamp.microsecondsPerDay).quotient
    }

    public func date(_ t: Timestamp) -> (year: Int64, month: Int, day: Int) { CivilDate.fromDays(day(t)) }

    /// 0 = Monday ... 6 = Sunday.
    public func weekday(_ t: Timestamp) -> Int { Int((day(t) + 3).floorDivided(by: 7).remainder) }

    /// The first instant of local day `d`.
    public func startOfDay(_ d: Int64) -> Timestamp {
        Timestamp(microseconds: d * Timestamp.microsecondsPerDay - offsetMicros)
    }

    /// The last microsecond of the local day containing `t`.
    public func endOfDay(_ t: Timestamp) -> Timestamp {
        Timestamp(microseconds: startOfDay(day(t) + 1).microseconds - 1)
    }

    /// The last microsecond of the local month containing `t`.
    public func endOfMonth(_ t: Timestamp) -> Timestamp {
        let (y, m, _) = date(t)
        let next = m == 12 ? CivilDate.toDays(year: y + 1, month: 1, day: 1) : CivilDate.toDays(year: y, month: m + 1, day: 1)
        return Timestamp(microseconds: startOfDay(next).microseconds - 1)
    }

    /// `t` plus `months` calendar months (day clamped to the month's length), same local time.
    public func adding(months: Int, to t: Timestamp) -> Timestamp {
        let local = t.microseconds + offsetMicros
        let (d, timeOfDay) = local.floorDivided(by: Timestamp.microsecondsPerDay)
        let (y, m, day) = CivilDate.fromDays(d)
        let total = Int64(m - 1) + Int64(months)
        let (yearDelta, month0) = total.floorDivided(by: 12)
        let year = y + yearDelta, month = Int(month0) + 1
        let clamped = min(day, CivilDate.daysIn(month: month, year: year))
        return Timestamp(microseconds: CivilDate.toDays(year: year, month: month, day: clamped) * Timestamp.microsecondsPerDay + timeOfDay - offsetMicros)
    }
}

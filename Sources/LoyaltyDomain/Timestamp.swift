#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A point in time as integer microseconds since 1970-01-01T00:00:00Z.
///
/// The ledger never uses floating point, not even for time: `Date` is a `Double`, and
/// round-tripping it through JSON loses microseconds. RFC 3339 text is the only textual form.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var microseconds: Int64

    public init(microseconds: Int64) { self.microseconds = microseconds }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.microseconds < rhs.microseconds }

    public static let microsecondsPerSecond: Int64 = 1_000_000
    public static let microsecondsPerDay: Int64 = 86_400 * 1_000_000

    /// The current wall-clock time.
    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(microseconds: Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1_000)
    }

    public var description: String { rfc3339 }

    /// `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`; the fraction is printed only when it is not zero.
    public var rfc3339: String {
        let (days, micros) = microseconds.floorDivided(by: Timestamp.microsecondsPerDay)
        let (y, m, d) = CivilDate.fromDays(days)
        let seconds = micros / 1_000_000
        let fraction = micros % 1_000_000
        var text = "\(pad(y, 4))-\(pad(Int64(m), 2))-\(pad(Int64(d), 2))T"
        text += "\(pad(seconds / 3600, 2)):\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2))"
        if fraction != 0 { text += "." + pad(fraction, 6) }
        return text + "Z"
    }

    /// Appends `rfc3339` as UTF-8 bytes, without building the String (event encoding is hot).
    public func appendRFC3339(to out: inout [UInt8]) {
        let (days, micros) = microseconds.floorDivided(by: Timestamp.microsecondsPerDay)
        let (y, m, d) = CivilDate.fromDays(days)
        // `pad` prints other years differently ("00-5", "12345"): leave them to the String path.
        guard (0...9999).contains(y) else { out.append(contentsOf: rfc3339.utf8); return }
        func digits(_ value: Int64, _ width: Int) {
            var divisor: Int64 = 1
            for _ in 1..<width { divisor *= 10 }
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
                divisor /= 10
            }
        }
        let seconds = micros / 1_000_000
        let fraction = micros % 1_000_000
        digits(y, 4); out.append(UInt8(ascii: "-")); digits(Int64(m), 2); out.append(UInt8(ascii: "-")); digits(Int64(d), 2)
        out.append(UInt8(ascii: "T"))
        digits(seconds / 3600, 2); out.append(UInt8(ascii: ":")); digits(seconds / 60 % 60, 2); out.append(UInt8(ascii: ":"))
        digits(seconds % 60, 2)
        if fraction != 0 { out.append(UInt8(ascii: ".")); digits(fraction, 6) }
        out.append(UInt8(ascii: "Z"))
    }

    /// Parses RFC 3339 (`2026-11-24T10:15:00Z`, `2026-11-24T10:15:00.5+01:00`) or a bare date
    /// `YYYY-MM-DD` (midnight UTC). Returns nil for anything else, including out-of-range fields.
    public init?(rfc3339 text: String) {
        var text = text
        guard let t = text.withUTF8({ Timestamp(rfc3339UTF8: $0) }) else { return nil }
        self = t
    }

    /// The same parser over UTF-8 bytes (the stored events' decoder reads times in place).
    package init?(rfc3339UTF8 b: UnsafeBufferPointer<UInt8>) {
        func digits(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= b.count else { return nil }
            var v: Int64 = 0
            for i in from..<(from + count) {
                guard b[i] >= 48, b[i] <= 57 else { return nil }
                v = v * 10 + Int64(b[i] - 48)
            }
            return v
        }
        guard let y = digits(0, 4), b.count >= 10, b[4] == 45, let mo = digits(5, 2), b[7] == 45,
              let d = digits(8, 2), (1...12).contains(mo), d >= 1, d <= CivilDate.daysIn(month: Int(mo), year: y)
        else { return nil }
        let days = CivilDate.toDays(year: y, month: Int(mo), day: Int(d))
        if b.count == 10 {
            self.init(microseconds: days * Timestamp.microsecondsPerDay)
            return
        }
        guard b.count >= 20, b[10] == 84 || b[10] == 116 || b[10] == 32,
              let h = digits(11, 2), b[13] == 58, let mi = digits(14, 2), b[16] == 58, let s = digits(17, 2),
              h < 24, mi < 60, s < 61
        else { return nil }
        var i = 19
        var fraction: Int64 = 0
        if i < b.count, b[i] == 46 {
            i += 1
            var n = 0
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                if n < 6 { fraction = fraction * 10 + Int64(b[i] - 48) }
                n += 1
                i += 1
            }
            guard n > 0 else { return nil }
            // Digits past the sixth are dropped. The `if` comes first: `n..<6` traps for n > 6
            // (a `where` clause is checked only after the range is built).
            if n < 6 { for _ in n..<6 { fraction *= 10 } }
        }
        guard i < b.count else { return nil }
        var offsetSeconds: Int64 = 0
        if b[i] == 90 || b[i] == 122 {
            guard i + 1 == b.count else { return nil }
        } else if b[i] == 43 || b[i] == 45 {
            guard i + 6 == b.count, let oh = digits(i + 1, 2), b[i + 3] == 58, let om = digits(i + 4, 2),
                  oh < 24, om < 60 else { return nil }
            offsetSeconds = (oh * 3600 + om * 60) * (b[i] == 45 ? -1 : 1)
        } else {
            return nil
        }
        let secondsOfDay = h * 3600 + mi * 60 + min(s, 59) - offsetSeconds
        self.init(microseconds: days * Timestamp.microsecondsPerDay + secondsOfDay * 1_000_000 + fraction)
    }
}

/// Proleptic Gregorian calendar arithmetic on day numbers (days since 1970-01-01), after
/// Howard Hinnant's `days_from_civil` / `civil_from_days`. Integer-only and total.
public enum CivilDate {
    public static func toDays(year: Int64, month: Int, day: Int) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64((month + 9) % 12)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public static func fromDays(_ days: Int64) -> (year: Int64, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = Int(doy - (153 * mp + 2) / 5 + 1)
        let m = Int(mp < 10 ? mp + 3 : mp - 9)
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    public static func isLeap(_ year: Int64) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    public static func daysIn(month: Int, year: Int64) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

extension Int64 {
    /// Floor division and the non-negative remainder, for times before 1970 too.
    func floorDivided(by divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let q = self / divisor, r = self % divisor
        return r < 0 ? (q - 1, r + divisor) : (q, r)
    }
}

private func pad(_ value: Int64, _ width: Int) -> String {
    let s = String(value)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}

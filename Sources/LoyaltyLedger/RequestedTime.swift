public import LoyaltyDomain

/// A time as a person writes it: an instant (RFC 3339, with its offset) or a calendar date
/// `YYYY-MM-DD`, which means local midnight in the program's time zone
/// (`LedgerApplication.resolve`). The one parser of time arguments for every front end.
public enum RequestedTime: Sendable, Hashable, CustomStringConvertible {
    case instant(Timestamp)
    /// Midnight UTC of the date; `resolve` moves it to the program's local midnight.
    case date(utcMidnight: Timestamp)

    public init?(_ text: String) {
        guard let t = Timestamp(rfc3339: text) else { return nil }
        self = text.utf8.count == 10 ? .date(utcMidnight: t) : .instant(t)
    }

    public var description: String {
        switch self {
        case .instant(let t): return t.rfc3339
        case .date(let t): return String(t.rfc3339.prefix(10))
        }
    }

    /// The instant in `zone`: a date is its local midnight there.
    public func resolved(in zone: ProgramTimeZone) -> Timestamp {
        switch self {
        case .instant(let t): return t
        case .date(let t): return zone.startOfDay(t.microseconds / Timestamp.microsecondsPerDay)
        }
    }
}

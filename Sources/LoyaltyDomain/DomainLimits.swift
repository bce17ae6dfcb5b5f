/// Every bound the domain puts on what it accepts, in one place (schemas/domain.md, "Limits").
///
/// A command outside these bounds is refused with a `DomainError.invalid` naming the field and
/// the value; an event is checked against them once more before it is written
/// (`DomainEvent.validate()`), so nothing the domain writes can be unreadable by a reader or
/// overflow a fold. The bounds leave room: sums of many maximal values still fit in an `Int64`.
public enum DomainLimits {
    /// The earliest time a command may carry (`occurredAt`, `asOf`, a hold's `expiresAt`, a
    /// campaign's bounds, a birth date): 1900-01-01T00:00:00Z.
    public static let commandTimeMin = Timestamp(microseconds: CivilDate.toDays(year: 1900, month: 1, day: 1) * Timestamp.microsecondsPerDay)
    /// The latest time a command or an event may carry: 9999-12-31T23:59:59.999999Z (the last
    /// time RFC 3339's four-digit year can spell). Derived times (a lot's `availableAt` and
    /// `expiresAt`) that would pass it are clamped to it.
    public static let timeMax = Timestamp(microseconds: CivilDate.toDays(year: 10_000, month: 1, day: 1) * Timestamp.microsecondsPerDay - 1)
    /// The earliest time an event may carry: 0001-01-01T00:00:00Z. Below `commandTimeMin` only
    /// for derived window starts (a tier window reaching back from a time near 1900).
    public static let eventTimeMin = Timestamp(microseconds: CivilDate.toDays(year: 1, month: 1, day: 1) * Timestamp.microsecondsPerDay)

    /// The largest number of points one command or event carries (an adjustment either way, a
    /// redemption, transfer, hold, reward cost or budget, a cap, a bonus): 10^12.
    public static let pointsMax: Points = 1_000_000_000_000
    /// The largest amount of money one purchase, line or return carries, in minor units: 10^15.
    public static let moneyMinorUnitsMax: MinorUnits = 1_000_000_000_000_000
    /// The largest reward stock: 10^12.
    public static let stockMax: Int64 = 1_000_000_000_000

    /// Ids (member, store, brand, channel, category, reward, purchase, return, redemption, hold,
    /// keys, operator, lot, campaign, tier): 1 to this many bytes of printable ASCII (0x21...0x7E).
    public static let idBytesMax = 128
    /// Card numbers (any script, NFC): 1 to this many bytes of UTF-8 (`CardNumber`).
    public static let cardNumberBytesMax = 64
    /// Lot ids: a prefix of a few bytes and an id ("P:" + purchase id, "T:" + key + ":" + index).
    public static let lotIdBytesMax = idBytesMax + 16
    /// Free texts (reasons, reward names, gender, profile keys and values, rule explanations):
    /// valid UTF-8 without control characters, at most this many bytes.
    public static let textBytesMax = 1024
    /// Profile entries in one enrollment or profile update.
    public static let profileEntriesMax = 64
    /// Category lines of one purchase.
    public static let purchaseLinesMax = 1_000
    /// Lot allocations in one event (a debit consumes at most this many lots).
    public static let allocationsMax = 1_000_000

    /// Rule set versions: 1 to this.
    public static let ruleVersionMax: Int64 = 1_000_000_000
    /// A new rule set's version is above the latest by at most this much.
    public static let ruleVersionStepMax: Int64 = 1_000
    /// A ratio's numerator and denominator (points per unit, multipliers): 1 to this.
    public static let ratioTermMax: Int64 = 1_000_000
    /// Entries of `tierMultipliers`, `categoryMultipliers`, campaigns, a campaign's stores, tiers.
    public static let ruleEntriesMax = 1_000
    /// `expiry.months`: 1 to this (100 years).
    public static let expiryMonthsMax = 1_200
    /// `expiry.idleDays`, `pendingDays`, `tiers.windowDays`, `tiers.downgradeGraceDays`: at most
    /// this many days (100 years).
    public static let ruleDaysMax = 36_500
    /// Tier thresholds (minor units of spend or points): 0 to this.
    public static let tierThresholdMax: Int64 = 1_000_000_000_000_000

    /// Whether `t` may be carried by a command.
    public static func isCommandTime(_ t: Timestamp) -> Bool { t >= commandTimeMin && t <= timeMax }

    /// `t` clamped to `timeMax` (derived times past the last spellable time).
    public static func clamped(_ t: Timestamp) -> Timestamp { min(t, timeMax) }

    /// `t` plus `days` whole days, clamped to `timeMax`; never overflows.
    public static func adding(days: Int, to t: Timestamp) -> Timestamp {
        let (span, o1) = Int64(days).multipliedReportingOverflow(by: Timestamp.microsecondsPerDay)
        let (sum, o2) = t.microseconds.addingReportingOverflow(span)
        return o1 || o2 ? timeMax : clamped(Timestamp(microseconds: sum))
    }

    /// A value for an error message: at most 64 characters, longer ones cut with "...".
    static func shown(_ value: String) -> String {
        value.utf8.count <= 64 ? value : String(decoding: value.utf8.prefix(61), as: UTF8.self) + "..."
    }
}

/// The checks behind `DomainLimits`, shared by commands, rules and events.
enum Check {
    /// An id: 1 to `idBytesMax` bytes of printable ASCII.
    static func id(_ value: String, _ field: String) throws(DomainError) {
        let bytes = value.utf8
        guard !bytes.isEmpty else { throw .invalid(field: field, value: "", reason: "must not be empty") }
        guard bytes.count <= DomainLimits.idBytesMax else {
            throw .invalid(field: field, value: DomainLimits.shown(value),
                           reason: "is \(bytes.count) bytes long; ids are at most \(DomainLimits.idBytesMax) bytes")
        }
        // (Over the contiguous bytes where the string has them, as native strings do: the
        // generic walk of the UTF-8 view is a tenth of the speed, and ids are checked per event.)
        let printable = bytes.withContiguousStorageIfAvailable { $0.allSatisfy { (0x21...0x7E).contains($0) } }
            ?? bytes.allSatisfy { (0x21...0x7E).contains($0) }
        guard printable else {
            throw .invalid(field: field, value: DomainLimits.shown(value),
                           reason: "must be printable ASCII without spaces or control characters")
        }
    }

    /// A free text: valid UTF-8 (Swift strings are), no control characters, at most `textBytesMax` bytes.
    static func text(_ value: String, _ field: String, allowEmpty: Bool = true) throws(DomainError) {
        guard allowEmpty || !value.isEmpty else { throw .invalid(field: field, value: "", reason: "is required") }
        let count = value.utf8.count
        guard count <= DomainLimits.textBytesMax else {
            throw .invalid(field: field, value: DomainLimits.shown(value),
                           reason: "is \(count) bytes long; texts are at most \(DomainLimits.textBytesMax) bytes")
        }
        // U+FFFD is what a decoder puts where the input was not UTF-8: refused as invalid UTF-8.
        for scalar in value.unicodeScalars {
            if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029 {
                throw .invalid(field: field, value: DomainLimits.shown(value.debugDescription), reason: "must not contain control characters")
            }
            if scalar.value == 0xFFFD {
                throw .invalid(field: field, value: DomainLimits.shown(value), reason: "is not valid UTF-8")
            }
        }
    }

    static func time(_ t: Timestamp, _ field: String) throws(DomainError) {
        guard DomainLimits.isCommandTime(t) else {
            throw .invalid(field: field, value: t.rfc3339,
                           reason: "is outside \(DomainLimits.commandTimeMin.rfc3339) ... \(DomainLimits.timeMax.rfc3339)")
        }
    }

    static func eventTime(_ t: Timestamp, _ field: String) throws(DomainError) {
        guard t >= DomainLimits.eventTimeMin && t <= DomainLimits.timeMax else {
            throw .invalid(field: field, value: t.rfc3339,
                           reason: "is outside \(DomainLimits.eventTimeMin.rfc3339) ... \(DomainLimits.timeMax.rfc3339)")
        }
    }

    /// `lower ... upper`, for integers.
    static func range(_ value: Int64, _ bounds: ClosedRange<Int64>, _ field: String) throws(DomainError) {
        guard bounds.contains(value) else {
            throw .invalid(field: field, value: "\(value)", reason: "must be \(bounds.lowerBound) to \(bounds.upperBound)")
        }
    }

    /// 1 ... `pointsMax`.
    static func points(_ value: Points, _ field: String) throws(DomainError) {
        try range(value, 1...DomainLimits.pointsMax, field)
    }

    /// 0 ... `pointsMax`.
    static func pointsOrZero(_ value: Points, _ field: String) throws(DomainError) {
        try range(value, 0...DomainLimits.pointsMax, field)
    }

    /// 0 ... `moneyMinorUnitsMax`.
    static func money(_ value: MinorUnits, _ field: String) throws(DomainError) {
        try range(value, 0...DomainLimits.moneyMinorUnitsMax, field)
    }

    static func count(_ n: Int, max: Int, _ field: String) throws(DomainError) {
        guard n <= max else { throw .invalid(field: field, value: "\(n) entries", reason: "at most \(max) are allowed") }
    }
}

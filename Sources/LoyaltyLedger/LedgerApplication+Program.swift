import Foundation
import LedgerJSON
import LoyaltyAudit
public import LoyaltyDomain

/// Time zone names as people give them. The domain keeps a fixed offset (`ProgramTimeZone`), so
/// that every fold gives the same days whatever machine runs it; an IANA name (`Asia/Shanghai`)
/// is turned into the offset it has at the time the rules take effect, once, when they are
/// published, and that offset is what the log records.
public enum ZoneName {
    /// `text` (UTC, `+08:00`, or an IANA name) as the offset in force at `at`; `note` says what
    /// was recorded when a name was turned into an offset.
    public static func resolve(_ text: String, at: Timestamp) throws -> (zone: ProgramTimeZone, note: String?) {
        if let fixed = ProgramTimeZone(text) { return (fixed, nil) }
        guard let named = TimeZone(identifier: text) else {
            throw ApplicationError("time zone '\(text)' is neither UTC, a fixed offset like +08:00, nor a known IANA name like Asia/Shanghai")
        }
        let date = Date(timeIntervalSince1970: TimeInterval(at.microseconds / 1_000_000))
        let seconds = Int64(named.secondsFromGMT(for: date))
        let sign = seconds < 0 ? "-" : "+"
        let (h, m) = (abs(seconds) / 3600, abs(seconds) / 60 % 60)
        let text2 = sign + (h < 10 ? "0" : "") + "\(h):" + (m < 10 ? "0" : "") + "\(m)"
        guard let zone = ProgramTimeZone(text2) else { throw ApplicationError("time zone '\(text)': offset \(text2) is out of range") }
        var note = "time zone \(text) recorded as \(zone)"
        if named.nextDaylightSavingTimeTransition(after: date) != nil {
            note += " (its offset at \(at.rfc3339); it changes with daylight saving time, the program keeps one offset)"
        }
        return (zone, note)
    }
}

/// ISO 4217 currencies whose minor unit is not the cent (0 or 3 decimals); every other has 2.
enum CurrencyMinorUnits {
    static let exponents: [String: Int] = [
        "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0, "RWF": 0, "UGX": 0,
        "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
        "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    ]
    static func exponent(_ currency: String) -> Int { exponents[currency] ?? 2 }
}

extension LedgerApplication {
    /// The rules in force at `t`: the decision state's when writable, else folded from the
    /// program stream alone (a read never folds members).
    public func programRules(at t: Timestamp) throws -> ProgramRules {
        if let decisions { return try decisions.rules(at: t) }
        var model = LedgerModel()
        for stored in try log.stream(member: DomainEvent.programStream) {
            guard let event = try AuditEvents.decode(stored) else { continue }
            try model.apply(event, at: Timestamp(microseconds: stored.occurredAt))
        }
        return model.rules(at: t)
    }

    /// `time` as an instant: a date is local midnight in the time zone of the rules in force then.
    public func resolve(_ time: RequestedTime) throws -> Timestamp {
        switch time {
        case .instant(let t): return t
        case .date(let midnight): return time.resolved(in: try programRules(at: midnight).timeZone)
        }
    }

    /// `time` resolved, or now when nil.
    public func resolve(_ time: RequestedTime?) throws -> Timestamp {
        try time.map { try resolve($0) } ?? .now()
    }

    /// Rules from a rules document (schemas/program-rules.schema.json) whose `timeZone` may be an
    /// IANA name (recorded as its offset at `effectiveAt`, see `ZoneName`).
    public static func rules(document bytes: [UInt8], effectiveAt: Timestamp) throws -> (rules: ProgramRules, note: String?) {
        let body = bytes.starts(with: InputText.byteOrderMark) ? Array(bytes.dropFirst(3)) : bytes
        guard case .object(var fields) = try JSONCanonical.parse(utf8: body) else {
            return (try ProgramRules(json: try JSONCanonical.parse(utf8: body)), nil)
        }
        var note: String?
        if let i = fields.firstIndex(where: { $0.key == "timeZone" }), case .string(let zone) = fields[i].value, ProgramTimeZone(zone) == nil {
            let resolved = try ZoneName.resolve(zone, at: effectiveAt)
            fields[i].value = .string(resolved.zone.description)
            note = resolved.note
        }
        return (try ProgramRules(json: .object(fields)), note)
    }

    /// The default program in `currency` and time zone `zone` (either may be nil: the default's),
    /// as version 1, effective from the start of the log's time (every purchase accrues under it).
    public static func defaultRules(currency: String?, zone: String?) throws -> (rules: ProgramRules, note: String?) {
        var rules = ProgramRules.default
        var note: String?
        if let currency {
            guard currency.utf8.count == 3, currency.utf8.allSatisfy({ (65...90).contains($0) }) else {
                throw ApplicationError("currency '\(currency)' is not an ISO 4217 code (three capital letters, like CNY)")
            }
            rules.currency = currency
            rules.minorUnitExponent = CurrencyMinorUnits.exponent(currency)
        }
        if let zone {
            let resolved = try ZoneName.resolve(zone, at: .now())
            rules.timeZone = resolved.zone
            note = resolved.note
        }
        rules.version = 1
        return (rules, note)
    }

    /// When the default program of `loyalty init` takes effect: the start of the log's time.
    public static let defaultRulesEffectiveAt = Timestamp(microseconds: 0)
}

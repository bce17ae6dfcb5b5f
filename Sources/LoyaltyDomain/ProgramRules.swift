public import LedgerJSON

/// A program's rule set, published into the log as `program.published` (versioned). Every accrual
/// uses the rules in force at its purchase's `occurredAt`. Schema: schemas/program-rules.schema.json.
public struct ProgramRules: Hashable, Sendable {
    public enum CapOrder: String, Sendable { case beforeMultipliers = "before_multipliers", afterMultipliers = "after_multipliers" }
    public enum ExpiryPolicy: Hashable, Sendable {
        case never
        /// Lots expire `months` after they become available, at the end of that day or month.
        case monthsAfterAvailability(months: Int, roundTo: RoundTo)
        /// The whole balance lapses after `days` without activity.
        case idleDays(Int)
    }
    public enum RoundTo: String, Sendable { case day = "end_of_day", month = "end_of_month" }
    public enum ReturnPolicy: String, Sendable { case onlyPending = "only_pending", withinBalance = "within_balance", unlimited }
    public enum TierMeasure: String, Sendable { case spend, qualifyingPoints = "qualifying_points" }
    public enum TierWindow: Hashable, Sendable { case rollingDays(Int), calendarYear }

    public struct Campaign: Hashable, Sendable {
        public var id: String
        public var from: Timestamp
        public var to: Timestamp
        public var stores: [String] = []
        /// 0 = Monday ... 6 = Sunday; empty: every day.
        public var daysOfWeek: [Int] = []
        public var multiplier: Ratio?
        public var bonusPoints: Points = 0
    }

    public struct Tier: Hashable, Sendable {
        public var name: String
        /// Qualifying measure needed (minor units of spend, or points).
        public var threshold: Int64
    }

    public var version: Int64 = 1
    public var currency = "EUR"
    public var minorUnitExponent = 2
    public var timeZone = ProgramTimeZone("UTC")!
    /// Points per whole currency unit.
    public var pointsPerUnit = Ratio(1)
    public var rounding = Rounding.down
    public var tierMultipliers: [String: Ratio] = [:]
    public var categoryMultipliers: [String: Ratio] = [:]
    public var campaigns: [Campaign] = []
    public var birthdayBonus: Points = 0
    public var capPerDay: Points?
    public var capPerWeek: Points?
    public var capPerMonth: Points?
    public var capOrder = CapOrder.afterMultipliers
    public var pendingDays = 0
    public var expiry = ExpiryPolicy.monthsAfterAvailability(months: 12, roundTo: .month)
    public var returnPolicy = ReturnPolicy.unlimited
    public var tiers: [Tier] = []
    public var tierMeasure = TierMeasure.spend
    public var tierWindow = TierWindow.rollingDays(365)
    public var tierDowngradeGraceDays = 0
    /// How many days before a member's enrollment a purchase of theirs may still be claimed
    /// (it accrues under the rules in force at the purchase's time); 0: none. The rules in force
    /// at the enrollment decide, so a re-run decides the same.
    public var retroClaimDays = 0
    /// A command whose business time is more than this after the ledger's clock is refused,
    /// unless its caller allows future times explicitly (clock skew between tills is normal,
    /// a date in the wrong year is not).
    public var futureToleranceSeconds = 300
    /// The ranges `retroClaimDays` and `futureToleranceSeconds` are read within.
    public static let retroClaimDaysMax = 3_660
    public static let futureToleranceSecondsMax = 86_400

    /// The program a new ledger runs before any rules are published: 1 point per whole currency
    /// unit (rounded down), available at once, expiring 12 months after earning at the end of that
    /// month, returns `unlimited` (debt), no tiers.
    public static let `default` = ProgramRules()

    public init() {}
}

extension ProgramRules {
    static let fields: Set<String> = [
        "version", "currency", "minorUnitExponent", "timeZone", "earning", "tierMultipliers", "categoryMultipliers",
        "campaigns", "birthdayBonus", "caps", "pendingDays", "expiry", "returnPolicy", "tiers",
        "retroClaimDays", "futureToleranceSeconds",
    ]

    /// Reads a rules document; every error names the field and the value.
    public init(json: JSONValue) throws {
        let r = try JSONObjectReader(json)
        try r.rejectUnknown(Self.fields)
        self.init()
        version = try r.int("version")
        guard version >= 1 else { throw DomainError.invalid(field: "version", value: "\(version)", reason: "must be at least 1") }
        currency = try r.optionalString("currency") ?? currency
        minorUnitExponent = Int(try r.optionalInt("minorUnitExponent") ?? 2)
        guard (0...4).contains(minorUnitExponent) else {
            throw DomainError.invalid(field: "minorUnitExponent", value: "\(minorUnitExponent)", reason: "must be 0 to 4")
        }
        if let tz = try r.optionalString("timeZone") {
            guard let zone = ProgramTimeZone(tz) else {
                throw DomainError.invalid(field: "timeZone", value: tz, reason: "must be UTC or a fixed offset like +01:00")
            }
            timeZone = zone
        }
        if let e = try r.optionalObject("earning") {
            try e.rejectUnknown(["pointsPerUnit", "rounding"])
            pointsPerUnit = try Self.ratio(e, "pointsPerUnit") ?? pointsPerUnit
            if let text = try e.optionalString("rounding") {
                guard let mode = Rounding(rawValue: text) else {
                    throw DomainError.invalid(field: "earning.rounding", value: text, reason: "must be down, half_up or up")
                }
                rounding = mode
            }
        }
        tierMultipliers = try Self.ratios(r, "tierMultipliers")
        categoryMultipliers = try Self.ratios(r, "categoryMultipliers")
        let zone = timeZone
        campaigns = try r.objects("campaigns").map { try Self.campaign($0, zone: zone) }
        birthdayBonus = try r.optionalInt("birthdayBonus") ?? 0
        if let c = try r.optionalObject("caps") {
            try c.rejectUnknown(["perDay", "perWeek", "perMonth", "order"])
            capPerDay = try c.optionalInt("perDay")
            capPerWeek = try c.optionalInt("perWeek")
            capPerMonth = try c.optionalInt("perMonth")
            let order = try c.optionalString("order") ?? CapOrder.afterMultipliers.rawValue
            guard let o = CapOrder(rawValue: order) else {
                throw DomainError.invalid(field: "caps.order", value: order, reason: "must be before_multipliers or after_multipliers")
            }
            capOrder = o
        }
        pendingDays = Int(try r.optionalInt("pendingDays") ?? 0)
        if let x = try r.optionalObject("expiry") { expiry = try Self.expiry(x) }
        if let p = try r.optionalString("returnPolicy") {
            guard let policy = ReturnPolicy(rawValue: p) else {
                throw DomainError.invalid(field: "returnPolicy", value: p, reason: "must be only_pending, within_balance or unlimited")
            }
            returnPolicy = policy
        }
        if let t = try r.optionalObject("tiers") { try readTiers(t) }
        retroClaimDays = try Self.bounded(r, "retroClaimDays", max: Self.retroClaimDaysMax) ?? retroClaimDays
        futureToleranceSeconds = try Self.bounded(r, "futureToleranceSeconds", max: Self.futureToleranceSecondsMax) ?? futureToleranceSeconds
        try validate()
    }

    private mutating func readTiers(_ t: JSONObjectReader) throws {
        try t.rejectUnknown(["measure", "window", "windowDays", "levels", "downgradeGraceDays"])
        let measure = try t.optionalString("measure") ?? "spend"
        guard let m = TierMeasure(rawValue: measure) else {
            throw DomainError.invalid(field: "tiers.measure", value: measure, reason: "must be spend or qualifying_points")
        }
        tierMeasure = m
        switch try t.optionalString("window") ?? "rolling_days" {
        case "rolling_days": tierWindow = .rollingDays(Int(try t.optionalInt("windowDays") ?? 365))
        case "calendar_year": tierWindow = .calendarYear
        case let other: throw DomainError.invalid(field: "tiers.window", value: other, reason: "must be rolling_days or calendar_year")
        }
        tiers = try t.objects("levels").map { Tier(name: try $0.string("name"), threshold: try $0.int("threshold")) }
            .sorted { $0.threshold < $1.threshold }
        tierDowngradeGraceDays = Int(try t.optionalInt("downgradeGraceDays") ?? 0)
    }

    /// Checks every field against `DomainLimits`; the error names the field and the value.
    /// (Also run on rules built in code, by `Command.validate()` and `DomainEvent.validate()`.)
    func validate() throws(DomainError) {
        try Check.range(version, 1...DomainLimits.ruleVersionMax, "version")
        try Command.checkCurrency(currency, "currency")
        try Check.range(Int64(minorUnitExponent), 0...4, "minorUnitExponent")
        try Self.checkRatio(pointsPerUnit, "earning.pointsPerUnit")
        for (field, map) in [("tierMultipliers", tierMultipliers), ("categoryMultipliers", categoryMultipliers)] {
            try Check.count(map.count, max: DomainLimits.ruleEntriesMax, field)
            for (key, ratio) in map.sorted(by: { $0.key < $1.key }) {
                try Check.id(key, "\(field) key")
                try Self.checkRatio(ratio, "\(field).\(key)")
            }
        }
        try Check.count(campaigns.count, max: DomainLimits.ruleEntriesMax, "campaigns")
        for (i, c) in campaigns.enumerated() { try Self.checkCampaign(c, "campaigns[\(i)]") }
        try Check.pointsOrZero(birthdayBonus, "birthdayBonus")
        for (field, cap) in [("caps.perDay", capPerDay), ("caps.perWeek", capPerWeek), ("caps.perMonth", capPerMonth)] {
            if let cap { try Check.pointsOrZero(cap, field) }
        }
        let days = Int64(DomainLimits.ruleDaysMax)
        try Check.range(Int64(pendingDays), 0...days, "pendingDays")
        switch expiry {
        case .never: break
        case .monthsAfterAvailability(let months, _): try Check.range(Int64(months), 1...Int64(DomainLimits.expiryMonthsMax), "expiry.months")
        case .idleDays(let d): try Check.range(Int64(d), 1...days, "expiry.idleDays")
        }
        if case let .rollingDays(d) = tierWindow { try Check.range(Int64(d), 1...days, "tiers.windowDays") }
        try Check.range(Int64(tierDowngradeGraceDays), 0...days, "tiers.downgradeGraceDays")
        try Check.count(tiers.count, max: DomainLimits.ruleEntriesMax, "tiers.levels")
        var names: Set<String> = []
        for (i, tier) in tiers.enumerated() {
            try Check.id(tier.name, "tiers.levels[\(i)].name")
            guard names.insert(tier.name).inserted else {
                throw .invalid(field: "tiers.levels[\(i)].name", value: tier.name, reason: "is used by two levels")
            }
            try Check.range(tier.threshold, 0...DomainLimits.tierThresholdMax, "tiers.levels[\(i)].threshold")
            if i > 0, tiers[i - 1].threshold >= tier.threshold {
                throw .invalid(field: "tiers.levels[\(i)].threshold", value: "\(tier.threshold)",
                               reason: "must be above the threshold of the level below (\(tiers[i - 1].threshold))")
            }
        }
    }

    /// Positive, numerator and denominator 1 ... `ratioTermMax`.
    static func checkRatio(_ r: Ratio, _ field: String) throws(DomainError) {
        let terms = 1...DomainLimits.ratioTermMax
        guard terms.contains(r.numerator), terms.contains(r.denominator) else {
            throw .invalid(field: field, value: r.description,
                           reason: "must be positive, numerator and denominator 1 to \(DomainLimits.ratioTermMax)")
        }
    }

    static func checkCampaign(_ c: Campaign, _ field: String) throws(DomainError) {
        try Check.id(c.id, "\(field).id")
        try Check.time(c.from, "\(field).from")
        try Check.time(c.to, "\(field).to")
        guard c.from < c.to else {
            throw .invalid(field: "\(field).to", value: c.to.rfc3339, reason: "must be after from (\(c.from.rfc3339))")
        }
        try Check.count(c.stores.count, max: DomainLimits.ruleEntriesMax, "\(field).stores")
        for (i, store) in c.stores.enumerated() { try Check.id(store, "\(field).stores[\(i)]") }
        for d in c.daysOfWeek { try Check.range(Int64(d), 0...6, "\(field).daysOfWeek") }
        if let m = c.multiplier { try checkRatio(m, "\(field).multiplier") }
        try Check.pointsOrZero(c.bonusPoints, "\(field).bonusPoints")
    }

    /// An optional whole number in 0...max.
    static func bounded(_ r: JSONObjectReader, _ key: String, max: Int) throws -> Int? {
        guard let n = try r.optionalInt(key) else { return nil }
        guard n >= 0, n <= Int64(max) else { throw DomainError.invalid(field: key, value: "\(n)", reason: "must be 0 to \(max)") }
        return Int(n)
    }

    static func ratio(_ r: JSONObjectReader, _ key: String) throws -> Ratio? {
        if case .integer? = r.value(key) { return Ratio(try r.int(key)) }
        guard let text = try r.optionalString(key) else { return nil }
        guard let ratio = Ratio(text: text) else {
            throw DomainError.invalid(field: r.path.isEmpty ? key : "\(r.path).\(key)", value: text, reason: "is not a ratio like 2, 3/2 or 1.5")
        }
        return ratio
    }

    static func ratios(_ r: JSONObjectReader, _ key: String) throws -> [String: Ratio] {
        guard let o = try r.optionalObject(key) else { return [:] }
        var out: [String: Ratio] = [:]
        for k in o.keys.sorted() { out[k] = try ratio(o, k) }
        return out
    }

    static func campaign(_ c: JSONObjectReader, zone: ProgramTimeZone) throws -> Campaign {
        try c.rejectUnknown(["id", "from", "to", "stores", "daysOfWeek", "multiplier", "bonusPoints"])
        let days = try c.value("daysOfWeek").map { v -> [Int] in
            guard case let .array(items) = v else { throw DomainError.invalid(field: "\(c.path).daysOfWeek", value: "", reason: "must be an array") }
            return try items.map { item in
                guard case let .integer(t) = item, let d = Int(t), (0...6).contains(d) else {
                    throw DomainError.invalid(field: "\(c.path).daysOfWeek", value: "\(item)", reason: "days are 0 (Monday) to 6 (Sunday)")
                }
                return d
            }
        } ?? []
        // A bare date means the whole local day: from its first to its last microsecond.
        var from = try time(c, "from"), to = try time(c, "to")
        func day(_ t: Timestamp) -> Int64 { t.microseconds.floorDivided(by: Timestamp.microsecondsPerDay).quotient }
        if try c.string("from").count == 10 { from = zone.startOfDay(day(from)) }
        if try c.string("to").count == 10 { to = zone.endOfDay(zone.startOfDay(day(to))) }
        return Campaign(id: try c.string("id"), from: from, to: to, stores: try c.strings("stores"),
                        daysOfWeek: days, multiplier: try ratio(c, "multiplier"), bonusPoints: try c.optionalInt("bonusPoints") ?? 0)
    }

    static func expiry(_ x: JSONObjectReader) throws -> ExpiryPolicy {
        try x.rejectUnknown(["policy", "months", "roundTo", "idleDays"])
        switch try x.string("policy") {
        case "never": return .never
        case "months_after_availability":
            let round = try x.optionalString("roundTo") ?? "end_of_month"
            guard let r = RoundTo(rawValue: round) else {
                throw DomainError.invalid(field: "expiry.roundTo", value: round, reason: "must be end_of_day or end_of_month")
            }
            return .monthsAfterAvailability(months: Int(try x.int("months")), roundTo: r)
        case "idle_days": return .idleDays(Int(try x.int("idleDays")))
        case let other: throw DomainError.invalid(field: "expiry.policy", value: other, reason: "must be never, months_after_availability or idle_days")
        }
    }

    static func time(_ r: JSONObjectReader, _ key: String) throws -> Timestamp {
        let text = try r.string(key)
        guard let t = Timestamp(rfc3339: text) else {
            throw DomainError.invalid(field: "\(r.path).\(key)", value: text, reason: "is not an RFC 3339 time or YYYY-MM-DD date")
        }
        return t
    }

    /// The canonical JSON form (what `program.published` carries).
    public var json: JSONValue {
        func ratioJSON(_ r: Ratio) -> JSONValue { r.denominator == 1 ? .int(r.numerator) : .string(r.description) }
        func map(_ m: [String: Ratio]) -> JSONValue { .object(m.map { (key: $0.key, value: ratioJSON($0.value)) }) }
        let expiryJSON: JSONValue
        switch expiry {
        case .never: expiryJSON = .object(["policy": .string("never")])
        case let .monthsAfterAvailability(months, roundTo):
            expiryJSON = .object(["policy": .string("months_after_availability"), "months": .int(months), "roundTo": .string(roundTo.rawValue)])
        case let .idleDays(days): expiryJSON = .object(["policy": .string("idle_days"), "idleDays": .int(days)])
        }
        let windowJSON: (String, Int?) = {
            if case let .rollingDays(d) = tierWindow { return ("rolling_days", d) }
            return ("calendar_year", nil)
        }()
        return .object([
            "version": .int(version), "currency": .string(currency), "minorUnitExponent": .int(minorUnitExponent),
            "timeZone": .string(timeZone.description),
            "earning": .object(["pointsPerUnit": ratioJSON(pointsPerUnit), "rounding": .string(rounding.rawValue)]),
            "tierMultipliers": tierMultipliers.isEmpty ? nil : map(tierMultipliers),
            "categoryMultipliers": categoryMultipliers.isEmpty ? nil : map(categoryMultipliers),
            "campaigns": campaigns.isEmpty ? nil : .array(campaigns.map { c in
                .object(["id": .string(c.id), "from": .string(c.from.rfc3339), "to": .string(c.to.rfc3339),
                         "stores": c.stores.isEmpty ? nil : .array(c.stores.map { .string($0) }),
                         "daysOfWeek": c.daysOfWeek.isEmpty ? nil : .array(c.daysOfWeek.map { .int($0) }),
                         "multiplier": c.multiplier.map(ratioJSON), "bonusPoints": c.bonusPoints == 0 ? nil : .int(c.bonusPoints)])
            }),
            "birthdayBonus": birthdayBonus == 0 ? nil : .int(birthdayBonus),
            "caps": capPerDay == nil && capPerWeek == nil && capPerMonth == nil ? nil : .object([
                "perDay": capPerDay.map { .int($0) }, "perWeek": capPerWeek.map { .int($0) },
                "perMonth": capPerMonth.map { .int($0) }, "order": .string(capOrder.rawValue)]),
            "pendingDays": .int(pendingDays), "expiry": expiryJSON, "returnPolicy": .string(returnPolicy.rawValue),
            "tiers": tiers.isEmpty ? nil : .object([
                "measure": .string(tierMeasure.rawValue), "window": .string(windowJSON.0), "windowDays": windowJSON.1.map { .int($0) },
                "levels": .array(tiers.map { .object(["name": .string($0.name), "threshold": .int($0.threshold)]) }),
                "downgradeGraceDays": .int(tierDowngradeGraceDays)]),
            "retroClaimDays": retroClaimDays == 0 ? nil : .int(retroClaimDays),
            "futureToleranceSeconds": futureToleranceSeconds == 300 ? nil : .int(futureToleranceSeconds),
        ])
    }
}

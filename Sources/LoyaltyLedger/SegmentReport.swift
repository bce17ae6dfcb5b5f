public import LedgerJSON
public import LoyaltyDomain
public import Projections

/// `report segments` (schemas/reports.md, "Segments"): member counts by dimension, and the
/// ready-made segments with their counts and member lists.
public struct SegmentReport: Sendable {
    public var asOf: Timestamp
    /// Each dimension's values with their member counts, values in `SegmentReport.dimensions` order
    /// of their bands (or byte order for stores, brands, tiers, genders).
    public var dimensions: [(name: String, counts: [(value: String, members: Int64)])]
    /// The ready-made segments and their members (ids in byte order).
    public var segments: [(name: String, members: [String])]

    public static let dimensionNames = ["store", "brand", "tier", "gender", "ageBand", "birthdayMonth", "purchaseCountBand", "spendBand",
                                        "recency", "stage"]
    public static let segmentNames = ["birthdaysNextMonth", "dormantWithPointsExpiring", "newWithoutSecondPurchase"]
    /// Default lower bounds of the age bands (years) and spend bands (minor units).
    public static let defaultAgeBands: [Int64] = [18, 25, 35, 45, 55, 65]
    public static let defaultSpendBands: [Int64] = [10_000, 50_000, 100_000, 500_000]
}

/// What a member's profile and points add to its activity for the segments.
public struct SegmentMember: Sendable {
    public var member: String
    public var activity: MemberActivity
    public var tier: String?
    public var gender: String?
    /// `YYYY-MM-DD`.
    public var birthDate: String?
    public var pointsExpiringIn30Days: Int64

    public init(member: String, activity: MemberActivity, tier: String?, gender: String?, birthDate: String?, pointsExpiringIn30Days: Int64) {
        (self.member, self.activity, self.tier, self.gender, self.birthDate) = (member, activity, tier, gender, birthDate)
        self.pointsExpiringIn30Days = pointsExpiringIn30Days
    }
}

extension InsightData {
    /// Label of `value` among bands starting at `bounds` (ascending): "<b0", "b0-(b1-1)", ..., "bn+".
    static func band(_ value: Int64, _ bounds: [Int64]) -> String {
        guard let first = bounds.first, value >= first else { return "<\(bounds.first ?? 0)" }
        for (i, b) in bounds.enumerated().reversed() where value >= b {
            return i == bounds.count - 1 ? "\(b)+" : "\(b)-\(bounds[i + 1] - 1)"
        }
        return "\(first)+"
    }

    static func bandLabels(_ bounds: [Int64]) -> [String] {
        guard let first = bounds.first else { return [] }
        return ["<\(first)"] + bounds.indices.map { i in i == bounds.count - 1 ? "\(bounds[i])+" : "\(bounds[i])-\(bounds[i + 1] - 1)" }
    }

    /// The segments of `people` as of `asOf` (purchases, returns, enrollment with business time
    /// <= asOf; tier, gender and birth date as they stand now).
    public func segments(_ people: [SegmentMember], _ q: InsightQuery, asOf: Timestamp,
                         ageBands: [Int64] = SegmentReport.defaultAgeBands,
                         spendBands: [Int64] = SegmentReport.defaultSpendBands) -> SegmentReport {
        var counts: [String: [String: Int64]] = [:]
        var lists: [String: [String]] = [:]
        let today = CivilDate.fromDays(day(asOf))
        let nextMonth = today.month % 12 + 1
        let recencyBounds: [Int64] = [0, 31, 91, 181, 366]
        let dayMicros = Int128(Timestamp.microsecondsPerDay)
        for p in people {
            let a = p.activity
            guard let enrolled = a.enrolledAt, enrolled <= asOf else { continue }
            if let s = q.store, a.store != s { continue }
            if let b = q.brand, a.brand != b { continue }
            let bought = a.purchases.filter { $0.at <= asOf }
            let spend = bought.reduce(Int128(0)) { $0 + Int128($1.amount) } - a.returns.filter { $0.at <= asOf }.reduce(Int128(0)) { $0 + Int128($1.amount) }
            let stage = a.view(asOf: asOf).stage(at: asOf, q.thresholds)
            var age: String = "unknown", birthday = "unknown"
            if let text = p.birthDate, let born = ReportPeriod(text), born.kind == .day {
                let b = CivilDate.fromDays(born.firstDay)
                var years = today.year - b.year
                if (today.month, today.day) < (b.month, b.day) { years -= 1 }
                age = Self.band(years, ageBands)
                birthday = b.month < 10 ? "0\(b.month)" : "\(b.month)"
                if b.month == nextMonth { lists["birthdaysNextMonth", default: []].append(p.member) }
            }
            let recency: String
            if let last = bought.map(\.at).max() {
                let days = (Int128(asOf.microseconds) - Int128(last.microseconds)) / dayMicros
                recency = Self.band(Int64(clamping: days), recencyBounds)
            } else {
                recency = "none"
            }
            let count = Int64(bought.count)
            let values: [(String, String)] = [
                ("store", a.store), ("brand", a.brand), ("tier", p.tier ?? "none"), ("gender", p.gender ?? "unknown"), ("ageBand", age),
                ("birthdayMonth", birthday), ("purchaseCountBand", count == 0 ? "0" : count == 1 ? "1" : count < 5 ? "2-4" : count < 10 ? "5-9" : "10+"),
                ("spendBand", Self.band(Int64(clamping: spend), spendBands)), ("recency", recency), ("stage", stage),
            ]
            for (dimension, value) in values { counts[dimension, default: [:]][value, default: 0] += 1 }
            if (stage == "defecting" || stage == "inactive") && p.pointsExpiringIn30Days > 0 {
                lists["dormantWithPointsExpiring", default: []].append(p.member)
            }
            if stage == "new" && count == 1 { lists["newWithoutSecondPurchase", default: []].append(p.member) }
        }
        let ordered: [String: [String]] = [
            "ageBand": Self.bandLabels(ageBands) + ["unknown"], "birthdayMonth": (1...12).map { $0 < 10 ? "0\($0)" : "\($0)" } + ["unknown"],
            "purchaseCountBand": ["0", "1", "2-4", "5-9", "10+"], "spendBand": Self.bandLabels(spendBands),
            "recency": ["none"] + Self.bandLabels(recencyBounds).dropFirst(), "stage": ["lead", "new", "active", "defecting", "inactive"],
        ]
        let dimensions = SegmentReport.dimensionNames.map { name -> (name: String, counts: [(value: String, members: Int64)]) in
            let c = counts[name] ?? [:]
            if let order = ordered[name] {
                return (name, order.compactMap { v in c[v].map { (v, $0) } })
            }
            return (name, c.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }.map { ($0.key, $0.value) })
        }
        let segments = SegmentReport.segmentNames.map { name in
            (name: name, members: (lists[name] ?? []).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        }
        return SegmentReport(asOf: asOf, dimensions: dimensions, segments: segments)
    }
}

extension SegmentReport {
    public static let columns = ["dimension", "value", "members"]

    /// Dimension rows, then one row per ready-made segment (dimension "segment").
    public var cells: [[String]] {
        dimensions.flatMap { d in d.counts.map { [d.name, $0.value, String($0.members)] } }
            + segments.map { ["segment", $0.name, String($0.members.count)] }
    }

    /// schemas/reports/segments.schema.json.
    public var json: JSONValue {
        .object([
            "report": .string("segments"), "asOf": .string(asOf.rfc3339),
            "dimensions": .array(dimensions.map { d in
                .object(["dimension": .string(d.name),
                         "counts": .array(d.counts.map { .object(["value": .string($0.value), "members": .int($0.members)]) })])
            }),
            "segments": .array(segments.map { .object(["name": .string($0.name), "members": .int($0.members.count)]) }),
        ])
    }

    /// One segment's member list (`report segments --list NAME`), nil for an unknown name.
    public func list(_ name: String) -> JSONValue? {
        guard let s = segments.first(where: { $0.name == name }) else { return nil }
        return .object(["report": .string("segments"), "asOf": .string(asOf.rfc3339), "segment": .string(name),
                        "members": .array(s.members.map { .string($0) })])
    }
}

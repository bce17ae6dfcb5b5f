public import LedgerJSON
public import LoyaltyDomain
import Projections

/// One row of `report categories`: a period, a purchase store and a purchase-line category.
public struct CategoryRow: Sendable, Equatable {
    public var period: ReportPeriod
    public var store: String
    /// A line's category, or `CategoryReport.noCategory` for what of a purchase no line covers.
    public var category: String
    /// Purchases with a line of the category (or with an uncovered part).
    public var purchases: Int64 = 0
    /// Line amounts, minor units.
    public var spend: Int128 = 0
    /// The purchases' points apportioned to their lines (schemas/reports.md, "Categories").
    public var points: Int128 = 0
}

public struct CategoryReport: Sendable {
    public var asOf: Timestamp
    public var period: ReportPeriod.Kind
    public var rows: [CategoryRow]
    public static let noCategory = "(none)"
}

extension InsightData {
    /// `report categories` as of `asOf`: purchases with business time <= asOf, by the period of
    /// their time, their store and their lines' categories.
    public func categories(_ q: InsightQuery, asOf: Timestamp) -> CategoryReport {
        struct Cell: Hashable { var period: ReportPeriod; var store: String; var category: String }
        var rows: [Cell: CategoryRow] = [:]
        for (_, a) in members {
            if let b = q.brand, a.brand != b { continue }
            for p in a.purchases where p.at <= asOf {
                let store = a.store(of: p)
                if let s = q.store, store != s { continue }
                let period = period(q.period, of: p.at)
                guard q.admits(period) else { continue }
                // Each line gets floor(points x line / amount); the rest (and the amount no line
                // covers) goes to "(none)", so the rows add up to the purchase exactly.
                var parts: [(String, Int128, Int128)] = []
                var coveredAmount: Int128 = 0, givenPoints: Int128 = 0
                for line in p.lines {
                    let share = p.amount > 0 ? Int128(p.points) * Int128(line.amount) / Int128(p.amount) : 0
                    parts.append((line.category, Int128(line.amount), share))
                    coveredAmount += Int128(line.amount)
                    givenPoints += share
                }
                let restAmount = Int128(p.amount) - coveredAmount, restPoints = Int128(p.points) - givenPoints
                if restAmount != 0 || restPoints != 0 || p.lines.isEmpty { parts.append((CategoryReport.noCategory, restAmount, restPoints)) }
                var seen = Set<String>()
                for (category, amount, points) in parts {
                    let c = Cell(period: period, store: store, category: category)
                    var r = rows[c] ?? CategoryRow(period: period, store: store, category: category)
                    if seen.insert(category).inserted { r.purchases += 1 }
                    r.spend += amount
                    r.points += points
                    rows[c] = r
                }
            }
        }
        let sorted = rows.values.sorted { a, b in
            if a.period != b.period { return a.period < b.period }
            if a.store != b.store { return a.store.utf8.lexicographicallyPrecedes(b.store.utf8) }
            return a.category.utf8.lexicographicallyPrecedes(b.category.utf8)
        }
        return CategoryReport(asOf: asOf, period: q.period, rows: sorted)
    }
}

extension CategoryReport {
    public static let columns = ["period", "store", "category", "purchases", "spend", "points"]

    public var cells: [[String]] {
        rows.map { [$0.period.description, $0.store, $0.category, String($0.purchases), String($0.spend), String($0.points)] }
    }

    /// schemas/reports/categories.schema.json.
    public var json: JSONValue {
        .object([
            "report": .string("categories"), "asOf": .string(asOf.rfc3339), "period": .string(period.rawValue),
            "rows": .array(rows.map { r in
                .object(["period": .string(r.period.description), "store": .string(r.store), "category": .string(r.category),
                         "purchases": .int(r.purchases), "spend": .integer(String(r.spend)), "points": .integer(String(r.points))])
            }),
        ])
    }
}

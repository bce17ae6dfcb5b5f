public import LedgerJSON
public import LoyaltyDomain
import Projections

/// One row of `report kpis`: a period and a store (or brand). Definitions: schemas/reports.md.
public struct KPIRow: Sendable, Equatable {
    public var period: ReportPeriod
    /// The store or brand.
    public var key: String
    public var enrollments: Int64 = 0
    /// The enrollment target of the store for exactly this period (nil: none; never by brand).
    public var enrollmentTarget: Int64?
    /// Of `enrollments`, members whose first purchase came within the window of enrolling.
    public var converted: Int64 = 0
    /// Members with a purchase in the period (at the store).
    public var active: Int64 = 0
    /// Of `active`, members with two or more purchases in the period (at the store).
    public var repeatBuyers: Int64 = 0
    /// Of `active`, members whose second purchase came within the window of their first.
    public var quickRepeatBuyers: Int64 = 0
    public var purchases: Int64 = 0
    /// Gross purchase amount, minor units.
    public var spend: Int128 = 0

    public var targetReached: Share? { enrollmentTarget.map { Share(enrollments, of: $0) } }
    public var conversion: Share { Share(converted, of: enrollments) }
    public var repurchaseRate: Share { Share(repeatBuyers, of: active) }
    public var quickRepurchaseRate: Share { Share(quickRepeatBuyers, of: active) }
    /// Spend per active member (floor), nil without any.
    public var averageSpend: Int128? { active > 0 ? spend / Int128(active) : nil }
    /// Spend per purchase (floor), nil without any.
    public var averageBasket: Int128? { purchases > 0 ? spend / Int128(purchases) : nil }
}

public struct KPIReport: Sendable {
    public var asOf: Timestamp
    public var query: InsightQuery
    /// By period, then store or brand (byte order).
    public var rows: [KPIRow]
}

extension InsightData {
    /// `report kpis` as of `asOf`: events with business time <= asOf only.
    public func kpis(_ q: InsightQuery, asOf: Timestamp) -> KPIReport {
        struct Cell: Hashable { var period: ReportPeriod; var key: String }
        var rows: [Cell: KPIRow] = [:]
        func row(_ c: Cell) -> KPIRow { rows[c] ?? KPIRow(period: c.period, key: c.key) }
        let window = Int128(q.withinDays) * Int128(Timestamp.microsecondsPerDay)
        for (_, a) in members {
            if let brand = q.brand, a.brand != brand { continue }
            let bought = a.purchases.filter { $0.at <= asOf }
            let first = bought.map(\.at).min()
            // The member's second purchase (by time) within the window of the first.
            let times = bought.map(\.at).sorted()
            let quick = times.count >= 2 && Int128(times[1].microseconds) - Int128(times[0].microseconds) <= window
            if let enrolled = a.enrolledAt, enrolled <= asOf, q.store == nil || a.store == q.store {
                let c = Cell(period: period(q.period, of: enrolled), key: q.by == .store ? a.store : a.brand)
                if q.admits(c.period) {
                    var r = row(c)
                    r.enrollments += 1
                    if let first, Int128(first.microseconds) - Int128(enrolled.microseconds) <= window { r.converted += 1 }
                    rows[c] = r
                }
            }
            var counts: [Cell: Int64] = [:]
            for p in bought {
                let store = a.store(of: p)
                if let s = q.store, store != s { continue }
                let c = Cell(period: period(q.period, of: p.at), key: q.by == .store ? store : a.brand)
                guard q.admits(c.period) else { continue }
                counts[c, default: 0] += 1
                var r = row(c)
                r.purchases += 1
                r.spend += Int128(p.amount)
                rows[c] = r
            }
            for (c, n) in counts {
                var r = row(c)
                r.active += 1
                if n >= 2 { r.repeatBuyers += 1 }
                if quick { r.quickRepeatBuyers += 1 }
                rows[c] = r
            }
        }
        if q.by == .store {
            for t in targets where t.metric == "enrollments" {
                guard let p = ReportPeriod(t.period), p.kind == q.period, q.admits(p), q.store == nil || q.store == t.store else { continue }
                // A target of a period that has not begun by the as-of time is shown too: that is planning.
                let c = Cell(period: p, key: t.store)
                var r = row(c)
                r.enrollmentTarget = t.value
                rows[c] = r
            }
        }
        let sorted = rows.values.sorted { a, b in
            a.period != b.period ? a.period < b.period : a.key.utf8.lexicographicallyPrecedes(b.key.utf8)
        }
        return KPIReport(asOf: asOf, query: q, rows: sorted)
    }
}

extension KPIReport {
    /// The columns of the CSV and table forms, in order (the JSON field names).
    public var columns: [String] {
        ["period", query.by.rawValue, "enrollments", "enrollmentTarget", "targetReached", "converted", "conversion", "active",
         "repeatBuyers", "repurchaseRate", "quickRepurchaseRate", "purchases", "spend", "averageSpend", "averageBasket"]
    }

    /// Each row's values as text in `columns` order ("" for null).
    public var cells: [[String]] {
        rows.map { r in
            [r.period.description, r.key, String(r.enrollments), r.enrollmentTarget.map(String.init) ?? "", r.targetReached?.text ?? "",
             String(r.converted), r.conversion.text ?? "", String(r.active), String(r.repeatBuyers), r.repurchaseRate.text ?? "",
             r.quickRepurchaseRate.text ?? "", String(r.purchases), String(r.spend), r.averageSpend.map { String($0) } ?? "",
             r.averageBasket.map { String($0) } ?? ""]
        }
    }

    /// schemas/reports/kpis.schema.json.
    public var json: JSONValue {
        func share(_ s: Share?) -> JSONValue { s?.text.map { .string($0) } ?? .null }
        func wide(_ v: Int128?) -> JSONValue { v.map { .integer(String($0)) } ?? .null }
        return .object([
            "report": .string("kpis"), "asOf": .string(asOf.rfc3339), "period": .string(query.period.rawValue),
            "by": .string(query.by.rawValue), "conversionDays": .int(query.withinDays),
            "rows": .array(rows.map { r in
                .object([
                    "period": .string(r.period.description), query.by.rawValue: .string(r.key), "enrollments": .int(r.enrollments),
                    "enrollmentTarget": r.enrollmentTarget.map { .int($0) } ?? .null, "targetReached": share(r.targetReached),
                    "converted": .int(r.converted), "conversion": share(r.conversion), "active": .int(r.active),
                    "repeatBuyers": .int(r.repeatBuyers), "repurchaseRate": share(r.repurchaseRate),
                    "quickRepurchaseRate": share(r.quickRepurchaseRate), "purchases": .int(r.purchases), "spend": wide(r.spend),
                    "averageSpend": wide(r.averageSpend), "averageBasket": wide(r.averageBasket),
                ])
            }),
        ])
    }
}

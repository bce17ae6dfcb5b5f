public import LedgerJSON
public import LoyaltyDomain
import Projections

/// One early warning: a member whose lifecycle stage went from `active` to `defecting`, or from
/// `defecting` to `inactive`, during the period (schemas/reports.md, "Early warning").
public struct WarningRow: Sendable, Equatable {
    public var member: String
    public var store: String
    public var brand: String
    public var from: String
    public var to: String
    /// The first instant of the new stage: the last purchase plus the threshold, plus 1 µs.
    public var changedAt: Timestamp
    public var lastPurchaseAt: Timestamp
    /// Purchases less returns with business time <= the period's evaluation time, minor units.
    public var spend: Int128
    /// Filled from the balances projection: available points, and points of lots expiring
    /// within 30 days after the evaluation time.
    public var available: Int64 = 0
    public var expiringIn30Days: Int64 = 0
}

public struct WarningReport: Sendable {
    public var asOf: Timestamp
    public var period: ReportPeriod
    /// The stages compared: at `before` (the instant before the period) and at `at` (the end of the
    /// period, or the as-of time when earlier).
    public var before: Timestamp
    public var at: Timestamp
    /// Newest change first, then by member id.
    public var rows: [WarningRow]
}

extension InsightData {
    /// The warnings of `period` (default: the one holding `asOf`), without the points columns
    /// (`LedgerApplication.warnings` adds them). Nil rows when the period begins after `asOf`.
    public func warnings(_ q: InsightQuery, asOf: Timestamp) -> WarningReport {
        let p = q.warningPeriod ?? period(q.period, of: asOf)
        let first = start(ofDay: p.firstDay)
        let before = Timestamp(microseconds: first.microseconds &- 1)
        let end = Timestamp(microseconds: start(ofDay: p.endDay).microseconds &- 1)
        let at = min(end, asOf)
        var rows: [WarningRow] = []
        if at >= first {
            let dayMicros = Int128(Timestamp.microsecondsPerDay)
            for (member, a) in members {
                guard let enrolled = a.enrolledAt, enrolled <= at else { continue }
                if let s = q.store, a.store != s { continue }
                if let b = q.brand, a.brand != b { continue }
                let (was, now) = (a.view(asOf: before).stage(at: before, q.thresholds), a.view(asOf: at).stage(at: at, q.thresholds))
                guard (was == "active" && now == "defecting") || (was == "defecting" && now == "inactive"),
                      let last = a.purchases.filter({ $0.at <= at }).map(\.at).max() else { continue }
                let threshold = now == "defecting" ? q.thresholds.defectingDays : q.thresholds.inactiveDays
                let changed = Int128(last.microseconds) + Int128(threshold) * dayMicros + 1
                let spend = a.purchases.filter { $0.at <= at }.reduce(Int128(0)) { $0 + Int128($1.amount) }
                    - a.returns.filter { $0.at <= at }.reduce(Int128(0)) { $0 + Int128($1.amount) }
                rows.append(WarningRow(member: member, store: a.store, brand: a.brand, from: was, to: now,
                                       changedAt: Timestamp(microseconds: Int64(clamping: changed)), lastPurchaseAt: last, spend: spend))
            }
        }
        rows.sort { $0.changedAt != $1.changedAt ? $0.changedAt > $1.changedAt : $0.member.utf8.lexicographicallyPrecedes($1.member.utf8) }
        return WarningReport(asOf: asOf, period: p, before: before, at: at, rows: rows)
    }
}

extension WarningReport {
    public static let columns = ["member", "store", "brand", "from", "to", "changedAt", "lastPurchaseAt", "spend", "available",
                                 "expiringIn30Days"]

    public var cells: [[String]] {
        rows.map { r in
            [r.member, r.store, r.brand, r.from, r.to, r.changedAt.rfc3339, r.lastPurchaseAt.rfc3339, String(r.spend),
             String(r.available), String(r.expiringIn30Days)]
        }
    }

    /// schemas/reports/warnings.schema.json.
    public var json: JSONValue {
        .object([
            "report": .string("warnings"), "asOf": .string(asOf.rfc3339), "period": .string(period.description),
            "stagesBefore": .string(before.rfc3339), "stagesAt": .string(at.rfc3339),
            "rows": .array(rows.map { r in
                .object(["member": .string(r.member), "store": .string(r.store), "brand": .string(r.brand), "from": .string(r.from),
                         "to": .string(r.to), "changedAt": .string(r.changedAt.rfc3339), "lastPurchaseAt": .string(r.lastPurchaseAt.rfc3339),
                         "spend": .integer(String(r.spend)), "available": .int(r.available), "expiringIn30Days": .int(r.expiringIn30Days)])
            }),
        ])
    }
}

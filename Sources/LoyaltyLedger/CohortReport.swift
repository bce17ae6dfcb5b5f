public import LedgerJSON
public import LoyaltyDomain
import Projections

/// One row of `report cohorts`: the members enrolled in a local month, and for each later month
/// k = 1, 2, ... up to the as-of month the share of them with a purchase in month k.
public struct CohortRow: Sendable, Equatable {
    public var cohort: ReportPeriod
    public var size: Int64
    /// Members with a purchase in month offset k + 1 (index 0: the month after enrollment).
    public var retained: [Int64]
    public var retention: [Share] { retained.map { Share($0, of: size) } }
}

public struct CohortReport: Sendable {
    public var asOf: Timestamp
    public var rows: [CohortRow]
}

extension InsightData {
    /// `report cohorts` as of `asOf` (enrollments and purchases with business time <= asOf).
    public func cohorts(_ q: InsightQuery, asOf: Timestamp) -> CohortReport {
        func monthIndex(_ p: ReportPeriod) -> Int64 {
            let (y, m, _) = CivilDate.fromDays(p.firstDay)
            return y * 12 + Int64(m - 1)
        }
        let last = monthIndex(period(.month, of: asOf))
        var sizes: [ReportPeriod: Int64] = [:]
        var retained: [ReportPeriod: [Int64]] = [:]
        for (_, a) in members {
            guard let enrolled = a.enrolledAt, enrolled <= asOf else { continue }
            if let s = q.store, a.store != s { continue }
            if let b = q.brand, a.brand != b { continue }
            let cohort = period(.month, of: enrolled)
            guard q.admits(cohort) else { continue }
            let base = monthIndex(cohort)
            sizes[cohort, default: 0] += 1
            var counts = retained[cohort] ?? Array(repeating: 0, count: Int(max(0, last - base)))
            var seen = Set<Int64>()
            for p in a.purchases where p.at <= asOf {
                let k = monthIndex(period(.month, of: p.at)) - base
                if k >= 1, k <= Int64(counts.count), seen.insert(k).inserted { counts[Int(k - 1)] += 1 }
            }
            retained[cohort] = counts
        }
        let rows = sizes.keys.sorted().map { CohortRow(cohort: $0, size: sizes[$0] ?? 0, retained: retained[$0] ?? []) }
        return CohortReport(asOf: asOf, rows: rows)
    }
}

extension CohortReport {
    /// The widest row's month offsets: the columns after `cohort` and `size`.
    public var offsets: Int { rows.map(\.retained.count).max() ?? 0 }

    public var columns: [String] { ["cohort", "size"] + (0 ..< offsets).map { "m\($0 + 1)" } }

    public var cells: [[String]] {
        rows.map { r in
            [r.cohort.description, String(r.size)] + (0 ..< offsets).map { $0 < r.retention.count ? r.retention[$0].text ?? "" : "" }
        }
    }

    /// schemas/reports/cohorts.schema.json.
    public var json: JSONValue {
        .object([
            "report": .string("cohorts"), "asOf": .string(asOf.rfc3339),
            "rows": .array(rows.map { r in
                .object(["cohort": .string(r.cohort.description), "size": .int(r.size),
                         "retained": .array(r.retained.map { .int($0) }),
                         "retention": .array(r.retention.map { $0.text.map { .string($0) } ?? .null })])
            }),
        ])
    }
}

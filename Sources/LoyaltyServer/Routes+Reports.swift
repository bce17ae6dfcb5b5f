import Hummingbird
import LedgerJSON
import LoyaltyDomain
import LoyaltyLedger
import Projections

extension LedgerServer {
    /// `GET /v1/reports/{name}`: the operators' reports (schemas/reports.md), the JSON that
    /// `loyalty report NAME --format json` prints.
    func addReportRoutes(to router: Router<ServerContext>) {
        router.get("/v1/reports/{name}") { request, context in
            try Access.check(context.caller, .read)
            let name = try context.parameters.require("name")
            let common: Set<String> = ["period", "store", "brand", "from", "to", "asOf"]
            let allowed: Set<String>
            switch name {
            case "kpis": allowed = common.union(["by", "withinDays"])
            case "cohorts", "categories": allowed = common
            case "warnings": allowed = common.union(["in", "newDays", "defectingDays", "inactiveDays"])
            case "segments": allowed = common.union(["newDays", "defectingDays", "inactiveDays"])
            default: throw Problem.notFound("no report '\(name)' (kpis, cohorts, warnings, segments, categories)")
            }
            let query = try QueryParameters(request, allowed: allowed)
            func period(_ key: String) throws -> ReportPeriod? {
                guard let text = try query.string(key) else { return nil }
                guard let p = ReportPeriod(text) else {
                    throw Problem.invalidParameter(key, "'\(text)' is not a period (YYYY-MM, YYYY-Www or YYYY-MM-DD)")
                }
                return p
            }
            func days(_ key: String, _ fallback: Int64, max: Int64) throws -> Int64 {
                guard let text = try query.string(key) else { return fallback }
                guard let n = Int64(text), n >= 0, n <= max else {
                    throw Problem.invalidParameter(key, "'\(text)' is not a whole number of days from 0 to \(max)")
                }
                return n
            }
            var q = InsightQuery()
            q.period = try query.choice("period", ReportPeriod.Kind.self) ?? .month
            q.by = try query.choice("by", InsightGrouping.self) ?? .store
            (q.store, q.brand) = (try query.string("store"), try query.string("brand"))
            (q.from, q.to, q.warningPeriod) = (try period("from"), try period("to"), try period("in"))
            q.withinDays = try days("withinDays", 30, max: 36_500)
            let (newDays, defecting, inactive) = (try days("newDays", 90, max: 3_650_000), try days("defectingDays", 90, max: 3_650_000),
                                                  try days("inactiveDays", 365, max: 3_650_000))
            guard inactive >= defecting else { throw Problem.invalidParameter("inactiveDays", "must be at least defectingDays") }
            q.thresholds = LifecycleThresholds(newDays: newDays, defectingDays: defecting, inactiveDays: inactive)
            let asOf = try query.time("asOf", self.app) ?? self.now
            let app = self.app
            let query2 = q
            return JSONBody.response(try await StreamedBody.onThread {
                _ = try app.catchUpIfNear(LedgerApplication.insightProjections)
                switch name {
                case "kpis": return try app.kpis(query2, asOf: asOf).json
                case "cohorts": return try app.cohorts(query2, asOf: asOf).json
                case "segments": return try app.segments(query2, asOf: asOf).json
                case "categories": return try app.categories(query2, asOf: asOf).json
                default: return try app.warnings(query2, asOf: asOf).json
                }
            })
        }
    }
}

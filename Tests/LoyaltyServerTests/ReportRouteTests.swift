import Foundation
import Hummingbird
import HummingbirdTesting
import LedgerJSON
import LoyaltyServer
import Testing

/// `GET /v1/reports/{name}`: the JSON of `loyalty report NAME --format json`, and its errors.
@Suite struct ReportRouteTests {
    @Test func reportsAnswerTheirJSONAndRefuseBadParameters() async throws {
        try await withServer { client, _ in
            try await seedMembers(client)
            let kpis = try await client.send(.get, "/v1/reports/kpis?period=month&by=store&asOf=2026-02-01T00:00:00Z")
            #expect(kpis.status == .ok, "\(kpis.text)")
            guard case .array(let rows)? = kpis.json?["rows"] else { Issue.record("no rows: \(kpis.text)"); return }
            #expect(rows.count == 2 && rows[0]["store"] == .string("S1") && rows[0]["enrollments"] == .int(2), "\(kpis.text)")
            #expect(rows[0]["conversion"] == .string("0.5000") && rows[0]["spend"] == .int(1250) && rows[1]["active"] == .int(0))
            let cohorts = try await client.send(.get, "/v1/reports/cohorts?asOf=2026-03-01T00:00:00Z")
            #expect(cohorts.status == .ok && cohorts.json?["report"] == .string("cohorts"), "\(cohorts.text)")
            let warnings = try await client.send(.get, "/v1/reports/warnings?in=2026-04&asOf=2026-05-01T00:00:00Z")
            #expect(warnings.status == .ok && warnings.json?["period"] == .string("2026-04"), "\(warnings.text)")
            let segments = try await client.send(.get, "/v1/reports/segments?store=S1&asOf=2026-02-01T00:00:00Z")
            #expect(segments.status == .ok && segments.json?["report"] == .string("segments"), "\(segments.text)")
            #expect(segments.text.contains(#"{"counts":[{"members":2,"value":"S1"}],"dimension":"store"}"#), "\(segments.text)")
            let categories = try await client.send(.get, "/v1/reports/categories?period=day")
            #expect(categories.status == .ok && categories.text.contains(#""category":"(none)""#), "\(categories.text)")
            for (uri, field) in [("/v1/reports/kpis?period=year", "period"), ("/v1/reports/kpis?from=2026-13", "from"),
                                 ("/v1/reports/kpis?withinDays=-1", "withinDays"), ("/v1/reports/cohorts?by=store", "by"),
                                 ("/v1/reports/warnings?defectingDays=400", "inactiveDays"), ("/v1/reports/kpis?asOf=soon", "asOf")] {
                let r = try await client.send(.get, uri)
                #expect(r.status == .badRequest && r.json?["field"] == .string(field), "\(uri): \(r.text)")
            }
            let unknown = try await client.send(.get, "/v1/reports/campaigns")
            #expect(unknown.status == .notFound && unknown.problemType == "/problems/not-found")
        }
    }
}

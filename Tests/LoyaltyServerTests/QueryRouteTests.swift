import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LedgerJSON
import LoyaltyServer
import Testing

/// Enrolls `m1` (store S1), `m2` (S2), `m3` (S1) and records a purchase of m1.
func seedMembers(_ client: any TestClientProtocol) async throws {
    for (member, store) in [("m1", "S1"), ("m2", "S2"), ("m3", "S1")] {
        let r = try await client.send(.post, "/v1/members", json: #"{"member":"\#(member)","store":"\#(store)","occurredAt":"2026-01-01T00:00:00Z"}"#)
        #expect(r.status == .created, "\(r.text)")
    }
    let p = try await client.send(.post, "/v1/purchases", json: #"{"member":"m1","purchaseId":"p1","amount":"12.50","store":"S1","occurredAt":"2026-01-05T10:00:00Z"}"#)
    #expect(p.status == .created, "\(p.text)")
}

extension TestResponse {
    /// The body's lines (JSON Lines, CSV), without the empty one after the last line end.
    var lines: [String] { text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
    var contentType: String? { headers[.contentType] }
}

@Suite struct QueryRouteTests {
    @Test func historyIsJSONLinesOrCSVByAcceptAndItsErrorsAreDocumented() async throws {
        try await withServer { client, _ in
            try await seedMembers(client)
            let history = try await client.send(.get, "/v1/members/m1/history")
            #expect(history.status == .ok && history.contentType == "application/x-ndjson", "\(history.text)")
            let rows = history.lines.compactMap { try? JSONCanonical.parse($0) }
            #expect(rows.count == history.lines.count && rows.count >= 3, "\(history.text)")
            #expect(rows.first?["type"] == .string("member.enrolled"))
            #expect(rows.contains { $0["type"] == .string("points.earned") })
            let csv = try await client.send(.get, "/v1/members/m1/history", headers: [.accept: "text/csv"])
            #expect(csv.status == .ok && csv.contentType?.hasPrefix("text/csv") == true)
            #expect(csv.lines.first?.hasPrefix("available,debt,description") == true, "\(csv.text)")
            #expect(csv.lines.count == rows.count + 1)
            let from = try await client.send(.get, "/v1/members/m1/history?from=2026-01-03T00:00:00Z")
            #expect(from.status == .ok && from.lines.count < rows.count, "\(from.text)")
            let unknown = try await client.send(.get, "/v1/members/nobody/history")
            #expect(unknown.status == .notFound && unknown.problemType == "/problems/not-found")
            let badTime = try await client.send(.get, "/v1/members/m1/history?from=yesterday")
            #expect(badTime.status == .badRequest && badTime.problemType == "/problems/invalid-parameter" && badTime.json?["field"] == .string("from"))
            let badName = try await client.send(.get, "/v1/members/m1/history?limit=-1")
            #expect(badName.status == .badRequest && badName.json?["field"] == .string("limit"), "\(badName.text)")
            let notAcceptable = try await client.send(.get, "/v1/members/m1/history", headers: [.accept: "image/png"])
            #expect(notAcceptable.status == .notAcceptable && notAcceptable.problemType == "/problems/not-acceptable")
        }
    }

    @Test func explainAnswersTheMembersLotsAndUnknownMembersAre404() async throws {
        try await withServer { client, _ in
            try await seedMembers(client)
            let explained = try await client.send(.get, "/v1/members/m1/explain?at=2026-06-01")
            #expect(explained.status == .ok, "\(explained.text)")
            #expect(explained.json?["member"] == .string("m1"))
            #expect(explained.json?["lots"] != nil && explained.json?["movements"] != nil)
            let unknown = try await client.send(.get, "/v1/members/nobody/explain")
            #expect(unknown.status == .notFound && unknown.problemType == "/problems/not-found")
            let bad = try await client.send(.get, "/v1/members/m1/explain?at=2026-02-30")
            #expect(bad.status == .badRequest && bad.json?["field"] == .string("at"), "\(bad.text)")
        }
    }

    @Test func membersAreStreamedFilteredAndAsCSV() async throws {
        try await withServer { client, _ in
            try await seedMembers(client)
            let all = try await client.send(.get, "/v1/members")
            #expect(all.status == .ok && all.contentType == "application/x-ndjson", "\(all.text)")
            #expect(all.lines.compactMap { try? JSONCanonical.parse($0)["member"] } == [.string("m1"), .string("m2"), .string("m3")])
            let s1 = try await client.send(.get, "/v1/members?store=S1")
            #expect(s1.lines.count == 2, "\(s1.text)")
            let csv = try await client.send(.get, "/v1/members?store=S2", headers: [.accept: "text/csv"])
            #expect(csv.status == .ok && csv.lines.count == 2 && csv.lines[0].hasPrefix("member,enrolledAt"), "\(csv.text)")
            #expect(csv.lines[1].hasPrefix("m2,"))
            let stage = try await client.send(.get, "/v1/members?stage=sleeping")
            #expect(stage.status == .badRequest && stage.problemType == "/problems/invalid-parameter" && stage.json?["field"] == .string("stage"))
            let tier = try await client.send(.get, "/v1/members?tier=platinum-plus")
            #expect(tier.status == .badRequest && tier.json?["field"] == .string("tier"), "\(tier.text)")
            let member = try await client.send(.get, "/v1/members/m2")
            #expect(member.status == .ok && member.json?["enrollmentStore"] == .string("S2"), "\(member.text)")
        }
    }

    @Test func figuresProjectionsStatsAndReconciliation() async throws {
        try await withServer { client, _ in
            try await seedMembers(client)
            let figures = try await client.send(.get, "/v1/figures?by=store&from=2026-01-01&to=2026-12-31")
            #expect(figures.status == .ok && figures.json?["groupBy"] == .string("store"), "\(figures.text)")
            let by = try await client.send(.get, "/v1/figures?by=week")
            #expect(by.status == .badRequest && by.json?["field"] == .string("by"))
            let date = try await client.send(.get, "/v1/figures?from=2026-13-01")
            #expect(date.status == .badRequest && date.json?["field"] == .string("from"))
            let projections = try await client.send(.get, "/v1/projections")
            #expect(projections.status == .ok, "\(projections.text)")
            guard case .array(let rows)? = projections.json?["projections"] else { Issue.record("no projections: \(projections.text)"); return }
            #expect(rows.count == 4, "balances, members, figures, activity")
            let stats = try await client.send(.get, "/v1/stats")
            #expect(stats.status == .ok && stats.json?["eventCount"] != nil, "\(stats.text)")
            let first = try await client.send(.get, "/v1/reconciliation")
            #expect(first.status == .ok && first.json?["matched"] == .bool(true), "\(first.text)")
            let again = try await client.send(.get, "/v1/reconciliation")
            #expect(again.text == first.text, "the log did not move: the same report")
            _ = try await client.send(.post, "/v1/purchases", json: #"{"member":"m2","purchaseId":"p2","amount":"3.00","store":"S2","occurredAt":"2026-01-06T10:00:00Z"}"#)
            let moved = try await client.send(.get, "/v1/reconciliation")
            guard case .integer(let before)? = first.json?["headPosition"], case .integer(let after)? = moved.json?["headPosition"] else {
                Issue.record("no head positions"); return
            }
            #expect((Int(after) ?? 0) > (Int(before) ?? 0))
            let unknown = try await client.send(.get, "/v1/stats?verbose=1")
            #expect(unknown.status == .badRequest && unknown.json?["field"] == .string("verbose"))
        }
    }
}

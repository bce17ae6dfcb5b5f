import Foundation
import HummingbirdTesting
import LedgerJSON
import LoyaltyServer
import Testing

/// Cards and operators' tiers over HTTP: the routes carry out the commands the CLI does, and
/// refuse bad input with problem documents.
@Suite struct CardRouteTests {
    @Test func cardsAreIssuedLookedUpBlockedAndReplaced() async throws {
        try await withServer { client, _ in
            #expect(try await client.send(.post, "/v1/members", json: #"{"member":"m1","store":"S1","occurredAt":"2026-01-01T00:00:00Z"}"#).status == .created)
            let issue = #"{"member":"m1","number":"4000-1","key":"c1","occurredAt":"2026-01-02T00:00:00Z"}"#
            let issued = try await client.send(.post, "/v1/cards", json: issue)
            #expect(issued.status == .created, "\(issued.text)")
            let retry = try await client.send(.post, "/v1/cards", json: issue)
            #expect(retry.status == .created && retry.text == issued.text, "\(retry.text)")
            let reused = try await client.send(.post, "/v1/cards", json: #"{"member":"m1","number":"4000-1","key":"c2"}"#)
            #expect(reused.status == .unprocessableContent && reused.json?["reason"] == .string("card-in-use"), "\(reused.text)")
            let card = try await client.send(.get, "/v1/cards/4000-1")
            #expect(card.status == .ok && card.json?["member"] == .string("m1") && card.json?["status"] == .string("active"), "\(card.text)")
            let unknown = try await client.send(.get, "/v1/cards/nope")
            #expect(unknown.status == .unprocessableContent && unknown.json?["reason"] == .string("unknown-card"), "\(unknown.text)")
            let blocked = try await client.send(.post, "/v1/cards/4000-1/block", json: #"{"reason":"lost"}"#)
            #expect(blocked.status == .created, "\(blocked.text)")
            let replaced = try await client.send(.post, "/v1/cards/4000-1/replacement", json: #"{"number":"カード-2"}"#)
            #expect(replaced.status == .created, "\(replaced.text)")
            let old = try await client.send(.get, "/v1/cards/4000-1")
            #expect(old.json?["status"] == .string("replaced") && old.json?["replacedBy"] == .string("カード-2"), "\(old.text)")
            // A multibyte number in the path, percent-encoded UTF-8.
            let encoded = try #require("カード-2".addingPercentEncoding(withAllowedCharacters: .urlPathAllowed))
            let new = try await client.send(.get, "/v1/cards/" + encoded)
            #expect(new.status == .ok && new.json?["member"] == .string("m1") && new.json?["replaces"] == .string("4000-1"), "\(new.text)")
            let badEscape = try await client.send(.get, "/v1/cards/%E3%82")
            #expect(badEscape.status == .badRequest, "\(badEscape.text)")
            let long = try await client.send(.post, "/v1/cards", json: #"{"member":"m1","number":"\#(String(repeating: "é", count: 33))","key":"c3"}"#)
            #expect(long.status == .unprocessableContent && long.json?["field"] == .string("number"), "\(long.text)")
        }
    }

    @Test func anOperatorsTierIsSetWithItsFloor() async throws {
        try await withServer { client, _ in
            let rules = #"{"version":2,"tiers":{"measure":"spend","window":"rolling_days","windowDays":365,"downgradeGraceDays":30,"levels":[{"name":"silver","threshold":50000},{"name":"gold","threshold":100000}]}}"#
            let published = try await client.send(.post, "/v1/program/rules?at=2026-01-01T00:00:00Z", json: rules)
            #expect(published.status == .created, "\(published.text)")
            #expect(try await client.send(.post, "/v1/members", json: #"{"member":"m1","store":"S1","occurredAt":"2026-01-02T00:00:00Z"}"#).status == .created)
            let set = try await client.send(.post, "/v1/members/m1/tier",
                                            json: #"{"tier":"gold","reason":"status match","key":"t1","floor":true,"until":"2026-12-31T00:00:00Z","occurredAt":"2026-01-03T00:00:00Z"}"#)
            #expect(set.status == .created && set.text.contains("tier.set"), "\(set.text)")
            let unknownTier = try await client.send(.post, "/v1/members/m1/tier", json: #"{"tier":"platinum","reason":"x","key":"t2"}"#)
            #expect(unknownTier.status == .unprocessableContent && unknownTier.json?["field"] == .string("tier"), "\(unknownTier.text)")
            let view = try await client.send(.get, "/v1/members/m1")
            #expect(view.json?["tier"] == .string("gold"), "\(view.text)")
        }
    }
}

import Foundation
import HummingbirdTesting
import LedgerJSON
import LoyaltyServer
import Testing

@Suite struct CommandRouteTests {
    @Test func enrollPurchaseAndRetryAnswerTheSameAndConflictsAre409() async throws {
        try await withServer { client, _ in
            let enrolled = try await client.send(.post, "/v1/members", json: #"{"member":"m1","store":"S1","occurredAt":"2026-01-01T00:00:00Z"}"#)
            #expect(enrolled.status == .created, "\(enrolled.text)")
            let purchase = #"{"member":"m1","purchaseId":"p1","amount":"12.50","store":"S1","occurredAt":"2026-01-05T10:00:00Z"}"#
            let first = try await client.send(.post, "/v1/purchases", json: purchase)
            #expect(first.status == .created, "\(first.text)")
            let retry = try await client.send(.post, "/v1/purchases", json: purchase)
            #expect(retry.status == .created)
            #expect(retry.text == first.text)
            let other = try await client.send(.post, "/v1/purchases", json: purchase.replacingOccurrences(of: "12.50", with: "13.50"))
            #expect(other.status == .conflict, "\(other.text)")
            #expect(other.problemType == "/problems/idempotency-conflict")
            let balance = try await client.send(.get, "/v1/members/m1/balance")
            #expect(balance.status == .ok)
            #expect(balance.json?["member"] == .string("m1"))
        }
    }

    @Test func badBodiesAre400NamingTheFieldAndUnknownRoutes404() async throws {
        try await withServer { client, _ in
            let malformed = try await client.send(.post, "/v1/purchases", json: #"{"member":"m1","#)
            #expect(malformed.status == .badRequest && malformed.problemType == "/problems/malformed-json", "\(malformed.text)")
            let unknown = try await client.send(.post, "/v1/members", json: #"{"member":"m1","store":"S1","bogus":1}"#)
            #expect(unknown.status == .badRequest && unknown.problemType == "/problems/unknown-field", "\(unknown.text)")
            #expect(unknown.json?["field"] == .string("bogus"))
            let wrongType = try await client.send(.post, "/v1/members", json: #"{"member":7,"store":"S1"}"#)
            #expect(wrongType.status == .badRequest && wrongType.json?["field"] == .string("member"), "\(wrongType.text)")
            let missing = try await client.send(.get, "/v1/members/nobody/balance")
            #expect(missing.status == .notFound && missing.problemType == "/problems/not-found")
            let route = try await client.send(.get, "/v1/nothing")
            #expect(route.status == .notFound && route.problemType == "/problems/not-found")
            let refused = try await client.send(.post, "/v1/redemptions", json: #"{"member":"nobody","points":5,"redemptionId":"r1"}"#)
            #expect(refused.status == .unprocessableContent && refused.problemType == "/problems/refused", "\(refused.text)")
        }
    }
}

@Suite struct CommandEdgeTests {
    /// Ids no member or key can have (empty, over LMDB's key limit, multibyte) are the domain's
    /// refusal naming the field, never a 500 from the storage underneath.
    @Test func idsNoStoredKeyCanHaveAreRefusalsNot500() async throws {
        try await withServer { client, _ in
            let long = String(repeating: "é", count: 400)
            for (route, body) in [("/v1/transfers", #"{"from":"0","to":"","points":1,"key":"x"}"#),
                                  ("/v1/transfers", #"{"from":"\#(long)","to":"b","points":1,"key":"x"}"#),
                                  ("/v1/redemptions", #"{"member":"","points":1,"redemptionId":"r"}"#),
                                  ("/v1/returns", #"{"purchaseId":"","returnId":"r"}"#),
                                  ("/v1/holds", #"{"member":"m","points":1,"holdId":"\#(long)","expiresAt":"2030-01-01T00:00:00Z"}"#),
                                  ("/v1/adjustments", #"{"member":"m","points":-9223372036854775808,"reason":"x","key":""}"#)] {
                let answer = try await client.send(.post, route, json: body)
                #expect(answer.status.code >= 400 && answer.status.code < 500, "\(route) \(body): \(answer.status) \(answer.text)")
            }
        }
    }
}

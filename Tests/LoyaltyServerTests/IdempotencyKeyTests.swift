import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LedgerJSON
@testable import LoyaltyServer
import Testing

@Suite struct IdempotencyKeyTests {
    static let key = LedgerServerTestFields.idempotencyKey

    @Test func aRetryWithTheKeyAnswersTheOriginalAndWritesNothingAnotherBodyIs409() async throws {
        try await withServer { client, server in
            try await seedMembers(client)
            let adjust = #"{"member":"m1","points":50,"key":"a1","reason":"goodwill","operator":"op1","occurredAt":"2026-01-07T00:00:00Z"}"#
            let first = try await client.send(.post, "/v1/adjustments", json: adjust, headers: [Self.key: "retry-1"])
            #expect(first.status == .created, "\(first.text)")
            let head = try server.app.log.headPosition()
            let retry = try await client.send(.post, "/v1/adjustments", json: adjust, headers: [Self.key: "retry-1"])
            #expect(retry.status == .created && retry.text == first.text)
            #expect(try server.app.log.headPosition() == head)
            let other = try await client.send(.post, "/v1/adjustments", json: adjust.replacingOccurrences(of: "50", with: "60"), headers: [Self.key: "retry-1"])
            #expect(other.status == .conflict && other.problemType == "/problems/idempotency-conflict", "\(other.text)")
            // The same key on another route is another key.
            let elsewhere = try await client.send(.post, "/v1/members", json: #"{"member":"m9","store":"S1"}"#, headers: [Self.key: "retry-1"])
            #expect(elsewhere.status == .created, "\(elsewhere.text)")
            let badKey = try await client.send(.post, "/v1/members", json: #"{"member":"m8","store":"S1"}"#, headers: [Self.key: "has space"])
            #expect(badKey.status == .badRequest && badKey.json?["field"] == .string("Idempotency-Key"))
        }
    }

    @Test func aRefusalRetriedWithTheKeyAnswersTheSame422EvenOnceItWouldSucceed() async throws {
        try await withServer { client, _ in
            let redeem = #"{"member":"late","points":5,"redemptionId":"r1"}"#
            let refused = try await client.send(.post, "/v1/redemptions", json: redeem, headers: [Self.key: "k-422"])
            #expect(refused.status == .unprocessableContent && refused.problemType == "/problems/refused", "\(refused.text)")
            #expect(refused.contentType == "application/problem+json")
            _ = try await client.send(.post, "/v1/members", json: #"{"member":"late","store":"S1"}"#)
            let retry = try await client.send(.post, "/v1/redemptions", json: redeem, headers: [Self.key: "k-422"])
            #expect(retry.status == .unprocessableContent && retry.text == refused.text)
        }
    }

    @Test func aBadRequestIsNotKeptAndTheStoreOutlivesTheServer() async throws {
        try await withServer { client, server in
            let bad = try await client.send(.post, "/v1/members", json: #"{"member":"x1"}"#, headers: [Self.key: "k-400"])
            #expect(bad.status == .badRequest)
            let fixed = try await client.send(.post, "/v1/members", json: #"{"member":"x1","store":"S1"}"#, headers: [Self.key: "k-400"])
            #expect(fixed.status == .created, "a 400 is not kept: the corrected request goes through")
            // A second server over the same ledger reads the stored answers back.
            let reopened = try IdempotencyStore(directory: server.app.path + "/api")
            let scope = IdempotencyStore.scope(caller: nil, route: "POST /v1/members", key: "k-400")
            let hash = IdempotencyStore.hash(method: "POST", path: "/v1/members", body: Array(#"{"member":"x1","store":"S1"}"#.utf8))
            guard case .replay(let answer) = reopened.begin(scope: scope, hash: hash) else { Issue.record("not stored"); return }
            #expect(answer.status == 201 && answer.body == Array(fixed.text.utf8))
        }
    }

    @Test func commandBodiesOverTheLimitAre413AndOtherTypes415() async throws {
        var configuration = ServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.commandBodyBytesMax = 32
        try await withServer(configuration: configuration) { client, _ in
            let large = try await client.send(.post, "/v1/members", json: #"{"member":"a-rather-long-member-id","store":"S1"}"#)
            #expect(large.status == .contentTooLarge && large.problemType == "/problems/body-too-large")
            let type = try await client.send(.post, "/v1/members", body: #"{"member":"a","store":"S"}"#, contentType: "text/plain")
            #expect(type.status == .unsupportedMediaType && type.problemType == "/problems/unsupported-media-type")
        }
    }

    @Test func publishingRulesIs201AndARetryOfTheVersionTheSameAnotherDocument409() async throws {
        try await withServer { client, server in
            let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("schemas/examples/retail.rules.json")
            let rules = try String(contentsOf: url, encoding: .utf8)
            let first = try await client.send(.post, "/v1/program/rules?at=2026-01-01T00:00:00Z", json: rules)
            #expect(first.status == .created, "\(first.text)")
            guard case .array(let events)? = first.json?["events"] else { Issue.record("no events"); return }
            #expect(events.first?["type"] == .string("program.published"))
            let retry = try await client.send(.post, "/v1/program/rules?at=2026-01-01T00:00:00Z", json: rules)
            #expect(retry.status == .created && retry.text == first.text)
            let changed = try await client.send(.post, "/v1/program/rules?at=2026-01-01T00:00:00Z", json: rules.replacingOccurrences(of: "\"pendingDays\"", with: "\"retroClaimDays\": 3, \"pendingDays\""))
            #expect(changed.status == .conflict, "\(changed.text)")
            let unknown = try await client.send(.post, "/v1/program/rules", json: #"{"version":3,"colour":"red"}"#)
            #expect(unknown.status == .badRequest && unknown.problemType == "/problems/unknown-field", "\(unknown.text)")
            let at = try await client.send(.post, "/v1/program/rules?at=soon", json: rules)
            #expect(at.status == .badRequest && at.json?["field"] == .string("at"))
            _ = server
        }
    }
}

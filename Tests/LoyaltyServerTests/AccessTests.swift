import Foundation
import Hummingbird
import HummingbirdTesting
import LedgerJSON
import LedgerTestSupport
import LoyaltyLedger
import LoyaltyServer
import Testing

/// API keys, roles and stores through the real socket, and the actor of the events written.
@Suite struct AccessTests {
    static let keys = [
        TestKey(name: "till-1", role: .till, stores: ["S1"]),
        TestKey(name: "ops", role: .operator),
        TestKey(name: "audit", role: .auditor),
        TestKey(name: "feed", role: .consumer),
    ]
    static let enroll = #"{"member":"m1","store":"S1","occurredAt":"2026-01-01T00:00:00Z"}"#
    static func purchase(_ id: String, store: String, amount: String = "12.50") -> String {
        #"{"member":"m1","purchaseId":"\#(id)","amount":"\#(amount)","store":"\#(store)","occurredAt":"2026-01-05T10:00:00Z"}"#
    }

    @Test func withoutAValidKeyEveryRouteButHealthAndReadyIs401() async throws {
        try await withKeyedServer(keys: Self.keys) { client, server, keys in
            for (method, uri) in [(HTTPRequest.Method.get, "/v1/members/m1"), (.get, "/v1/members/m1/balance"), (.get, "/metrics"),
                                  (.post, "/v1/purchases"), (.get, "/v1/nothing")] {
                let none = try await client.send(method, uri, json: method == .post ? Self.purchase("p1", store: "S1") : nil)
                #expect(none.status == .unauthorized && none.problemType == "/problems/unauthorized", "\(uri): \(none.text)")
                #expect(none.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            }
            for header in ["Bearer ll_nonsense", "Basic dXNlcjpwdw==", "Bearer", keys["ops"] ?? ""] {
                let wrong = try await client.send(.get, "/v1/members/m1", headers: [.authorization: header])
                #expect(wrong.status == .unauthorized, "'\(header)': \(wrong.text)")
            }
            let health = try await client.send(.get, "/health")
            #expect(health.status == .ok)
            let ready = try await client.send(.get, "/ready")
            #expect(ready.status != .unauthorized)
            // A key revoked while the server runs is refused from the next request on.
            let before = try await client.send(.get, "/metrics", headers: bearer(keys["audit"]))
            #expect(before.status == .ok)
            try APIKeyFile.revoke(ledger: server.app.path, name: "audit", now: .now())
            let after = try await client.send(.get, "/metrics", headers: bearer(keys["audit"]))
            #expect(after.status == .unauthorized, "\(after.text)")
            // ... and one created meanwhile is accepted.
            let fresh = try APIKeyFile.create(ledger: server.app.path, name: "audit-2", role: .auditor, stores: nil, now: .now())
            let created = try await client.send(.get, "/metrics", headers: bearer(fresh))
            #expect(created.status == .ok)
        }
    }

    @Test func eachRoleIsRefusedWhatItMayNotDoWith403() async throws {
        try await withKeyedServer(keys: Self.keys) { client, _, keys in
            let till = bearer(keys["till-1"]), ops = bearer(keys["ops"]), audit = bearer(keys["audit"]), feed = bearer(keys["feed"])
            #expect(try await client.send(.post, "/v1/members", json: Self.enroll, headers: till).status == .created)
            let forbidden: [(String, HTTPRequest.Method, String, String?, HTTPFields)] = [
                ("till adjusts", .post, "/v1/adjustments", #"{"member":"m1","points":5,"reason":"x","operator":"o","key":"a1"}"#, till),
                ("till redeems", .post, "/v1/redemptions", #"{"member":"m1","points":5,"redemptionId":"r1"}"#, till),
                ("till defines a reward", .put, "/v1/rewards/w1", #"{"name":"W","cost":10}"#, till),
                ("till reads metrics", .get, "/metrics", nil, till),
                ("till enrolls at another store", .post, "/v1/members", #"{"member":"m2","store":"S2"}"#, till),
                ("till purchases at another store", .post, "/v1/purchases", Self.purchase("p9", store: "S2"), till),
                ("auditor purchases", .post, "/v1/purchases", Self.purchase("p8", store: "S1"), audit),
                ("auditor adjusts", .post, "/v1/adjustments", #"{"member":"m1","points":5,"reason":"x","operator":"o","key":"a2"}"#, audit),
                ("consumer reads a balance", .get, "/v1/members/m1/balance", nil, feed),
                ("consumer reads metrics", .get, "/metrics", nil, feed),
                ("consumer enrolls", .post, "/v1/members", #"{"member":"m3","store":"S1"}"#, feed),
            ]
            for (what, method, uri, body, headers) in forbidden {
                let answer = try await client.send(method, uri, json: body, headers: headers)
                #expect(answer.status == .forbidden && answer.problemType == "/problems/forbidden", "\(what): \(answer.status) \(answer.text)")
            }
            let foreign = try await client.send(.post, "/v1/purchases", json: Self.purchase("p9", store: "S2"), headers: till)
            guard case .string(let detail)? = foreign.json?["detail"] else { Issue.record("no detail"); return }
            #expect(detail.contains("till-1") && detail.contains("S2"), "\(detail)")
            // A return names no store: the purchase's store is checked.
            #expect(try await client.send(.post, "/v1/purchases", json: Self.purchase("p2", store: "S2"), headers: ops).status == .created)
            let foreignReturn = try await client.send(.post, "/v1/returns", json: #"{"purchaseId":"p2","returnId":"x2"}"#, headers: till)
            #expect(foreignReturn.status == .forbidden, "\(foreignReturn.text)")
            // Nothing refused was written.
            let member = try await client.send(.get, "/v1/members/m1/balance", headers: ops)
            #expect(member.status == .ok)
        }
    }

    @Test func eachRoleMayDoWhatItIsFor() async throws {
        try await withKeyedServer(keys: Self.keys) { client, server, keys in
            let till = bearer(keys["till-1"]), ops = bearer(keys["ops"]), audit = bearer(keys["audit"])
            let allowed: [(String, HTTPRequest.Method, String, String?, HTTPFields, HTTPResponse.Status)] = [
                ("till enrolls", .post, "/v1/members", Self.enroll, till, .created),
                ("till purchases", .post, "/v1/purchases", Self.purchase("p1", store: "S1"), till, .created),
                ("till returns its purchase", .post, "/v1/returns", #"{"purchaseId":"p1","returnId":"x1","amount":"2.50"}"#, till, .created),
                ("(the member views catch up)", .get, "", nil, [:], .ok),
                ("till looks a member up", .get, "/v1/members/m1", nil, till, .ok),
                ("till reads a balance", .get, "/v1/members/m1/balance", nil, till, .ok),
                ("operator adjusts", .post, "/v1/adjustments", #"{"member":"m1","points":5,"reason":"goodwill","operator":"o1","key":"a1"}"#, ops, .created),
                ("operator defines a reward", .put, "/v1/rewards/w1", #"{"name":"Mug","cost":10}"#, ops, .created),
                ("operator purchases anywhere", .post, "/v1/purchases", Self.purchase("p2", store: "S7"), ops, .created),
                ("operator reads", .get, "/v1/members/m1/balance", nil, ops, .ok),
                ("auditor reads", .get, "/v1/members/m1", nil, audit, .ok),
                ("auditor reads metrics", .get, "/metrics", nil, audit, .ok),
                ("operator reads metrics", .get, "/metrics", nil, ops, .ok),
            ]
            for (what, method, uri, body, headers, status) in allowed {
                if uri.isEmpty {
                    _ = try server.app.catchUp()  // (no projection workers run here)
                    continue
                }
                let answer = try await client.send(method, uri, json: body, headers: headers)
                #expect(answer.status == status, "\(what): \(answer.status) \(answer.text)")
            }
        }
    }

    @Test func everyEventWrittenRecordsTheKeysNameAsItsActor() async throws {
        try await withKeyedServer(keys: Self.keys) { client, server, keys in
            let till = bearer(keys["till-1"]), ops = bearer(keys["ops"])
            let head = try server.app.log.headPosition()
            #expect(try await client.send(.post, "/v1/members", json: Self.enroll, headers: till).status == .created)
            let bought = try await client.send(.post, "/v1/purchases", json: Self.purchase("p1", store: "S1"), headers: till)
            #expect(bought.status == .created)
            let adjusted = try await client.send(.post, "/v1/adjustments",
                                                 json: #"{"member":"m1","points":5,"reason":"goodwill","operator":"o1","key":"a1"}"#, headers: ops)
            #expect(adjusted.status == .created)
            // The operator retries the till's purchase: the same answer, nothing written, the
            // stored events keep the till as their actor.
            let retry = try await client.send(.post, "/v1/purchases", json: Self.purchase("p1", store: "S1"), headers: ops)
            #expect(retry.status == .created && retry.text == bought.text)
            let events = try server.app.log.events(after: head, limit: 100)
            #expect(!events.isEmpty)
            for event in events {
                let expected = event.idempotencyKey?.hasPrefix("adjust:") == true ? "ops" : "till-1"
                #expect(event.actor == expected, "\(event.position) \(event.type): \(event.actor ?? "nil")")
            }
            #expect(Set(events.compactMap(\.actor)) == ["till-1", "ops"])
            #expect(try server.app.log.verify().firstBadPosition == nil)
        }
    }

    @Test func aServerWithoutKeysRefusesToStartUnlessInsecure() async throws {
        let dir = TemporaryDirectory()
        let app = try LedgerApplication.open(path: dir.ledger, options: ApplicationOptions(writable: true, create: true))
        defer { app.close() }
        #expect(throws: ServerSetupError.self) { try LedgerServer(app: app, configuration: ServerConfiguration(host: "127.0.0.1", port: 0)) }
        var open = ServerConfiguration(host: "127.0.0.1", port: 0)
        open.insecureNoAuth = true
        _ = try LedgerServer(app: app, configuration: open)
    }
}

/// `/metrics` and `/ready`.
@Suite struct OperationsTests {
    @Test func metricsShowRequestDurationsCommitSizesAndProjectionLag() async throws {
        try await withKeyedServer(keys: [TestKey(name: "ops", role: .operator)]) { client, _, keys in
            let ops = bearer(keys["ops"])
            #expect(try await client.send(.post, "/v1/members", json: AccessTests.enroll, headers: ops).status == .created)
            #expect(try await client.send(.get, "/v1/members/m1/balance", headers: ops).status == .ok)
            let metrics = try await client.send(.get, "/metrics", headers: ops)
            #expect(metrics.status == .ok)
            #expect(metrics.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = metrics.text
            for needle in [#"http_server_request_duration_seconds_bucket{"#, #"http_route="/v1/members/{id}/balance""#,
                           #"http_response_status_code="201""#, "loyalty_projection_lag_events{projection=\"",
                           "loyalty_log_commit_events_bucket", "loyalty_log_appended_events_total", "loyalty_log_map_used_bytes",
                           "loyalty_log_map_size_bytes"] {
                #expect(text.contains(needle), "missing \(needle)")
            }
            // Bodies and member ids never become labels.
            #expect(!text.contains("m1"))
        }
    }

    @Test func readyIs503UntilTheProjectionsCaughtUpThen200() async throws {
        try await withKeyedServer(keys: [TestKey(name: "ops", role: .operator)]) { client, server, _ in
            // No projection workers run here: not ready.
            let before = try await client.send(.get, "/ready")
            #expect(before.status == .serviceUnavailable && before.problemType == "/problems/unavailable", "\(before.text)")
            let workers = Task { try await server.projectionService().run() }
            var status = HTTPResponse.Status.serviceUnavailable
            for _ in 0..<200 where status != .ok {
                status = try await client.send(.get, "/ready").status
                if status != .ok { try await Task.sleep(for: .milliseconds(25)) }
            }
            workers.cancel()
            _ = await workers.result  // (stopped before the ledger closes)
            #expect(status == .ok)
            #expect(server.isReady)
        }
    }
}

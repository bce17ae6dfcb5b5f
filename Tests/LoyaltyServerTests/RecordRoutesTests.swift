import Foundation
import Hummingbird
import HummingbirdTesting
import LedgerStore
import LedgerTestSupport
import LoyaltyLedger
import LoyaltyServer
import NIOCore
import Testing

/// `GET /v1/records` (the replicas' feed) and a read-only server, through the real socket.
@Suite struct RecordRoutesTests {
    static let keys = [TestKey(name: "ops", role: .operator), TestKey(name: "audit", role: .auditor), TestKey(name: "feed", role: .consumer)]
    static let enroll = #"{"member":"m1","store":"S1","occurredAt":"2026-01-01T00:00:00Z"}"#

    @Test func recordsAreTheStoredBytesWithTheirChainHashes() async throws {
        try await withKeyedServer(keys: Self.keys) { client, server, keys in
            #expect(try await client.send(.post, "/v1/members", json: Self.enroll, headers: bearer(keys["ops"])).status == .created)
            let answer = try await client.send(.get, "/v1/records?after=0&limit=10", headers: bearer(keys["audit"]))
            #expect(answer.status == .ok && answer.headers[.contentType] == RecordPage.mediaType)
            let page = try RecordPage.decode(Array(answer.body.readableBytesView))
            let log = server.app.log
            #expect(page.ledgerId == log.ledgerIdentifier && page.after == 0 && page.previousHash == .genesis)
            let head = try log.headPosition()
            #expect(page.head == head && page.records.count == Int(head))
            for r in page.records {
                let (stored, hash) = (try log.recordBytes(at: r.position), try log.chainHash(at: r.position))
                #expect(r.record == stored && r.hash == hash)
            }
            let rest = try RecordPage.decode(Array(try await client.send(.get, "/v1/records?after=1", headers: bearer(keys["audit"])).body.readableBytesView))
            #expect(rest.previousHash == page.records[0].hash && rest.records.map(\.position) == Array(page.records.dropFirst()).map(\.position))
            // A consumer tails events but does not copy the log; bad parameters are 400.
            #expect(try await client.send(.get, "/v1/records", headers: bearer(keys["feed"])).status == .forbidden)
            for uri in ["/v1/records?after=99", "/v1/records?limit=0", "/v1/records?limit=10001", "/v1/records?after=-1", "/v1/records?member=m1"] {
                let bad = try await client.send(.get, uri, headers: bearer(keys["audit"]))
                #expect(bad.status == .badRequest && bad.problemType == "/problems/invalid-parameter", "\(uri): \(bad.text)")
            }
        }
    }

    @Test func aReadOnlyServerAnswersReadsAndRefusesEveryCommand() async throws {
        var configuration = ServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.readOnly = true
        try await withKeyedServer(configuration: configuration, keys: Self.keys) { client, _, keys in
            for (method, uri) in [(HTTPRequest.Method.post, "/v1/members"), (.post, "/v1/imports"), (.delete, "/v1/holds/h1"), (.put, "/v1/rewards/r1")] {
                let refused = try await client.send(method, uri, json: Self.enroll, headers: bearer(keys["ops"]))
                #expect(refused.status == .methodNotAllowed && refused.problemType == "/problems/method-not-allowed", "\(uri): \(refused.text)")
                #expect(refused.headers[.allow] == "GET, HEAD")
            }
            #expect(try await client.send(.post, "/v1/members", json: Self.enroll).status == .unauthorized)
            #expect(try await client.send(.get, "/v1/stats", headers: bearer(keys["audit"])).status == .ok)
            #expect(try await client.send(.get, "/v1/records", headers: bearer(keys["audit"])).status == .ok)
        }
    }
}

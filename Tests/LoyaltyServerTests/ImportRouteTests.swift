import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LedgerJSON
import LoyaltyServer
import NIOCore
import Testing

extension TestClientProtocol {
    /// A request with a body of `contentType`.
    func send(_ method: HTTPRequest.Method, _ uri: String, body: String, contentType: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        var headers = headers
        headers[.contentType] = contentType
        return try await execute(uri: uri, method: method, headers: headers, body: ByteBuffer(string: body))
    }
}

extension TestResponse {
    /// The JSON Lines of the answer.
    var jsonLines: [JSONValue] { lines.compactMap { try? JSONCanonical.parse($0) } }
}

@Suite struct ImportRouteTests {
    @Test func aCSVImportStreamsRefusalsAndCountsAndAgainWritesNothing() async throws {
        try await withServer { client, server in
            let csv = "member_id,enrolled_at,store_id,birth_date,gender\nc1,2026-01-01,S1,,\nc2,2026-01-02T09:00:00Z,S1,1990-05-01,female\nc3,not-a-time,S1,,\n"
            let first = try await client.send(.post, "/v1/imports", body: csv, contentType: "text/csv")
            #expect(first.status == .ok && first.contentType == "application/x-ndjson", "\(first.text)")
            let lines = first.jsonLines
            #expect(lines.contains { $0["kind"] == .string("refused") && $0["line"] == .int(4) }, "\(first.text)")
            #expect(lines.last?["kind"] == .string("done") && lines.last?["written"] == .int(2) && lines.last?["refused"] == .int(1), "\(first.text)")
            let head = try server.app.log.headPosition()
            let again = try await client.send(.post, "/v1/imports", body: csv, contentType: "text/csv; charset=utf-8")
            #expect(again.jsonLines.last?["written"] == .int(0) && again.jsonLines.last?["replayed"] == .int(2), "\(again.text)")
            #expect(try server.app.log.headPosition() == head)
            let member = try await client.send(.get, "/v1/members/c2")
            #expect(member.status == .ok, "\(member.text)")
        }
    }

    @Test func aJSONLinesImportCarriesCommandsOut() async throws {
        try await withServer { client, _ in
            let body = #"""
                {"command":"enroll","member":"j1","store":"S1","occurredAt":"2026-01-01T00:00:00Z"}
                {"command":"purchase","member":"j1","purchaseId":"jp1","amount":"20.00","store":"S1","occurredAt":"2026-01-02T00:00:00Z"}
                {"command":"redeem","member":"j1","points":100000,"redemptionId":"jr1","occurredAt":"2026-01-03T00:00:00Z"}
                """#
            let r = try await client.send(.post, "/v1/imports", body: body, contentType: "application/x-ndjson")
            #expect(r.status == .ok, "\(r.text)")
            #expect(r.jsonLines.contains { $0["kind"] == .string("refused") && $0["line"] == .int(3) }, "\(r.text)")
            #expect(r.jsonLines.last?["written"] == .int(2), "\(r.text)")
        }
    }

    @Test func importErrorsAre400_413_415() async throws {
        var configuration = ServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.importBodyBytesMax = 64
        try await withServer(configuration: configuration) { client, _ in
            let json = #"{"command":"enroll","member":"j1","store":"S1"}"#
            let type = try await client.send(.post, "/v1/imports", body: json, contentType: "application/json")
            #expect(type.status == .unsupportedMediaType && type.problemType == "/problems/unsupported-media-type")
            let mismatch = try await client.send(.post, "/v1/imports", body: json, contentType: "text/csv")
            #expect(mismatch.status == .badRequest && mismatch.problemType == "/problems/invalid-import", "\(mismatch.text)")
            let header = try await client.send(.post, "/v1/imports", body: "id,when\n1,2\n", contentType: "text/csv")
            #expect(header.status == .badRequest && header.problemType == "/problems/invalid-import")
            let key = try await client.send(.post, "/v1/imports", body: json, contentType: "application/x-ndjson", headers: [LedgerServerTestFields.idempotencyKey: "k1"])
            #expect(key.status == .badRequest && key.json?["field"] == .string("Idempotency-Key"))
            let large = try await client.send(.post, "/v1/imports", body: String(repeating: json + "\n", count: 4), contentType: "application/x-ndjson")
            #expect(large.status == .contentTooLarge && large.problemType == "/problems/body-too-large", "\(large.text)")
            let flag = try await client.send(.post, "/v1/imports?enrollUnknown=yes", body: json, contentType: "application/x-ndjson")
            #expect(flag.status == .badRequest && flag.json?["field"] == .string("enrollUnknown"))
        }
    }
}

enum LedgerServerTestFields {
    static let idempotencyKey = HTTPField.Name("Idempotency-Key") ?? .accept
}

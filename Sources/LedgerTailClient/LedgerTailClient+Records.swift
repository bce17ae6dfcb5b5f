import AsyncHTTPClient
import NIOCore

extension LedgerTailClient {
    /// One page of stored records (`GET /v1/records`, the replica's feed): the body as the server
    /// wrote it (a `RecordPage` of LedgerStore, decoded by the caller). The server answers at
    /// once when records follow `after`, else after at most `waitSeconds`. A refusal that asking
    /// again cannot mend (4xx) throws `TailClientError`; anything else may pass (retry it).
    public func recordPage(after: UInt64, limit: Int, waitSeconds: Int, bodyBytesMax: Int) async throws -> [UInt8] {
        var request = HTTPClientRequest(url: baseURL + "/v1/records?after=\(after)&limit=\(limit)&wait=\(waitSeconds)")
        request.headers.add(name: "Accept", value: "application/vnd.loyalty.records")
        authorize(&request)
        let response = try await http.execute(request, timeout: .seconds(Int64(waitSeconds) + 60))
        try await check(response)
        return Array(try await response.body.collect(upTo: bodyBytesMax).readableBytesView)
    }
}

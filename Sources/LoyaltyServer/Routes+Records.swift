import Hummingbird
import LedgerStore
import LoyaltyLedger
import NIOCore
import ServiceLifecycle

extension LedgerServer {
    /// Replication: `GET /v1/records?after=N&limit=M&wait=S` answers the stored records after N
    /// byte for byte with their chain hashes (`RecordPage`, `application/vnd.loyalty.records`),
    /// so that a replica (`loyalty replicate`) checks every hash against its own chain before it
    /// stores a record. Like the long poll, it answers at once when there are records, else
    /// after the first commit or after S seconds with none. Operator and auditor keys.
    func addRecordRoutes(to router: Router<ServerContext>) {
        router.get("/v1/records") { request, context in
            try Access.check(context.caller, .read)
            return try await self.recordPage(request)
        }
    }

    func recordPage(_ request: Request) async throws -> Response {
        _ = try QueryParameters(request, allowed: ["after", "limit", "wait"])  // refuses unknown names
        let after = try position(request, "after") ?? 0
        let limit = try integer(request, "limit", in: 1...RecordPage.recordsMax) ?? Self.recordsLimitDefault
        let wait = try integer(request, "wait", in: 0...configuration.longPollSecondsMax) ?? 0
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(wait))
        let log = app.log
        while true {
            guard let page = try log.encodedRecordPage(after: after, limit: limit) else {
                let head = try log.headPosition()
                throw Problem.invalidParameter("after", "position \(after) is past the head \(head): this ledger is behind its replica")
            }
            if page.count > 0 || clock.now >= deadline || Task.isShuttingDownGracefully {
                var headers = HTTPFields()
                headers[.contentType] = RecordPage.mediaType
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: page.bytes)))
            }
            // Only this process's commits signal: a read-only server (a replica serving
            // replicas) polls instead.
            let remaining = EventStream.milliseconds(clock.now.duration(to: deadline))
            let milliseconds = log.isWritable ? remaining : min(remaining, Self.readOnlyPollMilliseconds)
            await cancelWhenGracefulShutdown {
                await log.waitForCommit(after: after, timeoutMilliseconds: milliseconds)
            }
        }
    }

    /// Records a page holds when the request names no `limit`.
    static let recordsLimitDefault = 4_096
    /// How often a read-only server looks for records another process committed.
    static let readOnlyPollMilliseconds = 50
}

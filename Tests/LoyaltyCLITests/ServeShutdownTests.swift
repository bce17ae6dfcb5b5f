import AsyncHTTPClient
import Foundation
import LedgerStore
import LedgerTestSupport
import NIOCore
import Synchronization
import Testing

/// `loyalty serve` stopped by SIGTERM in the middle of a load: every command it acknowledged
/// (201) is in the log afterwards, the process exits 0, and the ledger opens again.
@Suite struct ServeShutdownTests {
    @Test func aGracefulShutdownUnderLoadLosesNoAcknowledgedCommand() async throws {
        let dir = try TemporaryDirectory.withLedger()
        let enrolled = try runTool("loyalty", ["enroll", "m1", "--store", "S1", "--ledger", dir.ledger, "--at", "2026-01-01"])
        #expect(enrolled.status == 0, "\(enrolled.err)")
        let server = try ServedLedger(ledger: dir.ledger, arguments: ["--no-jobs", "--insecure-no-auth"])
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let acknowledged = Acknowledged()
        let clients = 16
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for c in 0..<clients {
                tasks.addTask {
                    var n = 0
                    while true {
                        let id = "p\(c)-\(n)"
                        n += 1
                        var request = HTTPClientRequest(url: server.baseURL + "/v1/purchases")
                        request.method = .POST
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.body = .bytes(ByteBuffer(string: #"{"member":"m1","purchaseId":"\#(id)","amount":"1.00","store":"S1","occurredAt":"2026-02-01T10:00:00Z"}"#))
                        do {
                            let response = try await client.execute(request, timeout: .seconds(30))
                            _ = try await response.body.collect(upTo: 1 << 20)
                            if response.status == .created { acknowledged.ids.withLock { $0.append(id) } }
                            else if response.status != .serviceUnavailable { Issue.record("status \(response.status) for \(id)") }
                        } catch {
                            return  // the server stopped accepting: this client is done
                        }
                    }
                }
            }
            // Stop the server once the load is well under way.
            while acknowledged.ids.withLock({ $0.count }) < 300 { try await Task.sleep(for: .milliseconds(5)) }
            #expect(server.stop(signal: SIGTERM) == 0, "\(server.errors())")
            try await tasks.waitForAll()
        }
        try await client.shutdown()
        let acked = acknowledged.ids.withLock { $0 }
        #expect(acked.count >= 300)
        let log = try EventLog.open(path: dir.ledger)  // writable: only a writer's key table answers `position(ofKey:)`
        defer { log.close() }
        var missing: [String] = []
        for id in acked where try log.position(ofKey: "purchase:\(id)#0") == nil { missing.append(id) }
        #expect(missing.isEmpty, "acknowledged but not in the log: \(missing.prefix(10))")
        let verified = try runTool("loyalty", ["verify", "--ledger", dir.ledger])
        #expect(verified.status == 0, "\(verified.out) \(verified.err)")
    }
}

/// The purchase ids the server answered 201, from every client task.
final class Acknowledged: Sendable {
    let ids = Mutex<[String]>([])
}

import Foundation
import LedgerStore

/// The benchmark workload: purchase events with exactly 200-byte canonical JSON payloads, spread
/// over 100,000 members, each with a unique idempotency key like a till's (`till-17-000123456`).
enum Workload {
    static let members = 100_000

    /// Member ids, built once: `m-000042`.
    static let memberIds: [String] = (0..<members).map { id in
        "m-" + String(repeating: "0", count: 6 - String(id).count) + String(id)
    }

    static func member(_ n: Int) -> String { memberIds[(n &* 7_919) % members] }

    /// 1,024 distinct 200-byte payloads, built once: the benchmark measures the ledger, not the
    /// appender's string formatting (which cost as much as the append itself).
    static let payloads: [[UInt8]] = (0..<1_024).map { n in
        let amount = 150 + (n &* 37) % 49_850
        var text = #"{"amount":\#(amount),"currency":"EUR","lines":[{"amount":\#(amount),"category":"grocery"}],"purchaseId":"P\#(n)","store":"S\#(n % 200)","till":"T\#(n % 9)","note":""}"#
        let pad = 200 - text.utf8.count
        precondition(pad >= 0, "payload over 200 bytes")
        text = String(text.dropLast(2)) + String(repeating: "x", count: pad) + #""}"#
        precondition(text.utf8.count == 200)
        return Array(text.utf8)
    }

    static func draft(_ n: Int, source: Int = 17) -> EventDraft {
        EventDraft(type: "purchase.recorded", member: member(n), occurredAt: 1_795_515_330_000_000 + Int64(n),
                   data: payloads[n & 1_023], idempotencyKey: "till-\(source)-\(n)")
    }

    static func openFresh(durability: Durability = .full, lingerMicros: Int = 0) throws -> (EventLog, String) {
        let path = NSTemporaryDirectory() + "ledger-bench-" + UUID().uuidString
        var options = EventLogOptions()
        options.create = true
        options.lmdb.durability = durability
        options.lmdb.mapSizeBytes = 1 << 30
        options.commitLingerMicroseconds = lingerMicros
        return (try EventLog.open(path: path, options: options), path)
    }

    static func remove(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

    static func nowMicros() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1_000
    }

    static func peakMemoryBytes() -> Int {
        var usage = rusage()
        getrusage(0, &usage)  // RUSAGE_SELF
        return usage.ru_maxrss * 1024
    }

    static func directoryBytes(_ path: String) -> [String: Int] {
        var out: [String: Int] = [:]
        let root = URL(fileURLWithPath: path)
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.fileSizeKey]) else { return out }
        for case let url as URL in walker {
            if let size = try? url.resourceValues(forKeys: [.fileSizeKey]).fileSize {
                out[String(url.path.dropFirst(root.path.count + 1))] = size
            }
        }
        return out
    }
}

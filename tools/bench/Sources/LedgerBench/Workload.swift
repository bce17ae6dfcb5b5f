import Foundation
import LedgerStore

/// The benchmark workload: `purchase.recorded` events whose payloads are exactly 200 bytes of
/// realistic JSON (amount, currency, store, till, items), spread over 100,000 members
/// (`m-000042`), each event with its own idempotency key like a till's (`till-17-000123456`).
///
/// Payloads are built once (2,048 distinct ones) and shared by reference: the benchmark measures
/// the ledger, not the appender's string formatting. Keys are formatted per event (a heap string
/// each, as a real caller's would be).
enum Workload {
    static let memberCount = 100_000
    static let payloadBytes = 200
    static let eventType = "purchase.recorded"

    static let memberIds: [String] = (0..<memberCount).map { "m-" + zeroPadded($0, width: 6) }

    /// Event `n`'s member: a fixed permutation of n, so consecutive events hit different members.
    @inline(__always)
    static func member(_ n: Int) -> String { memberIds[(n &* 7_919) % memberCount] }

    static let payloads: [[UInt8]] = (0..<2_048).map(payload)

    /// A 200-byte purchase, e.g.
    /// `{"amount":4817,"currency":"EUR","store":"S-0042","till":17,"items":[{"sku":"SKU-30442","qty":2,"price":1208},...],"receipt":"R7f3a..."}`
    static func payload(_ n: Int) -> [UInt8] {
        var rng = SplitMix(seed: UInt64(n) &+ 0x5EED)
        let currencies = ["EUR", "GBP", "USD", "CHF"]
        let itemCount = 1 + Int(rng.next() % 2)
        var items: [String] = []
        var amount = 0
        for _ in 0..<itemCount {
            let qty = 1 + Int(rng.next() % 4)
            let price = 99 + Int(rng.next() % 4_900)
            amount += qty * price
            items.append(#"{"sku":"SKU-\#(10_000 + rng.next() % 90_000)","qty":\#(qty),"price":\#(price)}"#)
        }
        let head = #"{"amount":\#(amount),"currency":"\#(currencies[n % 4])","store":"S-\#(zeroPadded(n % 500, width: 4))","till":\#(n % 40),"items":[\#(items.joined(separator: ","))],"receipt":""#
        let tail = #""}"#
        let room = payloadBytes - head.utf8.count - tail.utf8.count
        precondition(room >= 8, "payload head too long: \(head)")
        var receipt = ""
        while receipt.utf8.count < room { receipt += String(rng.next(), radix: 16) }
        let text = head + receipt.prefix(room) + tail
        precondition(text.utf8.count == payloadBytes)
        return Array(text.utf8)
    }

    /// `till-17-000123456`: 17 bytes, unique per n (n below 10^9 per till).
    @inline(__always)
    static func idempotencyKey(_ n: Int) -> String {
        "till-" + zeroPadded(n % 40, width: 2) + "-" + zeroPadded(n, width: 9)
    }

    @inline(__always)
    static func draft(_ n: Int) -> EventDraft {
        EventDraft(type: eventType, member: member(n), occurredAt: 1_795_515_330_000_000 + Int64(n) * 1_000,
                   data: payloads[n & 2_047], idempotencyKey: idempotencyKey(n))
    }

    static func drafts(_ range: Range<Int>) -> [EventDraft] {
        var out: [EventDraft] = []
        out.reserveCapacity(range.count)
        for n in range { out.append(draft(n)) }
        return out
    }

    static func zeroPadded(_ value: Int, width: Int) -> String {
        var digits = [UInt8](repeating: UInt8(ascii: "0"), count: width)
        var v = value
        var i = width - 1
        while v > 0 && i >= 0 {
            digits[i] = UInt8(ascii: "0") + UInt8(v % 10)
            v /= 10
            i -= 1
        }
        return String(decoding: digits, as: UTF8.self)
    }

    // MARK: Ledgers

    /// A fresh ledger in a new temporary directory. The initial map is large (sparse, costs
    /// nothing) so that map growth is not part of what is measured.
    static func openFresh(durability: Durability = .full, lingerMicros: Int = 0) throws -> (EventLog, String) {
        let path = NSTemporaryDirectory() + "ledger-bench-" + UUID().uuidString
        var options = EventLogOptions()
        options.create = true
        options.lmdb.durability = durability
        options.lmdb.mapSizeBytes = 8 << 30
        options.commitLingerMicroseconds = lingerMicros
        let before = Set(Probe.threads().keys)
        let log = try EventLog.open(path: path, options: options)
        Probe.learnLedgerThreads(Set(Probe.threads().keys).subtracting(before))
        return (log, path)
    }

    static func remove(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

    /// Appends events [0, count) in batches (setup for read and tail).
    static func fill(_ log: EventLog, count: Int, batch: Int = 1_000) async throws {
        var n = 0
        while n < count {
            let end = min(n + batch, count)
            _ = try await log.append(drafts(n..<end))
            n = end
        }
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Wall-clock time in nanoseconds since the epoch (CLOCK_REALTIME, comparable with `recordedAt`).
@inline(__always)
func realtimeNanos() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

/// Monotonic nanoseconds (CLOCK_MONOTONIC).
@inline(__always)
func monotonicNanos() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

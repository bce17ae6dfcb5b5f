import Foundation
@_exported import LedgerTestSupport
@testable import LedgerStore

/// A new writable ledger at `path` holding `count` small events (batches of 100).
func ledgerWithEvents(_ path: String, count: Int) async throws -> EventLog {
    var options = EventLogOptions()
    options.create = true
    let log = try EventLog.open(path: path, options: options)
    try await appendEvents(log, from: 1, count: count)
    return log
}

func appendEvents(_ log: EventLog, from first: Int, count: Int) async throws {
    var n = first
    while n < first + count {
        let batch = (n..<min(first + count, n + 100)).map { i in
            EventDraft(type: "purchase.recorded", member: "M\(i % 17)", occurredAt: 1_795_515_330_000_000 + Int64(i),
                       data: Array(#"{"amount":\#(1000 + i)}"#.utf8), idempotencyKey: "k-\(i)")
        }
        _ = try await log.append(batch)
        n += batch.count
    }
}

/// Overwrites one byte of the stored record at `position` in place (same length), as an attacker
/// with write access to data.mdb could: a digit of the payload changes.
func tamper(_ log: EventLog, position: UInt64) throws {
    let key = ByteCoding.positionKey(position)
    try log.store.env.write { txn throws in
        guard var record = try txn.value(log.store.events, key: key) else { fatalError("no event at \(position)") }
        let digit = record.lastIndex { (0x31...0x38).contains($0) }!
        record[digit] += 1
        try txn.put(log.store.events, key: key, value: record)
    }
}


import Foundation
@testable import LedgerStore

/// A fresh temporary directory per test, removed at the end.
struct TemporaryDirectory: ~Copyable {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "proofs-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    var ledger: String { path + "/ledger" }
}

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

/// A built executable of this package, next to the test bundle.
func builtExecutable(_ name: String) -> String {
    let candidates = [
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name).path,
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/\(name)").path,
    ]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
}

/// Runs a built executable to completion; returns exit code, stdout, stderr.
@discardableResult
func runTool(_ name: String, _ arguments: [String], input: String = "") throws -> (status: Int32, out: String, err: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: builtExecutable(name))
    process.arguments = arguments
    let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    stdin.fileHandleForWriting.write(Data(input.utf8))
    try stdin.fileHandleForWriting.close()
    let out = stdout.fileHandleForReading.readDataToEndOfFile()
    let err = stderr.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
}

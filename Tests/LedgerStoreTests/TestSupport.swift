import Foundation
@testable import LedgerStore

/// A fresh temporary directory per test, removed at the end (GRDB's GRDBTestCase habit).
struct TemporaryDirectory: ~Copyable {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "ledger-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    var ledger: String { path + "/ledger" }
}

func openLog(_ path: String, create: Bool = true, writable: Bool = true,
             configure: (inout EventLogOptions) -> Void = { _ in }) throws -> EventLog {
    var options = EventLogOptions()
    options.create = create
    options.writable = writable
    configure(&options)
    return try EventLog.open(path: path, options: options)
}

func draft(_ member: String, _ type: String = "purchase.recorded", key: String? = nil, expected: UInt64? = nil,
           data: String = #"{"amount":1250}"#, at occurredAt: Int64 = 1_795_515_330_000_000) -> EventDraft {
    EventDraft(type: type, member: member, occurredAt: occurredAt, data: Array(data.utf8),
               idempotencyKey: key, expectedVersion: expected)
}

/// A built executable of this package (`loyalty`, `ledger-torture`), next to the test bundle.
func builtExecutable(_ name: String) -> String {
    let candidates = [
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name).path,
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/\(name)").path,
    ]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
}

/// Runs a built executable to completion, feeding `input`; returns exit code, stdout, stderr.
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

/// Reads every event of a log in order.
func allEvents(_ log: EventLog) throws -> [RecordedEvent] {
    var out: [RecordedEvent] = []
    while true {
        let batch = try log.events(after: out.last?.position ?? 0, limit: 4096)
        if batch.isEmpty { return out }
        out += batch
    }
}

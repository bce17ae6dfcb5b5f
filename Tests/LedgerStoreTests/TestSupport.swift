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

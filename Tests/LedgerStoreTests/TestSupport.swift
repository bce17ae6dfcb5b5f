import Foundation
@_exported import LedgerTestSupport
@testable import LedgerStore

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

/// Reads every event of a log in order.
func allEvents(_ log: EventLog) throws -> [RecordedEvent] {
    var out: [RecordedEvent] = []
    while true {
        let batch = try log.events(after: out.last?.position ?? 0, limit: 4096)
        if batch.isEmpty { return out }
        out += batch
    }
}

import Foundation

/// Size and shape of a ledger, for `loyalty stats`.
public struct LedgerStats: Sendable, Codable {
    public var format: String
    public var headPosition: UInt64
    public var headHash: String
    public var eventCount: UInt64
    public var memberCount: Int
    public var indexedThrough: UInt64
    public var logFileBytes: Int
    public var indexFileBytes: Int
    public var fileBytes: Int
    public var mapSizeBytes: Int
    public var mapUsedBytes: Int
    /// Bytes on disk per event, every index included (nil for an empty log).
    public var bytesPerEvent: Int?
}

extension EventLog {
    /// The log's map: its size and the bytes its pages in use take (cheap: one read of the
    /// environment's info; for metrics).
    public func mapUsage() throws -> (sizeBytes: Int, usedBytes: Int) {
        let usage = try store.env.usage()
        return (usage.mapSizeBytes, usage.usedPages * usage.pageSizeBytes)
    }

    public func stats() throws -> LedgerStats {
        let head = try self.head()
        let map = try mapUsage()
        let logBytes = fileSize(path + "/data.mdb")
        let indexBytes = fileSize(path + "/index/data.mdb") + fileSize(path + "/index/keys.table")
        var memberCount = 0
        var through: UInt64 = 0
        if let index {
            (through, memberCount) = try index.env.read { txn in
                (try index.indexedThrough(txn), try txn.entryCount(index.members))
            }
            // Members first seen after the index snapshot (at most one flush interval of events).
            var seen = Set<String>()
            var position = through
            while position < head.position {
                let batch = try events(after: position, limit: LogLimits.readBatchEventsMax)
                guard let last = batch.last else { break }
                for event in batch where !seen.contains(event.member) {
                    seen.insert(event.member)
                    let known = try index.env.read { txn in try index.memberHead(txn, member: event.member) }
                    if known == nil { memberCount += 1 }
                }
                position = last.position
            }
        } else {
            var members = Set<String>()
            var position: UInt64 = 0
            while true {
                let batch = try events(after: position, limit: LogLimits.readBatchEventsMax)
                guard let last = batch.last else { break }
                for event in batch { members.insert(event.member) }
                position = last.position
            }
            memberCount = members.count
        }
        return LedgerStats(
            format: LogStore.format, headPosition: head.position, headHash: head.hash.hex, eventCount: head.position,
            memberCount: memberCount, indexedThrough: through, logFileBytes: logBytes, indexFileBytes: indexBytes,
            fileBytes: logBytes + indexBytes, mapSizeBytes: map.sizeBytes, mapUsedBytes: map.usedBytes,
            bytesPerEvent: head.position == 0 ? nil : (logBytes + indexBytes) / Int(head.position))
    }

    private func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }
}

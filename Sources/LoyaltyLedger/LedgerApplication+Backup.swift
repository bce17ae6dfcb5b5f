import Foundation
public import LedgerStore

/// A verified backup: what was copied.
public struct BackupReport: Sendable {
    public var eventCount: UInt64
    public var bytes: Int
    public var head: LogHead
}

extension LedgerApplication {
    /// A compacting copy of the log into `destination` (new, or an empty directory), then a full
    /// verify of the copy, whose head must be the log's state at one moment of the copy, hash for
    /// hash. Safe beside a writer (one consistent LMDB snapshot). Only data.mdb is copied: index/
    /// and merkle/ are derived and rebuild from the log on first use. `problems` gets each
    /// problem the copy's verify found before the error.
    public func backup(to destination: String, problems: (String) -> Void = { _ in }) throws -> BackupReport {
        let files = try? FileManager.default.contentsOfDirectory(atPath: destination)
        if let files, !files.isEmpty { throw ApplicationError("\(destination) is not empty: a backup goes into a new or empty directory") }
        if files == nil {
            if FileManager.default.fileExists(atPath: destination) { throw ApplicationError("\(destination) exists and is not a directory") }
            try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)
        }
        let before = try log.headPosition()
        try log.copyLogCompacting(to: destination)
        let after = try log.headPosition()
        var copyOptions = EventLogOptions()
        copyOptions.writable = false
        let copy = try EventLog.open(path: destination, options: copyOptions)
        defer { copy.close() }
        let report = try copy.verify()
        guard report.isValid else {
            for problem in report.problems { problems("\(problem)") }
            throw ApplicationError("backup failed verification: first bad position \(report.firstBadPosition.map(String.init) ?? "n/a")")
        }
        let head = report.head
        guard (before...after).contains(head.position), try log.chainHash(at: head.position) == head.hash else {
            throw ApplicationError("backup head \(head.position) \(head.hash.hex) is not the ledger's state between positions \(before) and \(after)")
        }
        let bytes = (try? FileManager.default.attributesOfItem(atPath: destination + "/data.mdb")[.size] as? Int) ?? 0
        return BackupReport(eventCount: UInt64(report.eventCount), bytes: bytes, head: head)
    }
}

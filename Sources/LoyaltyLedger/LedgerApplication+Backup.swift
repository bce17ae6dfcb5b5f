import Foundation
public import LedgerStore

/// A verified backup: what was copied.
public struct BackupReport: Sendable {
    public var eventCount: UInt64
    public var bytes: Int
    public var head: LogHead
    /// The files of `alsoCopying` that existed and were copied (relative paths).
    public var copiedFiles: [String] = []
}

extension LedgerApplication {
    /// A compacting copy of the log into `destination` (new, or an empty directory), then a full
    /// verify of the copy, whose head must be the log's state at one moment of the copy, hash for
    /// hash. Safe beside a writer (one consistent LMDB snapshot). Only data.mdb is copied: index/
    /// and merkle/ are derived and rebuild from the log on first use. `alsoCopying` names files
    /// relative to the ledger directory that are not derived from the log (a front end's own
    /// state, such as the server's API keys): each that exists is copied after the log, with its
    /// permission bits. `problems` gets each problem the copy's verify found before the error.
    public func backup(to destination: String, alsoCopying: [String] = [], problems: (String) -> Void = { _ in }) throws -> BackupReport {
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
        var backup = BackupReport(eventCount: UInt64(report.eventCount), bytes: bytes, head: head)
        backup.copiedFiles = try copyFiles(alsoCopying, to: destination)
        return backup
    }

    /// Copies each of `relativePaths` that exists under the ledger into `destination` (creating
    /// its folders with mode 0700), keeping the file's permission bits; returns those copied.
    private func copyFiles(_ relativePaths: [String], to destination: String) throws -> [String] {
        let files = FileManager.default
        var copied: [String] = []
        for relative in relativePaths {
            guard !relative.isEmpty, !relative.hasPrefix("/"), !relative.split(separator: "/").contains("..") else {
                throw ApplicationError("backup: '\(relative)' is not a path inside the ledger")
            }
            let source = path + "/" + relative, target = destination + "/" + relative
            guard files.fileExists(atPath: source) else { continue }
            let folder = (target as NSString).deletingLastPathComponent
            try files.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            do {
                try files.copyItem(atPath: source, toPath: target)
                if let mode = try files.attributesOfItem(atPath: source)[.posixPermissions] {
                    try files.setAttributes([.posixPermissions: mode], ofItemAtPath: target)
                }
            } catch {
                throw ApplicationError("backup: cannot copy \(relative): \(error.localizedDescription)")
            }
            copied.append(relative)
        }
        return copied
    }
}

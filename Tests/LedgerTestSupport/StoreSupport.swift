import Foundation
public import LedgerStore

// Helpers of the tests that open logs themselves (store, proofs, CLI): one copy for every target.

public func openLog(_ path: String, create: Bool = true, writable: Bool = true,
             configure: (inout EventLogOptions) -> Void = { _ in }) throws -> EventLog {
    var options = EventLogOptions()
    options.create = create
    options.writable = writable
    configure(&options)
    return try EventLog.open(path: path, options: options)
}

public func draft(_ member: String, _ type: String = "purchase.recorded", key: String? = nil, expected: UInt64? = nil,
           data: String = #"{"amount":1250}"#, at occurredAt: Int64 = 1_795_515_330_000_000) -> EventDraft {
    EventDraft(type: type, member: member, occurredAt: occurredAt, data: Array(data.utf8),
               idempotencyKey: key, expectedVersion: expected)
}

/// Reads every event of a log in order.
public func allEvents(_ log: EventLog) throws -> [RecordedEvent] {
    var out: [RecordedEvent] = []
    while true {
        let batch = try log.events(after: out.last?.position ?? 0, limit: 4096)
        if batch.isEmpty { return out }
        out += batch
    }
}

/// Runs `command` with /bin/sh, its output discarded; true when it exits 0.
@discardableResult
public func shell(_ command: String) -> Bool {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", command]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return false }
    process.waitUntilExit()
    return process.terminationStatus == 0
}

/// A tmpfs of `size` (`mount -o size=`, e.g. "4m") mounted at a new folder in `dir`, for the
/// full-disk tests; nil, with the reason printed, where this process may not mount one (not root,
/// or no CAP_SYS_ADMIN in a container). The caller unmounts it (`shell("umount '\(path)'")`).
public func smallTmpfs(in dir: String, size: String) throws -> String? {
    guard getuid() == 0 else {
        print("skipped: mounting a small tmpfs needs root")
        return nil
    }
    let mountPoint = dir + "/small"
    try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
    guard shell("mount -t tmpfs -o size=\(size) tmpfs '\(mountPoint)'") else {
        print("skipped: mount -t tmpfs failed (no CAP_SYS_ADMIN in this container?)")
        return nil
    }
    return mountPoint
}

import Foundation
import Testing
@testable import LedgerStore

/// The key table on a full disk and with crafted files, in process (a SIGBUS here ends the test run).
@Suite(.serialized) struct KeyTableDamageTests {
    /// Doubling the table on a disk without room for the new file is ENOSPC, and the table keeps
    /// answering: blocks are allocated before the file is mapped, so no store lands in a hole.
    @Test(.timeLimit(.minutes(1))) func growingOnAFullDiskIsENOSPCNotSIGBUS() throws {
        let dir = TemporaryDirectory()
        guard let small = try smallTmpfs(in: dir.path, size: "1m") else { return }
        defer { shell("umount '\(small)'") }
        let table = try #require(try KeyTable.open(path: small + "/keys.table", writable: true, logHead: 0))
        let first = (1...40_000).map { (hash: KeyHash.of("k\($0)"), position: UInt64($0)) }
        try table.insert(first)
        // Past 3/4 of 2^16 slots: the table doubles into a 1 MiB file, which does not fit.
        let more = (40_001...60_000).map { (hash: KeyHash.of("k\($0)"), position: UInt64($0)) }
        let error = #expect(throws: LedgerError.self) { try table.insert(more) }
        if case .io(_, let code) = error { #expect(code == ENOSPC) } else { Issue.record("expected ENOSPC, got \(String(describing: error))") }
        #expect(table.slotCount == 1 << 16 && table.entryCount == 40_000)
        var found: [UInt64] = []
        table.candidates(hash: KeyHash.of("k777"), into: &found)
        #expect(found.contains(777))
        #expect(!FileManager.default.fileExists(atPath: small + "/keys.table.grow"), "the partial file is removed")
    }

    @Test func headersTheLogCannotNeedAreRefused() throws {
        let dir = TemporaryDirectory()
        let path = dir.path + "/keys.table"
        _ = try #require(try KeyTable.open(path: path, writable: true, logHead: 0))
        #expect(KeyTable.slotBitsMax(logHead: 0) == 16 && KeyTable.slotBitsMax(logHead: 16_384) == 16)
        #expect(KeyTable.slotBitsMax(logHead: 16_385) == 17 && KeyTable.slotBitsMax(logHead: .max) == 36)
        // Claims 2^20 slots (file size to match) for a log of 10 events.
        let fd = open(path, O_RDWR)
        var bits: UInt8 = 20
        #expect(pwrite(fd, &bits, 1, 8) == 1 && ftruncate(fd, off_t(4096 + 8 << 20)) == 0)
        close(fd)
        #expect(throws: LedgerError.self) { try KeyTable.open(path: path, writable: false, logHead: 10) }
        #expect(try KeyTable.open(path: path, writable: false, logHead: 300_000)?.slotCount == 1 << 20)
    }
}

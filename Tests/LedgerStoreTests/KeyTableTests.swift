import Foundation
import Testing
@testable import LedgerStore

@Suite struct KeyTableTests {
    @Test func growsAndFindsEveryEntryAndReinsertIsANoOp() throws {
        let dir = TemporaryDirectory()
        let table = try #require(try KeyTable.open(path: dir.path + "/keys.table", writable: true))
        #expect(table.slotCount == 1 << KeyTable.slotBitsInitial)
        let entries = (1...200_000).map { (hash: KeyHash.of("key-\($0)"), position: UInt64($0)) }
        for chunk in stride(from: 0, to: entries.count, by: 50_000) {
            try table.insert(Array(entries[chunk..<(chunk + 50_000)]))
        }
        #expect(table.entryCount == 200_000)
        #expect(table.slotCount >= 200_000 * 4 / 3, "load stays at or under 3/4")
        try table.insert(Array(entries[0..<1000]))
        #expect(table.entryCount == 200_000, "re-inserting after a crash adds nothing")
        for e in entries where e.position % 97 == 0 {
            var found: [UInt64] = []
            table.candidates(hash: e.hash, into: &found)
            #expect(found.contains(e.position))
        }
        var none: [UInt64] = []
        table.candidates(hash: KeyHash.of("never-inserted"), into: &none)
        #expect(none.allSatisfy { entries[Int($0) - 1].hash >> 40 == KeyHash.of("never-inserted") >> 40 })
        // Survives reopen with the same content.
        let again = try #require(try KeyTable.open(path: dir.path + "/keys.table", writable: false))
        #expect(again.entryCount == 200_000 && again.slotCount == table.slotCount)
    }

    @Test func verifyCatchesATamperedKeyTableSlot() async throws {
        let dir = TemporaryDirectory()
        do {
            let log = try openLog(dir.ledger)
            for i in 0..<100 { _ = try await log.append(draft("m\(i % 4)", key: "k\(i)")) }
            log.close()
        }
        // Point one slot at an event whose key has another fingerprint.
        let path = dir.ledger + "/index/keys.table"
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let slot = try #require(stride(from: KeyTable.headerBytes, to: bytes.count, by: 8).first { i in bytes[i..<(i + 8)].contains { $0 != 0 } })
        bytes[slot] ^= 0x01  // flips a fingerprint bit
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let log = try openLog(dir.ledger, writable: false)
        let report = try log.verify()
        #expect(report.problems.contains { $0.what.contains("idempotency") }, "\(report.problems)")
    }
}

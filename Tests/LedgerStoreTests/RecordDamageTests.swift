import Foundation
import Testing
@testable import LedgerStore

/// The record decoder on damaged bytes: every single-bit flip, every truncation and every extension
/// of a stored record is either decoded (a flip inside a payload or a time) or refused with the
/// field that was wrong; it never traps.
@Suite struct RecordDamageTests {
    static let drafts = [
        EventDraft(type: "purchase.recorded", member: "M-1", occurredAt: 1_770_000_000_000_000,
                   data: Array(#"{"amount":"12.50","store":"S1"}"#.utf8), idempotencyKey: "purchase:P1#0"),
        EventDraft(type: "member.enrolled", schemaVersion: 300, member: "Zoë", occurredAt: -5, data: []),
    ]

    @Test func everyFlippedBitIsDecodedOrRefusedByField() {
        for (n, draft) in Self.drafts.enumerated() {
            var record: [UInt8] = []
            EventRecord.encode(draft, recordedAt: 1_770_000_000_000_001, version: 3, previousDelta: 2, into: &record)
            var refused = 0
            for i in record.indices {
                for bit in 0..<8 {
                    var damaged = record
                    damaged[i] ^= UInt8(1) << UInt8(bit)
                    do {
                        _ = try damaged.withUnsafeBytes { try EventRecord.decode(position: 10, $0) }
                        _ = try damaged.withUnsafeBytes { try EventRecord.link(position: 10, $0) }
                    } catch {
                        refused += 1
                        let decoding = error as? RecordDecodingError
                        #expect(decoding.map { !$0.field.isEmpty && !$0.reason.isEmpty } == true, "draft \(n) byte \(i) bit \(bit): \(error)")
                    }
                }
            }
            #expect(refused > 0, "draft \(n): some flips are refused")
        }
    }

    @Test func everyTruncationAndExtensionIsRefused() {
        var record: [UInt8] = []
        EventRecord.encode(Self.drafts[0], recordedAt: 1, version: 1, previousDelta: 0, into: &record)
        for length in 0..<record.count {
            let cut = Array(record[0..<length])
            #expect(throws: RecordDecodingError.self, "\(length) of \(record.count) bytes") {
                try cut.withUnsafeBytes { try EventRecord.decode(position: 1, $0) }
            }
        }
        for extra in [[UInt8(0)], [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]] {
            let longer = record + extra
            #expect(throws: RecordDecodingError.self) { try longer.withUnsafeBytes { try EventRecord.decode(position: 1, $0) } }
        }
    }

    /// A stored record the decoder refuses reaches every reader as `corrupt` naming the position.
    @Test(.timeLimit(.minutes(1))) func aDamagedStoredRecordNamesItsPosition() async throws {
        let dir = TemporaryDirectory()
        do {
            let log = try openLog(dir.ledger)
            _ = try await log.append([draft("m1", key: "k1"), draft("m2", key: "k2")])
            // Overwrite record 2 with a record of an unknown format (through the log's own environment).
            try log.store.env.write { txn in try txn.put(log.store.events, key: ByteCoding.positionKey(2), value: [9, 0]) }
            log.close()
        }
        let log = try openLog(dir.ledger, create: false, writable: false)
        #expect(throws: LedgerError.corrupt(position: 2, reason: "format: unknown record format 9")) { try log.events(after: 0, limit: 10) }
        let report = try log.verify()
        #expect(report.firstBadPosition == 2)
    }
}

import Foundation
import LedgerJSON
import Testing
@testable import LedgerStore
@testable import LoyaltyDomain

/// The stored record (the log's binary form, at position 1 of a fresh stream) of every event
/// type's golden JSON (schemas/events/fixtures/<type>.json, checked against the domain's samples
/// by LoyaltyDomainTests' `GoldenTests`) must equal <type>.record.hex. Run with
/// LEDGER_UPDATE_GOLDEN=1 to rewrite the records after a deliberate format change.
@Suite struct GoldenRecordTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("schemas/events/fixtures")
    static let at = Timestamp(rfc3339: "2026-03-15T10:30:00Z") ?? Timestamp(microseconds: 0)

    @Test(arguments: DomainEvent.allTypes)
    func binaryFormsMatchTheFixtures(_ type: String) throws {
        let json = Array(try Data(contentsOf: Self.fixtures.appendingPathComponent("\(type).json")).dropLast())  // newline
        let event = try DomainEvent.decode(type: type, schemaVersion: 1, json: try JSONCanonical.parse(utf8: json))
        var record: [UInt8] = []
        EventRecord.encode(EventDraft(type: type, schemaVersion: DomainEvent.schemaVersion, member: event.stream,
                                      occurredAt: Self.at.microseconds, data: json, idempotencyKey: "golden-\(type)"),
                           recordedAt: Self.at.microseconds + 1_000, version: 1, previousDelta: 0, into: &record)
        let hex = record.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        let hexURL = Self.fixtures.appendingPathComponent("\(type).record.hex")
        if ProcessInfo.processInfo.environment["LEDGER_UPDATE_GOLDEN"] == "1" { try Data((hex + "\n").utf8).write(to: hexURL) }
        #expect(try String(contentsOf: hexURL, encoding: .utf8) == hex + "\n", "\(type): record differs")
        let stored = try record.withUnsafeBytes { try EventRecord.decode(position: 1, $0) }
        #expect(stored.data == json && stored.type == type && stored.member == event.stream)
    }
}

import Foundation
import Testing
@testable import LedgerStore

/// The log's `neutralised` table: written with its correcting event in one transaction, read
/// back as a flag on every event read path, checked by `verifyNeutralisations`.
@Suite struct NeutraliseStoreTests {
    func correcting(_ n: UInt64, member: String = "m1") -> EventDraft {
        EventDraft(type: Neutralisation.eventType, member: member, occurredAt: 1_795_515_330_000_000,
                   data: Array(#"{"fault":"f","operator":"o","position":\#(n),"reason":"r","type":"purchase.recorded"}"#.utf8),
                   idempotencyKey: Neutralisation.idempotencyKey(neutralising: n))
    }

    @Test func theCorrectingEventAndItsEntryAreWrittenTogetherAndEveryReadPathCarriesTheFlag() async throws {
        let dir = TemporaryDirectory()
        let log = try openLog(dir.ledger)
        defer { log.close() }
        _ = try await log.append([draft("m1"), draft("m2"), draft("m1")])
        #expect(try log.neutralisedPositions().isEmpty)
        let written = try await log.appendNeutralisation(correcting(2, member: "m2"), neutralising: 2)
        #expect(written.position == 4)
        #expect(try log.neutralisedPositions() == [2: 4])
        #expect(try log.events(after: 0, limit: 10).map(\.neutralisedBy) == [nil, 4, nil, nil])
        #expect(try log.event(at: 2)?.neutralisedBy == 4)
        #expect(try log.stream(member: "m2").map(\.neutralisedBy) == [4, nil])
        #expect(try log.events(at: [2, 3]).map(\.neutralisedBy) == [4, nil])
        var viewed: [UInt64?] = []
        try log.forEachEvent(after: 0, limit: 10) { viewed.append($0.neutralisedBy) }
        #expect(viewed == [nil, 4, nil, nil])
        var partitioned: [UInt64?] = []
        _ = try log.forEachEvent(after: 0, limit: 10, where: { _ in true }) { partitioned.append($0.neutralisedBy) }
        #expect(partitioned == [nil, 4, nil, nil])
        let checked = try log.verifyNeutralisations()
        #expect(checked.problems.isEmpty && checked.neutralisations.map(\.position) == [2] && checked.neutralisations.map(\.by) == [4])
    }

    @Test func aRefusedNeutralisationWritesNeitherTheEventNorTheEntry() async throws {
        let dir = TemporaryDirectory()
        let log = try openLog(dir.ledger)
        defer { log.close() }
        _ = try await log.append([draft("m1"), draft("m1")])
        for n: UInt64 in [0, 3, 99] {
            await #expect(throws: LedgerError.self) { try await log.appendNeutralisation(correcting(n), neutralising: n) }
        }
        _ = try await log.appendNeutralisation(correcting(1), neutralising: 1)
        await #expect(throws: LedgerError.self) { try await log.appendNeutralisation(correcting(1), neutralising: 1) }
        // A draft that is not a correcting event for that position.
        await #expect(throws: LedgerError.self) { try await log.appendNeutralisation(correcting(1), neutralising: 2) }
        #expect(try log.headPosition() == 3)
        #expect(try log.neutralisedPositions() == [1: 3])
    }

    @Test func theTableSurvivesReopeningAndAReadOnlyOpenSeesIt() async throws {
        let dir = TemporaryDirectory()
        do {
            let log = try openLog(dir.ledger)
            _ = try await log.append([draft("m1")])
            _ = try await log.appendNeutralisation(correcting(1), neutralising: 1)
            log.close()
        }
        let reader = try openLog(dir.ledger, create: false, writable: false)
        #expect(try reader.neutralisedPositions() == [1: 2])
        #expect(try reader.events(after: 0, limit: 10).map(\.neutralisedBy) == [2, nil])
    }

    @Test func verifyFindsACorrectingEventWithoutItsEntry() async throws {
        let dir = TemporaryDirectory()
        let log = try openLog(dir.ledger)
        defer { log.close() }
        _ = try await log.append([draft("m1")])
        // Appended as a plain event (what raw `append` refuses): no table entry.
        _ = try await log.append([correcting(1)])
        let checked = try log.verifyNeutralisations()
        #expect(checked.problems.map(\.position) == [2] && checked.neutralisations.isEmpty, "\(checked.problems)")
    }
}

import Foundation
import Testing
@testable import LedgerStore

/// The actor of an event (flags bit 1, a string after the idempotency key): stored, hashed into
/// the chain and read back; records without it read as before; it is not part of the
/// idempotency comparison.
@Suite struct ActorRecordTests {
    @Test func anActorIsStoredAndReadBackAndRecordsWithoutOneStillRead() async throws {
        let dir = TemporaryDirectory()
        let log = try openLog(dir.ledger)
        defer { log.close() }
        var withActor = draft("m1", key: "k1")
        withActor.actor = "till-7"
        _ = try await log.append([draft("m1"), withActor, draft("m2", key: "k2")])
        let events = try log.events(after: 0, limit: 10, withHashes: true)
        #expect(events.map(\.actor) == [nil, "till-7", nil])
        #expect(events.map(\.idempotencyKey) == [nil, "k1", "k2"])
        #expect(try log.event(at: 2)?.actor == "till-7")
        #expect(try log.verify().firstBadPosition == nil)
    }

    @Test func theRecordCarriesTheActorAfterTheKeyUnderFlagBit1() throws {
        var plain: [UInt8] = [], keyed: [UInt8] = [], acted: [UInt8] = []
        let base = EventDraft(type: "t", member: "m", occurredAt: 0, data: [0x7B, 0x7D])
        EventRecord.encode(base, recordedAt: 1, version: 1, previousDelta: 0, into: &plain)
        var k = base
        k.idempotencyKey = "k"
        EventRecord.encode(k, recordedAt: 1, version: 1, previousDelta: 0, into: &keyed)
        var a = k
        a.actor = "ops"
        EventRecord.encode(a, recordedAt: 1, version: 1, previousDelta: 0, into: &acted)
        #expect(plain[1] == 0x00 && keyed[1] == 0x01 && acted[1] == 0x03)
        // The same bytes as the keyed record, with the length-prefixed actor before the data.
        #expect(acted.count == keyed.count + 4)
        #expect(Array(acted[(keyed.count - 3)..<(keyed.count + 1)]) == [3] + Array("ops".utf8))
        let decoded = try acted.withUnsafeBytes { try EventRecord.decode(position: 1, $0) }
        #expect(decoded.actor == "ops" && decoded.idempotencyKey == "k" && decoded.data == [0x7B, 0x7D])
        // An unknown flag bit is still refused.
        var unknown = acted
        unknown[1] = 0x07
        #expect(throws: RecordDecodingError.self) { try unknown.withUnsafeBytes { try EventRecord.decode(position: 1, $0) } }
    }

    @Test func aBadActorIsRefusedWithItsField() async throws {
        let dir = TemporaryDirectory()
        let log = try openLog(dir.ledger)
        defer { log.close() }
        for bad in ["", "a\u{1}b", String(repeating: "x", count: LogLimits.actorBytesMax + 1)] {
            var d = draft("m1")
            d.actor = bad
            do {
                _ = try await log.append(d)
                Issue.record("actor '\(bad)' was accepted")
            } catch let LedgerError.invalidEvent(_, field, _) {
                #expect(field == "actor")
            }
        }
        #expect(try log.headPosition() == 0)
    }

    /// A retry of a keyed event by another actor is the same request: the original outcome,
    /// nothing written, the stored event keeps its first actor.
    @Test func aRetryByAnotherActorIsTheSameRequest() async throws {
        let dir = TemporaryDirectory()
        let log = try openLog(dir.ledger)
        defer { log.close() }
        var first = draft("m1", key: "k1")
        first.actor = "till-1"
        let original = try await log.append(first)
        var retry = first
        retry.actor = "ops"
        let again = try await log.append(retry)
        #expect(again.position == original.position)
        #expect(try log.headPosition() == 1)
        #expect(try log.event(at: 1)?.actor == "till-1")
    }
}

import Foundation
import LedgerStore
import LedgerTestSupport
import ProjectionTestSupport
import LoyaltyDomain
import Testing
@testable import Projections

/// Stored events a fold cannot apply (a debit from a lot the member does not have, a sum past 64
/// bits, a payload that does not decode) never trap a projection: it stops just before the event,
/// names its position, type and member, and the other projections and members go on.
@Suite struct BadEventTests {
    @Test(.timeLimit(.minutes(1)))
    func aDebitFromAnUnknownLotStopsBalancesBeforeItAndTheRestGoesOn() async throws {
        let dir = TemporaryDirectory()
        let log = try StoredEventDrafts.open(dir)
        defer { log.close() }
        _ = try await log.append([StoredEventDrafts.enrolled("A"), StoredEventDrafts.enrolled("B"), StoredEventDrafts.earned("A", lot: "P:a1", points: 10),
                                  StoredEventDrafts.redeemed("A", lot: "P:missing", points: 5, id: "R1")])
        _ = try await log.append([StoredEventDrafts.earned("B", lot: "P:b1", points: 7), StoredEventDrafts.purchased("B", id: "b1", amount: 700)])
        let p = try LedgerProjections(log: log)
        do {
            try p.catchUp()
            Issue.record("the catch-up should report the stop")
        } catch ProjectionError.stopped(let stops) {
            #expect(stops.map(\.projection) == [Balances.name])
            #expect(stops.first?.position == 4 && stops.first?.member == "A")
            #expect(stops.first?.description.contains("position 4 (points.redeemed, member A): allocation of 5 from lot 'P:missing'") == true,
                    "\(stops)")
        }
        let status = try p.status()
        let balances = try #require(status.first { $0.name == Balances.name })
        #expect(balances.checkpoint == 3, "the checkpoint stays before the event")
        #expect(balances.state.hasPrefix("stopped before position 4 (points.redeemed, member A)"), "\(balances.state)")
        for s in status where s.name != Balances.name { #expect(s.checkpoint == 6 && s.stop == nil, "\(s.name) went on") }
        // What was committed answers; again and again the same stop, never a trap.
        #expect(try p.balance("A", at: Timestamp(microseconds: StoredEventDrafts.at))?.available == 10)
        #expect(throws: ProjectionError.self) { try p.catchUp() }
        #expect(try p.stops().map(\.position) == [4])
        // A fresh fold of what was committed equals it.
        let d = try p.checkDeterminism(Balances.name)
        #expect(d.live == d.rebuilt && d.checkpoint == 3)
    }

    @Test(.timeLimit(.minutes(1)))
    func followingLiveCommitsGoesOnWithoutTheStoppedProjection() async throws {
        let dir = TemporaryDirectory()
        let log = try StoredEventDrafts.open(dir)
        defer { log.close() }
        _ = try await log.append([StoredEventDrafts.enrolled("A"), StoredEventDrafts.enrolled("B")])
        let p = try LedgerProjections(log: log)
        try p.catchUp()
        _ = try await log.append([StoredEventDrafts.redeemed("A", lot: "P:missing", points: 5, id: "R1"), StoredEventDrafts.purchased("B", id: "b1", amount: 100)])
        // `loyalty serve`'s steps: never a throw for the event, the others reach the head.
        for _ in 0 ..< 3 { _ = try p.follow { _, _ in } }
        p.drain()
        _ = try p.step()
        let status = Dictionary(uniqueKeysWithValues: try p.status().map { ($0.name, $0) })
        #expect(status[Balances.name]?.checkpoint == 2 && status[Balances.name]?.stop?.position == 3)
        #expect(status[MemberViews.name]?.checkpoint == 4 && status[ProgramFigures.name]?.checkpoint == 4)
        #expect(try p.memberView("B")?.purchaseCount == 1)
    }

    @Test(.timeLimit(.minutes(1)))
    func sumsPastSixtyFourBitsStopTheViewsAndFiguresNamingThePosition() async throws {
        let dir = TemporaryDirectory()
        let log = try StoredEventDrafts.open(dir)
        defer { log.close() }
        _ = try await log.append([StoredEventDrafts.enrolled("A"), StoredEventDrafts.enrolled("B"), StoredEventDrafts.purchased("A", id: "p1", amount: Int64.max),
                                  StoredEventDrafts.purchased("A", id: "p2", amount: 100), StoredEventDrafts.purchased("B", id: "p3", amount: 100),
                                  StoredEventDrafts.earned("A", lot: "P:x", points: Int64.max), StoredEventDrafts.earned("A", lot: "P:y", points: 1)])
        let p = try LedgerProjections(log: log)
        #expect(throws: ProjectionError.self) { try p.catchUp() }
        let stops = Dictionary(uniqueKeysWithValues: try p.stops().map { ($0.projection, $0) })
        #expect(stops[MemberViews.name]?.position == 4)
        #expect(stops[MemberViews.name]?.reason.contains("position 4 (purchase.recorded, member A): total spend") == true)
        #expect(stops[ProgramFigures.name]?.position == 4)
        #expect(stops[Balances.name]?.position == 7)
        #expect(stops[Balances.name]?.reason.contains("position 7 (points.earned, member A): earned") == true)
        #expect(try p.memberView("B")?.purchaseCount == 0, "B's purchase after the stop is not applied")
        #expect(try p.balance("A", at: Timestamp(microseconds: StoredEventDrafts.at))?.earned == Int64.max)
    }

    @Test(.timeLimit(.minutes(1)))
    func anUndecodablePayloadStopsEveryProjectionAtItsPosition() async throws {
        let dir = TemporaryDirectory()
        let log = try StoredEventDrafts.open(dir)
        defer { log.close() }
        _ = try await log.append([StoredEventDrafts.enrolled("A"), StoredEventDrafts.draft("points.earned", "A", #"{"points":"many"}"#), StoredEventDrafts.enrolled("B")])
        let p = try LedgerProjections(log: log)
        #expect(throws: ProjectionError.self) { try p.catchUp() }
        let stops = try p.stops()
        #expect(stops.count == LedgerProjections.names.count && stops.allSatisfy { $0.position == 2 && $0.member == "A" }, "\(stops)")
        #expect(stops.allSatisfy { $0.reason.hasPrefix("position 2 (points.earned, member A): does not decode") }, "\(stops)")
        for s in try p.status() { #expect(s.checkpoint == 1 && s.storedVersion != nil, "\(s.name): the build went live at 1") }
    }

    @Test(.timeLimit(.minutes(1)))
    func longIdsMakeBoundedKeys() async throws {
        let dir = TemporaryDirectory()
        let log = try StoredEventDrafts.open(dir)
        defer { log.close() }
        let store = String(repeating: "s", count: 600), member = String(repeating: "m", count: 250)
        _ = try await log.append([StoredEventDrafts.enrolled(member, store: store), StoredEventDrafts.purchased(member, id: "p1", amount: 100, store: store),
                                  StoredEventDrafts.earned(member, lot: "P:p1", points: 5)])
        let p = try LedgerProjections(log: log)
        try p.catchUp()
        #expect(try p.balance(member, at: Timestamp(microseconds: StoredEventDrafts.at))?.available == 5)
        #expect(try p.memberView(member)?.enrollmentStore == store)
        var keys: [String] = []
        for name in LedgerProjections.names {
            try p.store.scan(name, .live) { key, _ in keys.append(key) }
        }
        #expect(keys.allSatisfy { $0.utf8.count <= ProjectionKey.keyBytesMax }, "\(keys.map(\.utf8.count))")
        #expect(keys.contains("name/" + ProjectionKey.component(store)), "the full store id is kept for listing")
        _ = try expectDeterministic(p)
    }
}

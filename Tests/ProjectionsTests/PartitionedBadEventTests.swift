import Foundation
import LedgerStore
import LedgerTestSupport
import Testing
@testable import Projections

/// A partitioned catch-up (`PartitionedRun`) fails on the first bad event with nothing of the
/// failed stretch kept.
@Suite struct PartitionedBadEventTests {
    /// The shapes of LoyaltyCLITests' `PartitionedRunTests`: one partition, a prime window, more
    /// partitions than cores.
    static let shapes: [PartitionedRun.Shape] = [
        .init(partitions: 1, windowEvents: 64, buckets: 1, readEvents: 16),
        .init(partitions: 2, windowEvents: 37, buckets: 4, readEvents: 16),
        .init(partitions: 3, windowEvents: 1_000, buckets: 8, readEvents: 100),
    ]

    static let keyed = [Balances.name, MemberViews.name]

    @Test(.timeLimit(.minutes(1)))
    func aBadEventStopsTheRunAtTheFirstOneWithTheCommitsBeforeItKept() async throws {
        let dir = TemporaryDirectory()
        let log = try EventLog.open(path: dir.ledger, options: { var o = EventLogOptions(); o.create = true; return o }())
        defer { log.close() }
        // Two members in different partitions of two; each earns points, then redeems from a lot
        // it does not hold: first the member of partition 1, later the one of partition 0.
        let members = (0...).lazy.map { "M\($0)" }
        let m0 = try #require(members.first { Self.partition(of: $0, among: 2) == 0 })
        let m1 = try #require(members.first { Self.partition(of: $0, among: 2) == 1 })
        var drafts: [EventDraft] = []
        for m in [m0, m1] { drafts.append(Self.enrolled(m)) }
        for i in 0..<300 {
            for m in [m0, m1] { drafts.append(Self.earned(m, lot: "P:\(m)-\(i)", points: 10)) }
        }
        drafts.append(Self.redeemed(m1, lot: "P:missing", points: 5))
        let firstBad = UInt64(drafts.count)
        for i in 0..<50 { drafts.append(Self.earned(m0, lot: "P:late-\(i)", points: 1)) }
        drafts.append(Self.redeemed(m0, lot: "P:missing", points: 5))
        try await append(log, drafts)

        for shape in Self.shapes + [.init(partitions: 2)] {
            try? FileManager.default.removeItem(atPath: dir.ledger + "/projections")
            let p = try LedgerProjections(log: log)
            p.partitionShape = shape
            p.eventsPerStep = 50
            p.rebuildCommitEvents = 100
            do {
                try p.rebuild(Self.keyed)
                Issue.record("the rebuild should report the stop")
            } catch ProjectionError.stopped(let stops) {
                #expect(stops.map(\.projection) == [Balances.name] && stops.first?.position == firstBad && stops.first?.member == m1,
                        "the first bad event, partitions \(shape.partitions): \(stops)")
            }
            // Balances went as far as the event before it (and, with no live table, went live
            // there); the member views, which can apply it, reached the head.
            let head = try log.headPosition()
            let status = try p.status()
            for s in status where Self.keyed.contains(s.name) {
                #expect(s.checkpoint == (s.name == Balances.name ? firstBad - 1 : head), "\(s.name), partitions \(shape.partitions)")
                #expect(s.buildCheckpoint == nil && s.storedVersion != nil)
            }
            let d = try p.checkDeterminism(Balances.name)
            #expect(d.live == d.rebuilt, "what was committed equals a fresh fold through it")
        }
    }

    /// The partition `PartitionedRun` gives a member id.
    static func partition(of member: String, among count: Int) -> Int {
        var m = member
        return m.withUTF8 { Int(KeyHash.of(UnsafeRawBufferPointer($0)) % UInt64(count)) }
    }

    static let at: Int64 = 1_767_225_600_000_000

    static func enrolled(_ m: String) -> EventDraft {
        EventDraft(type: "member.enrolled", member: m, occurredAt: at,
                   data: Array(#"{"brand":"main","channel":"app","member":"\#(m)","profile":{},"store":"S1"}"#.utf8))
    }

    static func earned(_ m: String, lot: String, points: Int) -> EventDraft {
        EventDraft(type: "points.earned", member: m, occurredAt: at, data: Array(
            #"{"availableAt":"2026-01-01T00:00:00Z","debtPaid":0,"expiresAt":"2027-01-01T00:00:00Z","lotId":"\#(lot)","member":"\#(m)","points":\#(points),"rule":"base","ruleVersion":1,"source":{"id":"\#(lot.dropFirst(2))","kind":"purchase"}}"#.utf8))
    }

    static func redeemed(_ m: String, lot: String, points: Int) -> EventDraft {
        EventDraft(type: "points.redeemed", member: m, occurredAt: at, data: Array(
            #"{"allocations":[{"lotId":"\#(lot)","points":\#(points)}],"member":"\#(m)","points":\#(points),"redemptionId":"R-\#(m)"}"#.utf8))
    }

    /// Appends `drafts` in batches.
    func append(_ log: EventLog, _ drafts: [EventDraft]) async throws {
        for start in stride(from: 0, to: drafts.count, by: 500) {
            _ = try await log.append(Array(drafts[start ..< min(drafts.count, start + 500)]))
        }
    }
}

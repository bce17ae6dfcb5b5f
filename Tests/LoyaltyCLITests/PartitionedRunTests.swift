import Foundation
import LedgerStore
import LedgerTestSupport
import ProjectionTestSupport
import Testing
@testable import Projections

/// Catch-ups and rebuilds of the projections keyed by member run partitioned by member on several
/// threads (`PartitionedRun`) over a ledger the `loyalty` tool generated and imported: they must
/// equal a fold in log order and commit where a step-by-step run commits (the bad-event case:
/// ProjectionsTests' `PartitionedBadEventTests`).
@Suite struct PartitionedRunTests {
    /// Small shapes, so that a small ledger spans many windows, buckets and commits; one
    /// partition, a prime window, more partitions than cores.
    static let shapes: [PartitionedRun.Shape] = [
        .init(partitions: 1, windowEvents: 64, buckets: 1, readEvents: 16),
        .init(partitions: 2, windowEvents: 37, buckets: 4, readEvents: 16),
        .init(partitions: 3, windowEvents: 1_000, buckets: 8, readEvents: 100),
    ]

    static let keyed = [Balances.name, MemberViews.name]

    @Test(.timeLimit(.minutes(3)))
    func partitionedRebuildsAndCatchUpsEqualAFoldInLogOrder() throws {
        let dir = TemporaryDirectory()
        try makeLedger(dir.ledger, commands: 1_500, members: 120)
        // A copy of the ledger with more history for the same members: a live catch-up of the
        // difference runs partitioned too.
        let more = dir.path + "/more"
        try FileManager.default.copyItem(atPath: dir.ledger, toPath: more)
        try importGenerated(more, commands: 1_000, members: 120, seed: 7, start: "2026-01-12", days: 120)
        var digests: [[String: String]] = []
        for shape in Self.shapes {
            try? FileManager.default.removeItem(atPath: dir.ledger + "/projections")
            try? FileManager.default.removeItem(atPath: more + "/projections")
            // Built on the shorter ledger, then moved next to the longer one: a live catch-up
            // (commits every 100 events, handed off to another thread while the partitions go
            // on), then a rebuild of everything.
            let short = try EventLog.open(path: dir.ledger)
            let first = try LedgerProjections(log: short)
            first.partitionShape = shape
            first.eventsPerStep = 100
            // The projections keyed by member alone run partitioned; then the figures.
            try first.catchUp(Self.keyed)
            try first.catchUp()
            _ = try expectDeterministic(first)
            short.close()
            try FileManager.default.copyItem(atPath: dir.ledger + "/projections", toPath: more + "/projections")
            let log = try EventLog.open(path: more)
            defer { log.close() }
            let head = try log.headPosition()
            let p = try LedgerProjections(log: log)
            p.partitionShape = shape
            p.eventsPerStep = 100
            p.rebuildCommitEvents = 700
            let applied = try p.catchUp(Self.keyed)
            #expect((applied[Balances.name] ?? 0) > 5 * 100, "a catch-up of more than a run (it runs partitioned)")
            try p.catchUp()
            let caughtUp = try expectDeterministic(p)
            try p.rebuild(Self.keyed)
            let rebuilt = try expectDeterministic(p)
            #expect(caughtUp == rebuilt, "partitions \(shape.partitions): a rebuild reproduces the caught-up projections")
            for name in LedgerProjections.names { #expect(try p.digest(name)?.checkpoint == head, "\(name) reached the head") }
            digests.append(rebuilt)
        }
        #expect(Set(digests).count == 1, "every shape builds the same projections")
    }
}

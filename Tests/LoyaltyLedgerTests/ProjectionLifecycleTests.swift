import Foundation
import LedgerStore
import LedgerTestSupport
import ProjectionTestSupport
import LoyaltyDomain
import LoyaltyLedger
import ServiceLifecycle
import Synchronization
import Testing
@testable import Projections

/// Rebuilds, swaps, version changes, following live commits, and damage.
@Suite struct ProjectionLifecycleTests {
    let t0 = Timestamp(rfc3339: "2026-03-01T10:00:00Z")!

    func openLedger(_ dir: borrowing TemporaryDirectory) throws -> Ledger {
        try Ledger.open(path: dir.ledger, create: true) { $0.lmdb.durability = .relaxed }
    }

    /// Enrolls `members` members and records a purchase for each.
    func seed(_ ledger: Ledger, members: Int) async throws {
        var commands: [Command] = []
        for i in 0..<members {
            let at = Timestamp(microseconds: t0.microseconds + Int64(i) * 1_000_000)
            commands.append(.enroll(member: "M\(i)", store: "S\(i % 3)", brand: "main", channel: "store", birthDate: nil, gender: nil, profile: [:], at: at))
            commands.append(.purchase(.init(member: "M\(i)", purchaseId: "P\(i)", amount: "\(10 + i).50", store: "S\(i % 3)", at: at)))
        }
        _ = try await ledger.executeBatch(commands)
    }

    /// `seed`, then projections caught up with it.
    func caughtUpProjections(_ ledger: Ledger, members: Int) async throws -> LedgerProjections {
        try await seed(ledger, members: members)
        let p = try LedgerProjections(log: ledger.log)
        try p.catchUp()
        return p
    }

    /// Every member's balance in the projection equals the domain model's, at `t`.
    func expectBalancesEqualTheModel(_ ledger: Ledger, _ p: LedgerProjections, members: Int, at t: Timestamp) throws {
        for i in 0..<members {
            let model = try ledger.balance("M\(i)", at: t)
            let projected = try p.balance("M\(i)", at: t)
            #expect(projected == model, "M\(i)")
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func aRebuildWhileAppendsContinueMissesNothing() async throws {
        let dir = TemporaryDirectory()
        let ledger = try openLedger(dir)
        defer { ledger.close() }
        try await seed(ledger, members: 200)
        let p = try LedgerProjections(log: ledger.log)
        p.eventsPerStep = 50
        try p.catchUp()
        let before = try #require(try p.status().first { $0.name == Balances.name })
        // Appends run while the rebuild does; the rebuild answers only once it has caught up.
        let appender = Task {
            for round in 0..<400 {
                let m = "M\(round % 200)"
                let at = Timestamp(microseconds: t0.microseconds + 10_000_000_000 + Int64(round) * 1_000_000)
                try await ledger.execute(.purchase(.init(member: m, purchaseId: "L\(round)", amount: "3.00", store: "S1", at: at)))
                if round % 3 == 0 { _ = try? await ledger.execute(.redeem(member: m, points: 2, redemptionId: "R\(round)", reward: nil, at: at)) }
            }
        }
        let headAtStart = try ledger.log.headPosition()
        try await Task.detached { try p.rebuild(Balances.name); try p.rebuild(MemberViews.name) }.value
        let headAtSwap = try ledger.log.headPosition()
        try await appender.value
        #expect(headAtSwap > headAtStart, "appends went on during the rebuild")
        try p.catchUp()
        let after = try #require(try p.status().first { $0.name == Balances.name })
        #expect(after.generation == (before.generation ?? 0) + 1, "the rebuilt table was swapped in")
        #expect(after.checkpoint == (try ledger.log.headPosition()))
        try expectBalancesEqualTheModel(ledger, p, members: 200, at: Timestamp(microseconds: t0.microseconds + 20_000_000_000))
        _ = try expectDeterministic(p)
    }

    @Test(.timeLimit(.minutes(1)))
    func aChangedVersionOrALogBehindTheCheckpointRebuilds() async throws {
        let dir = TemporaryDirectory()
        let ledger = try openLedger(dir)
        defer { ledger.close() }
        let p = try await caughtUpProjections(ledger, members: 20)
        let digest = try #require(try p.digest(Balances.name))
        // As if the code's fold version had moved on since this projection was built.
        try p.store.env.write { txn in
            var m = try #require(try p.store.meta(Balances.name, .live, txn: txn))
            m.version = Balances.version - 1
            try p.store.putMeta(m, Balances.name, .live, txn: txn)
        }
        #expect(try p.status().first { $0.name == Balances.name }!.state.contains("rebuild needed"))
        try p.catchUp()
        let rebuilt = try #require(try p.status().first { $0.name == Balances.name })
        #expect(rebuilt.storedVersion == Balances.version && rebuilt.generation == 1)
        #expect(try p.digest(Balances.name)?.digest == digest.digest)
        // As if the log had been replaced by a shorter one (a restore): the projection is ahead.
        try p.store.env.write { txn in
            var m = try #require(try p.store.meta(MemberViews.name, .live, txn: txn))
            m.checkpoint += 1_000
            try p.store.putMeta(m, MemberViews.name, .live, txn: txn)
        }
        try p.catchUp()
        let views = try #require(try p.status().first { $0.name == MemberViews.name })
        #expect(views.checkpoint == (try ledger.log.headPosition()) && views.generation == 1)
        _ = try expectDeterministic(p)
    }

    @Test(.timeLimit(.minutes(1)))
    func aTamperedOrDamagedValueIsCaught() async throws {
        let dir = TemporaryDirectory()
        let ledger = try openLedger(dir)
        defer { ledger.close() }
        let p = try await caughtUpProjections(ledger, members: 10)
        let meta = try #require(try p.store.meta(Balances.name, .live))
        let table = p.store.table(Balances.name, slot: meta.slot)
        // A well-formed but wrong value: the determinism check names the projection.
        var forged = Balances.Record()
        forged.earned = 1_000_000
        try p.store.env.write { txn in try txn.put(table, key: Array("M3".utf8), value: Balances.encoded(forged)) }
        let check = try p.checkDeterminism(Balances.name)
        #expect(check.live != check.rebuilt)
        // A malformed value: reads fail with a clear error instead of a crash or a wrong answer.
        try p.store.env.write { txn in try txn.put(table, key: Array("M4".utf8), value: [1, 2, 3]) }
        #expect(throws: ProjectionError.self) { try p.balance("M4", at: t0) }
        // A rebuild repairs both.
        try p.rebuild(Balances.name)
        _ = try expectDeterministic(p)
        try expectBalancesEqualTheModel(ledger, p, members: 10, at: t0)
    }

    @Test(.timeLimit(.minutes(1)))
    func aSharedStepCommitsTogetherAndDropsOnlyTheProjectionAnotherWorkerMoved() async throws {
        let dir = TemporaryDirectory()
        let ledger = try openLedger(dir)
        defer { ledger.close() }
        let p = try await caughtUpProjections(ledger, members: 20)
        let caughtUp = try ledger.log.headPosition()
        try await purchases(ledger, members: 10, id: "Q", at: 100)
        let head = try ledger.log.headPosition()
        #expect(head >= caughtUp + 10)
        // Every projection applies the new events without committing...
        try applyUncommitted(p, after: caughtUp, through: head)
        // ...meanwhile another worker moves the figures' checkpoint by three events...
        try moveFiguresFromAnotherWorker(p)
        // ...so the shared commit writes balances and members, and drops only the figures' step.
        try p.commitTogether(p.drivers.compactMap { $0.pendingLiveCommit() })
        #expect(try p.store.meta(Balances.name, .live)?.checkpoint == head)
        #expect(try p.store.meta(MemberViews.name, .live)?.checkpoint == head)
        #expect(try p.store.meta(ProgramFigures.name, .live)?.checkpoint == caughtUp + 3)
        // The next step redoes the figures from their stored checkpoint: nothing twice, nothing lost.
        let (applied, through) = try p.step(eventsMax: 10_000)
        #expect(applied == Int(head - caughtUp - 3) && through == head)
        for name in LedgerProjections.names { #expect(try p.store.meta(name, .live)?.checkpoint == head, "\(name)") }
        _ = try expectDeterministic(p)
        try expectBalancesEqualTheModel(ledger, p, members: 20, at: Timestamp(microseconds: t0.microseconds + 200_000_000))
    }

    /// Every live projection applies the events `from + 1 ... through` (all of them) without committing.
    func applyUncommitted(_ p: LedgerProjections, after from: UInt64, through: UInt64) throws {
        let feed = try DecodedEvents.read(p.log, after: from, through: through)
        for d in p.drivers { #expect(try d.stepLiveUncommitted(eventsMax: 10_000, feed: feed) == Int(through - from)) }
    }

    /// Another worker (another process, say) moves the figures' stored checkpoint by three events.
    func moveFiguresFromAnotherWorker(_ p: LedgerProjections) throws {
        let other = ProjectionWorker<ProgramFigures>(store: p.store, log: p.log, role: .live)
        #expect(try other.step(eventsMax: 3) == 3)
    }

    /// Appends a purchase for each of `members` members, `at` seconds after t0 plus one each.
    func purchases(_ ledger: Ledger, members: Int, id: String, at seconds: Int64) async throws {
        for i in 0..<members {
            let at = Timestamp(microseconds: t0.microseconds + (seconds + Int64(i)) * 1_000_000)
            try await ledger.execute(.purchase(.init(member: "M\(i)", purchaseId: "\(id)\(i)", amount: "7.00", store: "S2", at: at)))
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aStepOnACommitInFlightIsDroppedWithItWhenItIsNotWritten() async throws {
        let dir = TemporaryDirectory()
        let ledger = try openLedger(dir)
        defer { ledger.close() }
        let p = try await caughtUpProjections(ledger, members: 20)
        let caughtUp = try ledger.log.headPosition()
        try await purchases(ledger, members: 10, id: "A", at: 100)
        let a = try ledger.log.headPosition()
        // Step A is applied and handed off (not written yet)...
        try applyUncommitted(p, after: caughtUp, through: a)
        let commitA = p.drivers.compactMap { $0.handOffLiveCommit() }
        #expect(commitA.count == LedgerProjections.names.count)
        // ...step B builds on it...
        try await purchases(ledger, members: 10, id: "B", at: 200)
        let b = try ledger.log.headPosition()
        for d in p.drivers { #expect(try d.checkpoint(.live) == a) }
        try applyUncommitted(p, after: a, through: b)
        // ...another worker moves the figures' checkpoint, so commit A writes all but the figures...
        try moveFiguresFromAnotherWorker(p)
        let written = try p.store.env.write { txn in try commitA.map { try $0.write(txn) } }
        #expect(written == [true, true, false, true])
        for (c, w) in zip(commitA, written) { c.finish(w) }
        // ...and the figures' step B, built on A, goes with it; the others commit B on top of A.
        #expect(p.drivers.compactMap { $0.pendingLiveCommit() }.map(\.name) == [Balances.name, MemberViews.name, MemberActivities.name])
        try p.commitTogether(p.drivers.compactMap { $0.pendingLiveCommit() })
        #expect(try p.store.meta(ProgramFigures.name, .live)?.checkpoint == caughtUp + 3)
        // Following from there: nothing twice, nothing lost, with commits overlapping the steps.
        let reported = Mutex<UInt64>(0)
        for round in 0..<3 {
            try await purchases(ledger, members: 5, id: "C\(round)", at: 300 + Int64(round) * 10)
            while try p.follow(eventsMax: 7, committed: { _, through in reported.withLock { $0 = max($0, through) } }).inFlight {}
        }
        let head = try ledger.log.headPosition()
        for name in LedgerProjections.names { #expect(try p.store.meta(name, .live)?.checkpoint == head, "\(name)") }
        #expect(reported.withLock { $0 } == head)
        _ = try expectDeterministic(p)
        try expectBalancesEqualTheModel(ledger, p, members: 20, at: Timestamp(microseconds: t0.microseconds + 400_000_000))
    }

    /// Projections opened on a ledger they are already caught up with: `follow` says they are at
    /// the head, so the service waits for a commit past it (a `through` of 0 woke it at once,
    /// forever, burning a core while idle).
    @Test func followOnCaughtUpProjectionsReportsTheHead() async throws {
        let dir = TemporaryDirectory()
        let ledger = try openLedger(dir)
        defer { ledger.close() }
        try await seed(ledger, members: 5)
        try LedgerProjections(log: ledger.log).catchUp()
        let p = try LedgerProjections(log: ledger.log)
        let step = try p.follow(eventsMax: 100, committed: { _, _ in })
        #expect(step.applied == 0 && !step.inFlight)
        #expect(step.through == (try ledger.log.headPosition()))
    }

    @Test(.timeLimit(.minutes(1)))
    func theServiceFollowsLiveCommitsAndStopsOnShutdown() async throws {
        let dir = TemporaryDirectory()
        let ledger = try openLedger(dir)
        defer { ledger.close() }
        try await seed(ledger, members: 5)
        let p = try LedgerProjections(log: ledger.log)
        let applied = Atomic<Int>(0)
        let service = ProjectionService(projections: p, eventsPerStep: 100, pollMilliseconds: 5_000) { n, _ in applied.add(n, ordering: .relaxed) }
        let group = ServiceGroup(services: [service], logger: p.logger)
        let running = Task { try await group.run() }
        var waited = 0
        while applied.load(ordering: .relaxed) == 0, waited < 500 {
            try await Task.sleep(for: .milliseconds(10))
            waited += 1
        }
        #expect(applied.load(ordering: .relaxed) > 0, "the service caught up at start")
        try await seed(ledger, members: 30)
        // Woken by the commit signal, well before the 5 s poll.
        let head = try ledger.log.headPosition()
        waited = 0
        while try p.status().contains(where: { $0.checkpoint < head }), waited < 300 {
            try await Task.sleep(for: .milliseconds(10))
            waited += 1
        }
        #expect(try p.status().allSatisfy { $0.checkpoint == head }, "followed within 3 s, so woken by the commit signal")
        await group.triggerGracefulShutdown()
        try await running.value
        try expectBalancesEqualTheModel(ledger, p, members: 30, at: t0)
    }
}

import Foundation
import LedgerJSON
import LedgerStore
@testable import LoyaltyDomain
@testable import LoyaltyLedger
import Testing

/// The checkpointed decision state: a ledger that reads members back from it decides exactly as
/// one that holds everything in memory; it survives a crash, a foreign or damaged store, and
/// equals a fold from position 0, digest for digest.
@Suite struct DecisionStateTests {
    func path() -> String { NSTemporaryDirectory() + "ledger-ds-" + UUID().uuidString }

    static let start = Timestamp(rfc3339: "2025-01-01T09:00:00Z")!
    static let now = Timestamp(rfc3339: "2026-06-01T12:00:00Z")!
    static let tiers = #"{"version":2,"tierMultipliers":{"gold":2},"tiers":{"measure":"spend","window":"rolling_days","windowDays":365,"downgradeGraceDays":30,"levels":[{"name":"silver","threshold":50000},{"name":"gold","threshold":100000}]}}"#

    /// A seeded stream of ordinary commands over a small world, so that most are accepted and
    /// returns, reversals, releases, reused keys and transfers name what earlier commands made.
    struct Workload {
        var random: SplitMix64
        var step = 0
        init(seed: UInt64) { random = SplitMix64(seed: seed) }

        mutating func below(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }
        mutating func member() -> String { "M\(below(12))" }

        mutating func next() throws -> Command {
            step += 1
            let at = Timestamp(microseconds: DecisionStateTests.start.microseconds + Int64(step) * 3_600_000_000)
            switch below(100) {
            case 0..<10:
                return .enroll(member: member(), store: "S\(below(3))", brand: "main", channel: "store", birthDate: nil, gender: nil, profile: [:], at: at)
            case 10..<45:
                return .purchase(.init(member: member(), purchaseId: "P\(below(200))", amount: "\(1 + below(900)).\(below(10))0", store: "S\(below(3))", at: at))
            case 45..<53:
                return .returnPurchase(purchaseId: "P\(below(200))", returnId: "RT\(below(60))", amount: below(2) == 0 ? nil : "\(1 + below(50)).00", at: at)
            case 53..<63:
                return .redeem(member: member(), points: below(5) == 0 ? nil : Int64(1 + below(150)), redemptionId: "R\(below(80))",
                               reward: below(5) == 0 ? "gift" : nil, at: at)
            case 63..<68:
                return .reverseRedemption(redemptionId: "R\(below(80))", at: at)
            case 68..<76:
                let points = Int64(1 + below(200))
                return .adjust(member: member(), points: below(3) == 0 ? -points : points, reason: "goodwill", operatorId: "op", key: "K\(below(40))", at: at)
            case 76..<82:
                return .transfer(from: member(), to: member(), points: Int64(1 + below(100)), key: "T\(below(40))", at: at)
            case 82..<87:
                return .hold(member: member(), points: Int64(1 + below(80)), holdId: "H\(below(30))",
                             expiresAt: Timestamp(microseconds: at.microseconds + 86_400_000_000), at: at)
            case 87..<90:
                return .release(holdId: "H\(below(30))", at: at)
            case 90..<92:
                return .defineReward(rewardId: "gift", name: "A gift", cost: 50, stock: Int64(5 + below(5)), budget: nil, at: at)
            case 92..<95:
                return .expire(asOf: at)
            case 95..<97:
                return .evaluateTiers(asOf: at)
            case 97:
                return .closeMember(member: member(), reason: "asked", at: at)
            default:
                return .publishProgram(try ProgramRules(json: try JSONCanonical.parse(DecisionStateTests.tiers)), at: at)
            }
        }
    }

    /// Runs `commands` on a ledger that keeps everything in memory and on one reopened every
    /// `reopenEvery` commands; both must accept and refuse the same commands and write the same events.
    func runTwins(seed: UInt64, commands: Int, reopenEvery: Int) async throws -> (accepted: Int, memory: String, stored: String) {
        let a = path(), b = path()
        defer { for p in [a, b] { try? FileManager.default.removeItem(atPath: p) } }
        let memory = try Ledger.open(path: a, create: true, clock: .fixed(Self.now))
        var stored = try Ledger.open(path: b, create: true, clock: .fixed(Self.now))
        var workload = Workload(seed: seed)
        var accepted = 0
        for i in 0..<commands {
            let command = try workload.next()
            let x = await attempt { try await memory.execute(command) }
            let y = await attempt { try await stored.execute(command) }
            switch (x, y) {
            case (.success, .success): accepted += 1
            case (.failure(let e), .failure(let f)): #expect("\(e)" == "\(f)", "seed \(seed) command \(i): \(command)")
            case (let r, let s): Issue.record("seed \(seed) command \(i) \(command): in memory \(r), from the stored state \(s)")
            }
            if i % reopenEvery == reopenEvery - 1 {
                stored.close()
                stored = try Ledger.open(path: b, clock: .fixed(Self.now))
            }
        }
        let x = try memory.log.events(after: 0, limit: 1_000_000), y = try stored.log.events(after: 0, limit: 1_000_000)
        #expect(x.map { [$0.type, $0.member, String(decoding: $0.data, as: UTF8.self)] } == y.map { [$0.type, $0.member, String(decoding: $0.data, as: UTF8.self)] })
        let checkA = try memory.checkDecisionState(), checkB = try stored.checkDecisionState()
        #expect(checkA.ok && checkB.ok, "\(checkA.differences) \(checkB.differences)")
        memory.close()
        stored.close()
        return (accepted, checkA.storedDigest, checkB.storedDigest)
    }

    @Test(.timeLimit(.minutes(5)), arguments: [UInt64(1), 2, 3])
    func decisionsFromTheStoredStateEqualDecisionsInMemory(seed: UInt64) async throws {
        let run = try await runTwins(seed: seed, commands: 600, reopenEvery: 3)
        #expect(run.accepted > 200, "the workload should mostly be accepted")
        #expect(run.memory == run.stored, "both stored states are the same bytes")
    }

    @Test func memberStateBytesRoundTripAndEveryTruncationIsRefused() async throws {
        let dir = path()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ledger = try Ledger.open(path: dir, create: true, clock: .fixed(Self.now))
        defer { ledger.close() }
        var workload = Workload(seed: 9)
        for _ in 0..<400 { _ = try? await ledger.execute(try workload.next()) }
        let members = try ledger.withModel { Array($0.members.values) }
        #expect(members.count > 5)
        for s in members {
            let bytes = s.stateBytes
            let back = try MemberState(stateBytes: bytes)
            #expect(back.stateBytes == bytes)
            #expect(back == s && back.purchases == s.purchases && back.redemptions == s.redemptions && back.tier == s.tier)
            for n in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 50)) {
                #expect(throws: StateBytesError.self) { try MemberState(stateBytes: Array(bytes.prefix(n))) }
            }
            #expect(throws: StateBytesError.self) { try MemberState(stateBytes: bytes + [0]) }
        }
        let program = try ledger.withModel { $0.programStateBytes }
        #expect(try LedgerModel(programStateBytes: program).programStateBytes == program)
    }

    /// A crash after commits and before the state's flush: the next open folds what the
    /// checkpoint lacks.
    @Test func aCrashBeforeTheFlushIsCaughtUpAtTheNextOpen() async throws {
        let dir = path()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var ledger = try Ledger.open(path: dir, create: true, clock: .fixed(Self.now))
        var workload = Workload(seed: 4)
        for _ in 0..<100 { _ = try? await ledger.execute(try workload.next()) }
        ledger.close()
        let checkpoint = try #require(try Ledger.open(path: dir).decisionStatePosition().checkpoint)
        ledger = try Ledger.open(path: dir, clock: .fixed(Self.now))
        for _ in 0..<100 { _ = try? await ledger.execute(try workload.next()) }
        let head = try ledger.log.headPosition()
        let balances = try (0..<12).map { try ledger.balance("M\($0)", at: Self.now) }
        ledger.log.close()  // no flush: as if the process died here
        ledger = try Ledger.open(path: dir, clock: .fixed(Self.now))
        defer { ledger.close() }
        #expect(head > checkpoint)
        #expect(try ledger.decisionStatePosition().checkpoint == head, "the open caught up and flushed")
        #expect(try (0..<12).map { try ledger.balance("M\($0)", at: Self.now) } == balances)
        #expect(try ledger.checkDecisionState().ok)
    }

    /// Another ledger's state, a deleted one, a damaged value: folded anew, or a clear error and
    /// a rebuild; never a wrong decision.
    @Test func aForeignMissingOrDamagedStateIsFoldedAnew() async throws {
        let a = path(), b = path()
        defer { for p in [a, b] { try? FileManager.default.removeItem(atPath: p) } }
        for (dir, seed) in [(a, UInt64(5)), (b, 6)] {
            let ledger = try Ledger.open(path: dir, create: true, clock: .fixed(Self.now))
            var workload = Workload(seed: seed)
            for _ in 0..<150 { _ = try? await ledger.execute(try workload.next()) }
            ledger.close()
        }
        let expected = try Ledger.open(path: a).withModel { m in (0..<12).map { m.balance("M\($0)", at: Self.now) } }
        // b's state in a's ledger: another ledger id, so a folds from position 0.
        try FileManager.default.removeItem(atPath: a + "/decisions")
        try FileManager.default.copyItem(atPath: b + "/decisions", toPath: a + "/decisions")
        var ledger = try Ledger.open(path: a)
        #expect(try (0..<12).map { try ledger.balance("M\($0)", at: Self.now) } == expected)
        #expect(try ledger.checkDecisionState().ok)
        ledger.close()
        // Deleted: folded from position 0 at the next open.
        try FileManager.default.removeItem(atPath: a + "/decisions")
        ledger = try Ledger.open(path: a)
        #expect(try ledger.decisionStatePosition().checkpoint == (try ledger.log.headPosition()))
        #expect(try ledger.checkDecisionState().ok)
        ledger.close()
        // A damaged member value: reading it names the member; a rebuild repairs it.
        let store = try #require(try DecisionStore.open(ledgerPath: a, writable: true))
        try store.env.write { txn in try txn.put(store.members, key: Array("M1".utf8), value: [1, 2, 3]) }
        ledger = try Ledger.open(path: a)
        defer { ledger.close() }
        #expect(throws: DecisionStateDamaged.self) { try ledger.balance("M1", at: Self.now) }
        #expect(try !ledger.checkDecisionState().ok)
        try ledger.rebuildDecisionState()
        #expect(try ledger.balance("M1", at: Self.now) == expected[1])
        #expect(try ledger.checkDecisionState().ok)
    }
}

func attempt<T>(_ body: () async throws -> T) async -> Result<T, any Error> {
    do { return .success(try await body()) } catch { return .failure(error) }
}

extension DecisionStateTests {
    /// A reader whose store a writer flushes meanwhile starts again from the new checkpoint: it
    /// never applies an event twice to a member loaded after the flush.
    @Test func aReaderFollowsAWriterThatFlushesMeanwhile() async throws {
        let dir = path()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let writer = try Ledger.open(path: dir, create: true, clock: .fixed(Self.now))
        defer { writer.close() }
        var workload = Workload(seed: 8)
        for _ in 0..<150 { _ = try? await writer.execute(try workload.next()) }
        #expect(writer.checkpointState())
        let reader = try Ledger.open(path: dir, writable: false)
        defer { reader.close() }
        for round in 0..<5 {
            for _ in 0..<60 { _ = try? await writer.execute(try workload.next()) }
            #expect(writer.checkpointState())
            for _ in 0..<10 { _ = try? await writer.execute(try workload.next()) }  // past the flush
            let reopened = try Ledger.open(path: dir, writable: false)
            for m in 0..<12 {
                let expected = try writer.balance("M\(m)", at: Self.now)
                #expect(try reader.balance("M\(m)", at: Self.now) == expected, "round \(round) M\(m)")
                #expect(try reopened.balance("M\(m)", at: Self.now) == expected, "round \(round) M\(m)")
            }
            reopened.close()
        }
    }
}

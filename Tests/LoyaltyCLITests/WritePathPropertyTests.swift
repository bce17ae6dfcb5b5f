import Foundation
import LedgerJSON
import LedgerStore
import LedgerTestSupport
import LoyaltyAudit
import LoyaltyDomain
import LoyaltyLedger
import Projections
import Testing

/// The write path's promise, hunted with random commands whose fields come from the edges: every
/// command is either refused (a message, nothing written) or accepted, and then everything the
/// ledger wrote is readable by every fold (the model at open, the projections, the independent
/// reconciliation fold), `verify`, and the CLI's read commands; and writing still works.
///
/// Seeded: the seed is printed first (a trap kills the process before any report), and
/// `LOYALTY_PROPERTY_SEED=N` replays it. The suite's default seed is fixed, so that CI runs the
/// same worlds each time; `LOYALTY_PROPERTY_SEED=random` hunts in new ones. `LOYALTY_PROPERTY_WORLDS` and `LOYALTY_PROPERTY_COMMANDS`
/// scale the run (worlds are fresh ledgers; commands are per world).
@Suite struct WritePathPropertyTests {
    static let environment = ProcessInfo.processInfo.environment
    static let seed: UInt64 = switch environment["LOYALTY_PROPERTY_SEED"] {
    case "random": UInt64.random(in: 1...UInt64.max)
    case let text?: UInt64(text) ?? { fatalError("LOYALTY_PROPERTY_SEED is a number or \"random\", not \(text)") }()
    case nil: 20_261_203
    }
    static let worlds = environment["LOYALTY_PROPERTY_WORLDS"].flatMap(Int.init) ?? 10
    static let commandsPerWorld = environment["LOYALTY_PROPERTY_COMMANDS"].flatMap(Int.init) ?? 500

    @Test(.timeLimit(.minutes(10)))
    func everyCommandIsRefusedCleanlyOrReadableEverywhere() async throws {
        printError("write-path property: seed \(Self.seed) (LOYALTY_PROPERTY_SEED=\(Self.seed) replays it), "
            + "\(Self.worlds) ledgers x \(Self.commandsPerWorld) commands")
        var accepted = 0, refused = 0
        for world in 0..<Self.worlds {
            let dir = TemporaryDirectory()
            let worldSeed = Self.seed &+ UInt64(world) &* 0x9E37_79B9_7F4A_7C15
            let (a, r) = try await runWorld(dir.ledger, seed: worldSeed, label: "seed \(Self.seed) world \(world)")
            accepted += a
            refused += r
        }
        printError("write-path property: \(accepted) commands accepted, \(refused) refused (seed \(Self.seed))")
        #expect(accepted > Self.worlds * Self.commandsPerWorld / 10, "the generator should mostly make acceptable commands")
        #expect(refused > 0, "the generator should reach refusals")
    }

    /// One fresh ledger: commands through the library, then every fold and the CLI.
    func runWorld(_ path: String, seed: UInt64, label: String) async throws -> (accepted: Int, refused: Int) {
        let now = Timestamp.now()
        var edges = EdgeValues(seed: seed, now: now)
        #expect(try cli(["init", "--ledger", path], label).status == 0)
        let ledger = try Ledger.open(path: path, clock: .fixed(now))
        // The same commands on a second ledger reopened every few commands: its decisions read
        // members and owner entries back from the checkpointed decision state, and must write
        // exactly what the first ledger, which keeps everything in memory, writes.
        let twinPath = path + "-twin"
        defer { try? FileManager.default.removeItem(atPath: twinPath) }
        var twin = try Ledger.open(path: twinPath, create: true, clock: .fixed(now))
        var accepted = 0, refused = 0
        for member in EdgeValues.ordinaryMembers {
            let start = Timestamp(microseconds: now.microseconds - 500 * 86_400_000_000).rfc3339
            let enroll = try Command(json: JSONCanonical.parse(
                #"{"command":"enroll","member":"\#(member)","store":"S1","occurredAt":"\#(start)"}"#), now: now)
            _ = try await ledger.execute(enroll)
            _ = try await twin.execute(enroll)
        }
        for i in 0..<Self.commandsPerWorld {
            let text = edges.command()
            let command: Command
            do {
                command = try Command(json: JSONCanonical.parse(text), now: Timestamp.now())
            } catch {
                #expect(!"\(error)".isEmpty, "\(label) command \(i): a refusal says why: \(text)")
                refused += 1
                continue
            }
            let before = try ledger.log.headPosition()
            var accepted1 = false
            do {
                _ = try await ledger.execute(command)
                accepted += 1
                accepted1 = true
            } catch {
                refused += 1
                #expect(!"\(error)".isEmpty, "\(label) command \(i): a refusal says why")
                let after = try ledger.log.headPosition()
                #expect(after == before, "\(label) command \(i) was refused (\(error)) but the head moved \(before) -> \(after): \(text)")
            }
            let accepted2 = (try? await twin.execute(command)) != nil
            #expect(accepted1 == accepted2, "\(label) command \(i): accepted \(accepted1) in memory, \(accepted2) from the stored state: \(text)")
            if i % Self.twinReopenEvery == 0 {
                twin.close()
                twin = try Ledger.open(path: twinPath, clock: .fixed(now))
            }
        }
        let head = try ledger.log.headPosition()
        try expectSameEvents(ledger.log, twin.log, label: label)
        #expect(try twin.checkDecisionState().ok, "\(label): the twin's stored state equals a fold from position 0")
        twin.close()
        #expect(try ledger.checkDecisionState().ok, "\(label): the stored state equals a fold from position 0")
        ledger.close()
        try checkEveryFold(path, head: head, label: label)
        try checkTheCLI(path, label: label, edges: &edges)
        return (accepted, refused)
    }

    /// How often the twin ledger is closed and opened again (in commands).
    static let twinReopenEvery = 7

    /// Both logs hold the same events: type, member, business time and data, position by position.
    func expectSameEvents(_ a: EventLog, _ b: EventLog, label: String) throws {
        var after: UInt64 = 0
        while true {
            let x = try a.events(after: after, limit: 1_000), y = try b.events(after: after, limit: 1_000)
            #expect(x.count == y.count, "\(label): \(x.count) events after \(after) in memory, \(y.count) from the stored state")
            for (e, f) in zip(x, y) where (e.type, e.member, e.occurredAt, e.data) != (f.type, f.member, f.occurredAt, f.data) {
                Issue.record("\(label): position \(e.position) differs: \(e.type) \(String(decoding: e.data, as: UTF8.self)) in memory, \(f.type) \(String(decoding: f.data, as: UTF8.self)) from the stored state")
                return
            }
            guard let last = x.last, x.count == y.count else { return }
            after = last.position
        }
    }

    /// The model folded anew at open, the projections caught up from zero, the independent fold.
    func checkEveryFold(_ path: String, head: UInt64, label: String) throws {
        let ledger = try Ledger.open(path: path)
        defer { ledger.close() }
        #expect(try ledger.modelPosition() == head, "\(label): the model folds the whole log at open")
        #expect(try ledger.log.verify().isValid, "\(label): verify")
        let members = try ledger.withModel { Array($0.members.keys) }
        for m in members { _ = try ledger.balance(m) }
        let report = try Reconciler(evaluatedAt: .now()).run(log: ledger.log, source: ModelBalanceSource(ledger: ledger))
        #expect(report.matched, "\(label): the independent fold agrees with the model: \(report.summary().joined(separator: "; "))")
    }

    /// Everything an operator reads, through the real binary; then a write still works.
    func checkTheCLI(_ path: String, label: String, edges: inout EdgeValues) throws {
        let dir = (path as NSString).deletingLastPathComponent
        let reads: [[String]] = [
            ["verify"], ["projections", "catch-up"], ["projections", "status"],
            ["reconcile", "--report", dir + "/reconcile.json"], ["figures"], ["figures", "--by", "store"],
            ["members", "export", "--format", "csv"], ["events", "--after", "0"], ["stats"],
        ] + EdgeValues.ordinaryMembers.prefix(2).flatMap { m in
            [["balance", m], ["member", "show", m], ["history", m], ["explain", m]]
        }
        for arguments in reads {
            let run = try cli(arguments + ["--ledger", path], label)
            #expect(run.status == 0, "\(label): `loyalty \(arguments.joined(separator: " "))` exit \(run.status): \(run.err.prefix(400))")
        }
        let enroll = try cli(["enroll", "NEW-\(edges.below(1_000_000))", "--store", "S1", "--ledger", path], label)
        #expect(enroll.status == 0, "\(label): a write after the run: \(enroll.err.prefix(400))")
    }

    /// Runs `loyalty`; a signal (a trap) fails the test with the arguments and the seed.
    func cli(_ arguments: [String], _ label: String, input: [UInt8] = []) throws -> (status: Int32, out: String, err: String) {
        let run = try runToolBytes("loyalty", arguments, input: input)
        let signalled = run.signalled
        #expect(!signalled, "\(label): `loyalty \(arguments.joined(separator: " "))` died of signal \(run.status): \(run.err.prefix(400))")
        return (run.status, run.out, run.err)
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

import ArgumentParser
import Foundation
import LedgerJSON
import LoyaltyDomain
import LoyaltyLedger
import Projections

struct ProjectionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projections", abstract: "The read models: status, rebuild, determinism check.",
        subcommands: [Status.self, CatchUp.self, Rebuild.self, Check.self])

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Each projection's version, checkpoint and lag (does not catch up).")
        @OptionGroup var ledger: LedgerOptions
        @Option(help: "table or json") var format: OutputFormat = .table

        func run() throws {
            let app = try ledger.open()
            defer { app.close() }
            let rows = try app.projections().status()
            switch format {
            case .json:
                printJSON(.array(rows.map(\.json)))
            case .table:
                print("projection  version  checkpoint    head          lag events  lag      state")
                for s in rows {
                    let version = s.storedVersion.map(String.init) ?? "-"
                    print([s.name.padding(toLength: 12, withPad: " ", startingAt: 0), version.padding(toLength: 9, withPad: " ", startingAt: 0),
                           String(s.checkpoint).padding(toLength: 14, withPad: " ", startingAt: 0), String(s.head).padding(toLength: 14, withPad: " ", startingAt: 0),
                           String(s.lagEvents).padding(toLength: 12, withPad: " ", startingAt: 0),
                           "\(s.lagMicroseconds / 1_000_000) s".padding(toLength: 9, withPad: " ", startingAt: 0),
                           s.state + (s.buildCheckpoint.map { " (build at \($0))" } ?? "")].joined())
                }
            }
        }
    }

    struct CatchUp: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "catch-up", abstract: "Bring every projection up to the log's head (what read commands do first).")
        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var steps: StepOptions

        func run() throws {
            let app = try ledger.open()
            defer { app.close() }
            let projections = try app.projections()
            steps.apply(to: projections)
            let progress = TerminalProgress(verb: "catching up")
            let applied = try projections.catchUp(progress: progress.report)
            progress.finish()
            for (name, n) in applied.sorted(by: { $0.key < $1.key }) { print("\(name): applied \(n) events") }
        }
    }

    struct StepOptions: ParsableArguments {
        @Option(help: "Events applied per checkpointed transaction (default: 50,000; 4,000,000 for a rebuild).") var stepEvents: Int?
        func validate() throws {
            if let stepEvents, !(1...10_000_000).contains(stepEvents) { throw ValidationError("--step-events must be 1 to 10,000,000") }
        }

        func apply(to p: LedgerProjections) {
            guard let stepEvents else { return }
            p.eventsPerStep = stepEvents
            p.rebuildCommitEvents = stepEvents
        }
    }

    struct Rebuild: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rebuild projections from position 0 into a fresh table, swapped in when caught up.",
            discussion: "Queries keep answering from the current table meanwhile; appends may continue.")
        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var steps: StepOptions
        @Argument(help: "balances, members or figures (default: all)") var name: String?

        func validate() throws {
            if let name, !LedgerProjections.names.contains(name) {
                throw ValidationError("unknown projection '\(name)' (known: \(LedgerProjections.names.joined(separator: ", ")))")
            }
        }

        func run() throws {
            let app = try ledger.open()
            defer { app.close() }
            let projections = try app.projections()
            steps.apply(to: projections)
            let names = name.map { [$0] } ?? LedgerProjections.names
            let started = ContinuousClock.now
            let progress = TerminalProgress(verb: "rebuilding")
            try projections.rebuild(names, progress: progress.report)
            progress.finish()
            let elapsed = started.duration(to: .now)
            for n in names {
                let d = try projections.digest(n)
                print("\(n): rebuilt through position \(d?.checkpoint ?? 0); \(d?.entries ?? 0) entries, digest \(d?.digest ?? "-")")
            }
            print("rebuilt \(names.joined(separator: ", ")) in one pass over the log in \(elapsed)")
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Determinism check: the live projection's digest equals a fresh fold's through the same position.")
        @OptionGroup var ledger: LedgerOptions
        @Argument(help: "balances, members or figures (default: all)") var name: String?

        func validate() throws {
            if let name, !LedgerProjections.names.contains(name) {
                throw ValidationError("unknown projection '\(name)' (known: \(LedgerProjections.names.joined(separator: ", ")))")
            }
        }

        func run() throws {
            let app = try ledger.openCaughtUp(always: true)
            defer { app.close() }
            let projections = try app.projections()
            var bad: [String] = []
            for n in name.map({ [$0] }) ?? LedgerProjections.names {
                let r = try projections.checkDeterminism(n)
                let ok = r.live == r.rebuilt
                if !ok { bad.append(n) }
                print("\(n): \(ok ? "ok" : "MISMATCH") at position \(r.checkpoint), \(r.entries) entries, live \(r.live)\(ok ? "" : ", fresh fold \(r.rebuilt)")")
            }
            if !bad.isEmpty { throw CLIError("projections differ from a fresh fold of the log: \(bad.joined(separator: ", ")) (run `loyalty projections rebuild`)") }
        }
    }
}

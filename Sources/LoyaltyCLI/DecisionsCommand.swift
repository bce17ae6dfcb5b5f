import ArgumentParser
import LedgerJSON
import LoyaltyLedger

/// The decision state commands are decided against, checkpointed beside the log.
struct DecisionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decisions", abstract: "The checkpointed decision state: status, check against a fresh fold, rebuild.",
        subcommands: [Status.self, Check.self, Rebuild.self])

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The state's checkpoint and the log's head.")
        @OptionGroup var options: LedgerOptions
        @Option(help: "table or json") var format: OutputFormat = .table

        func run() throws {
            let app = try options.open()
            defer { app.close() }
            let (checkpoint, head) = try app.decisionState().decisionStatePosition()
            switch format {
            case .json:
                let stored: JSONValue = checkpoint.map { .int(Int64($0)) } ?? .null
                printJSON(.object(["checkpoint": stored, "head": .int(Int64(head))]))
            case .table:
                print("decision state: checkpoint \(checkpoint.map(String.init) ?? "none"), log head \(head)")
            }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare the stored state, digest for digest, with a fold of the log from position 0 (exit 1 when they differ).")
        @OptionGroup var options: LedgerOptions
        @Option(help: "table or json") var format: OutputFormat = .table

        func run() throws {
            let app = try options.open(writable: true)
            defer { app.close() }
            let check = try app.ledger.checkDecisionState()
            switch format {
            case .json:
                let fields: [(key: String, value: JSONValue)] = [
                    ("ok", .bool(check.ok)), ("position", .int(Int64(check.position))), ("members", .int(Int64(check.members))),
                    ("ownerEntries", .int(Int64(check.ownerEntries))), ("storedDigest", .string(check.storedDigest)),
                    ("foldedDigest", .string(check.foldedDigest)), ("differences", .array(check.differences.map { .string($0) })),
                ]
                printJSON(.object(fields))
            case .table:
                print("decision state at position \(check.position): \(check.members) members, \(check.ownerEntries) owner entries")
                print("stored  \(check.storedDigest)\nfolded  \(check.foldedDigest)")
                for key in check.differences { print("differs: \(key)") }
                print(check.ok ? "OK: the stored state equals a fold from position 0" : "MISMATCH: run `loyalty decisions rebuild`")
            }
            if !check.ok { throw ExitCode(1) }
        }
    }

    struct Rebuild: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Fold the state anew from position 0.")
        @OptionGroup var options: LedgerOptions

        func run() throws {
            let app = try options.open(writable: true)
            defer { app.close() }
            try app.ledger.rebuildDecisionState()
            let (checkpoint, _) = try app.ledger.decisionStatePosition()
            print("decision state rebuilt through position \(checkpoint ?? 0)")
        }
    }
}

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
        @OptionGroup var options: DomainOptions

        func run() throws {
            let ledger = try options.open(writable: false)
            defer { ledger.close() }
            let (checkpoint, head) = try ledger.decisionStatePosition()
            switch options.format {
            case .json:
                printJSON(.object(["checkpoint": checkpoint.map { .int(Int64($0)) } ?? .null, "head": .int(Int64(head))]))
            case .table:
                print("decision state: checkpoint \(checkpoint.map(String.init) ?? "none"), log head \(head)")
            }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare the stored state, digest for digest, with a fold of the log from position 0 (exit 1 when they differ).")
        @OptionGroup var options: DomainOptions

        func run() throws {
            let ledger = try options.open()
            defer { ledger.close() }
            let check = try ledger.checkDecisionState()
            switch options.format {
            case .json:
                printJSON(.object(["ok": .bool(check.ok), "position": .int(Int64(check.position)), "members": .int(Int64(check.members)),
                                   "ownerEntries": .int(Int64(check.ownerEntries)), "storedDigest": .string(check.storedDigest),
                                   "foldedDigest": .string(check.foldedDigest), "differences": .array(check.differences.map { .string($0) })]))
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
        @OptionGroup var options: DomainOptions

        func run() throws {
            let ledger = try options.open()
            defer { ledger.close() }
            try ledger.rebuildDecisionState()
            let (checkpoint, _) = try ledger.decisionStatePosition()
            print("decision state rebuilt through position \(checkpoint ?? 0)")
        }
    }
}

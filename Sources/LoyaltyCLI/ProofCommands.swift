import ArgumentParser
import Foundation
import LedgerProofs
import LedgerStore
import LoyaltyLedger
import LoyaltyServer

// Tamper evidence (schemas/ledger-format.md section 14): keys, signed checkpoints, inclusion and
// consistency proofs, offline verification, and verified backups.

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "The operator's checkpoint signing key.", subcommands: [KeysGenerateCommand.self])
}

struct KeysGenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write a new Ed25519 key: DIR/checkpoint-key.private.json (mode 0600) and DIR/checkpoint-key.public.json.")

    @Option(help: "Directory for the key files (created if missing; existing key files are never overwritten).")
    var out: String

    func run() throws {
        let key = CheckpointSigningKey()
        let paths = try key.write(toDirectory: out)
        print("key \(key.publicKey.keyId): private \(paths.privatePath) (keep it secret), public \(paths.publicPath) (give it to auditors)")
    }
}

struct CheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Sign a checkpoint of the whole log (tree size, Merkle root, chain head, time) to publish.")

    @OptionGroup var options: LedgerOptions
    @Option(help: "The private key file (from `loyalty keys generate`).") var key: String
    @Option(help: "Write the checkpoint JSON here (default: standard output).") var out: String?

    func run() throws {
        let signingKey = try CheckpointSigningKey.read(path: key)
        let app = try options.open()
        defer { app.close() }
        let checkpoint = try app.prover().checkpoint(key: signingKey)
        try writeOutput(try checkpoint.encoded(), to: out)
        if out != nil {
            print("checkpoint of \(checkpoint.treeSize) events, root \(checkpoint.rootHash), signed by key \(checkpoint.keyId) at \(checkpoint.timestamp)")
        }
    }
}

struct ProveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prove",
        abstract: "Prove one event is in a checkpoint's tree, or (--consistency OLD NEW) that NEW extends OLD.",
        usage: """
            loyalty prove POSITION --checkpoint FILE [--out FILE]
            loyalty prove --consistency OLD.json NEW.json [--out FILE]
            """)

    @OptionGroup var options: LedgerOptions
    @Argument(help: "POSITION (1-based), or with --consistency the OLD and NEW checkpoint files.")
    var arguments: [String] = []
    @Option(help: "The checkpoint the inclusion proof is for.") var checkpoint: String?
    @Flag(help: "Prove consistency between two checkpoints instead.") var consistency = false
    @Option(help: "Write the proof JSON here (default: standard output).") var out: String?

    func validate() throws {
        if consistency {
            guard arguments.count == 2, checkpoint == nil else {
                throw ValidationError("--consistency takes exactly two checkpoint files (OLD NEW) and no --checkpoint")
            }
        } else {
            guard arguments.count == 1, checkpoint != nil else {
                throw ValidationError("give one POSITION and --checkpoint FILE (or --consistency OLD NEW)")
            }
        }
    }

    func run() throws {
        let data: Data
        if consistency {
            let old = try Checkpoint.read(path: arguments[0]), new = try Checkpoint.read(path: arguments[1])
            let app = try options.open()
            defer { app.close() }
            data = try app.prover().consistencyProof(old: old, new: new).encoded()
        } else {
            // Bad data, not bad usage: exit 1 with the reason (ValidationError would exit 64).
            guard let position = UInt64(arguments[0]), position >= 1 else {
                throw CLIError("POSITION must be a whole number from 1, got '\(arguments[0])'")
            }
            let signed = try Checkpoint.read(path: checkpoint ?? "")
            let app = try options.open()
            defer { app.close() }
            data = try app.prover().inclusionProof(position: position, checkpoint: signed).encoded()
        }
        try writeOutput(data, to: out)
    }
}

struct VerifyProofCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-proof",
        abstract: "Check a proof offline, without the ledger: exit 0 (ok) or 1 with a one-line reason.",
        usage: """
            loyalty verify-proof PROOF --checkpoint FILE --public-key FILE
            loyalty verify-proof PROOF --old-checkpoint OLD --checkpoint NEW --public-key FILE
            """)

    @Argument(help: "The proof file (from `loyalty prove`).") var proof: String
    @Option(help: "The checkpoint (for a consistency proof: the newer one).") var checkpoint: String
    @Option(help: "For a consistency proof: the older checkpoint.") var oldCheckpoint: String?
    @Option(help: "The operator's public key file.") var publicKey: String

    func run() throws {
        let key = try CheckpointPublicKey.read(path: publicKey)
        let signed = try Checkpoint.read(path: checkpoint)
        let line: String
        do {
            switch try ProofFile.read(path: proof) {
            case .inclusion(let inclusion):
                line = try ProofVerifier.verify(inclusion, checkpoint: signed, publicKey: key, label: proof)
            case .consistency(let consistency):
                guard let oldCheckpoint else { throw CLIError("a consistency proof needs --old-checkpoint as well") }
                let old = try Checkpoint.read(path: oldCheckpoint)
                line = try ProofVerifier.verify(consistency, old: old, new: signed, publicKey: key, label: proof)
            }
        } catch let error as ProofError {
            throw CLIError("proof rejected: \(error)")
        }
        print(line)
    }
}

struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Compacting copy of the log into an empty DEST, then a full verify of the copy.",
        discussion: """
            Safe while a writer appends (the copy is one consistent LMDB snapshot). Of the log, only
            data.mdb is copied: index/ and merkle/ are derived and rebuild from the log on first
            use (and so do projections/ and decisions/). The server's API keys and its stored
            answers for retried requests are copied too, when they exist.
            """)

    @OptionGroup var options: LedgerOptions
    @Argument(help: "The backup directory: new, or empty.") var dest: String

    func run() throws {
        let app = try options.open()
        defer { app.close() }
        let report = try app.backup(to: dest, alsoCopying: LedgerServer.stateFiles) { printError("bad: \($0)") }
        print("backup ok: \(report.eventCount) events, \(report.bytes) bytes, head \(report.head.position) \(report.head.hash.hex) (verified; index/ and merkle/ rebuild from the log)")
        if !report.copiedFiles.isEmpty { print("also copied: " + report.copiedFiles.joined(separator: ", ")) }
    }
}

private func writeOutput(_ data: Data, to path: String?) throws {
    guard let path else {
        FileHandle.standardOutput.write(data)
        return
    }
    guard FileManager.default.createFile(atPath: path, contents: data) else { throw CLIError("\(path): cannot write") }
}

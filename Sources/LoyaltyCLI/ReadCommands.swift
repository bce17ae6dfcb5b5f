import ArgumentParser
import Foundation
import LedgerProofs
import LedgerStore
import LoyaltyLedger
import LedgerTailClient

struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events", abstract: "Print events after a position as JSON Lines.")

    @OptionGroup var options: LedgerOptions
    @Option(help: "Print events after this position.") var after: UInt64 = 0
    @Option(help: "At most this many events (default: all).") var limit: Int?

    func validate() throws {
        if let limit, limit < 0 { throw ValidationError("--limit must not be negative") }
    }

    func run() throws {
        let app = try options.open()
        defer { app.close() }
        let log = app.log
        var position = after
        var remaining = limit ?? Int.max
        var hash: ChainHash?
        while remaining > 0 {
            let batch = try hash.map { try log.events(after: position, limit: min(remaining, 4096), previousHash: $0) }
                ?? log.events(after: position, limit: min(remaining, 4096), withHashes: true)
            guard let last = batch.last else { break }
            var text = ""
            for event in batch { text += String(decoding: EventJSON.line(event), as: UTF8.self); text += "\n" }
            FileHandle.standardOutput.write(Data(text.utf8))
            position = last.position
            hash = last.hash
            remaining -= batch.count
        }
    }
}

struct TailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail", abstract: "Follow the log from a position, printing JSON Lines.")

    @OptionGroup var options: LedgerOptions
    @Option(help: "Start after this position (a consumer's checkpoint).") var after: UInt64 = 0
    @Flag(help: "Keep following new commits (until interrupted).") var follow = false
    @Option(help: "Follow a remote ledger served by `loyalty serve` at this URL (http://HOST:PORT) instead of a local one.")
    var url: String?
    @Option(help: "The API key for --url (sent as a bearer token).") var apiKey: String?
    @Option(help: "With --url: keep the position reached in this file, and start from it when it exists (over --after).")
    var checkpoint: String?
    @Option(help: "With --url: only this member's events.") var member: String?
    @Option(help: "With --url: only events whose type starts with this prefix (e.g. points.).") var type: String?

    func validate() throws {
        if url == nil, apiKey != nil || checkpoint != nil || member != nil || type != nil {
            throw ValidationError("--api-key, --checkpoint, --member and --type go with --url")
        }
        if let url, !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
            throw ValidationError("--url: '\(url)' is not an http:// or https:// URL")
        }
    }

    func run() async throws {
        if let url {
            try await RemoteTail(url: url, apiKey: apiKey, after: after, follow: follow,
                                 checkpoint: checkpoint.map { TailCheckpoint(path: $0) }, member: member, typePrefix: type).run()
            return
        }
        let app = try options.open()
        defer { app.close() }
        let log = app.log
        var text = ""
        for try await event in log.subscribe(after: after, follow: follow) {
            text += String(decoding: EventJSON.line(event), as: UTF8.self)
            text += "\n"
            if text.utf8.count > 64 << 10 || follow {
                FileHandle.standardOutput.write(Data(text.utf8))
                text = ""
            }
        }
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Re-walk the hash chain, every index and merkle/; exit 1 naming the first bad position.",
        discussion: """
            With --checkpoint and --public-key, also anchors the log to a signed checkpoint: its
            signature, and its Merkle root and head hash recomputed from the first treeSize events.
            """)

    @OptionGroup var options: LedgerOptions
    @Flag(help: "Compare a random sample of \(TreeAudit.quickSampleNodes) stored Merkle nodes instead of all.") var quick = false
    @Option(help: "A signed checkpoint to anchor the log to (needs --public-key).") var checkpoint: String?
    @Option(help: "The operator's public key file, for --checkpoint.") var publicKey: String?

    func validate() throws {
        guard (checkpoint == nil) == (publicKey == nil) else { throw ValidationError("--checkpoint and --public-key go together") }
    }

    func run() throws {
        // Files are checked (against schemas/proofs/) before the ledger is opened.
        let anchor = try checkpoint.map { path in
            TreeAudit.Anchor(checkpoint: try Checkpoint.read(path: path), publicKey: try CheckpointPublicKey.read(path: publicKey ?? ""), label: path)
        }
        let app = try options.open()
        defer { app.close() }
        let log = app.log
        var report = try log.verify()
        // The neutralised table is checked against a log whose records all read (as the Python verifier does).
        let neutralisations = report.isValid ? try log.verifyNeutralisations() : (problems: [], neutralisations: [])
        report.problems += neutralisations.problems
        let treeLines = report.isValid ? try TreeAudit.verify(log: log, quick: quick, anchor: anchor, report: &report) : []
        if report.isValid {
            for n in neutralisations.neutralisations { print(Neutralised(position: n.position, by: n.by, data: n.data).line) }
            for line in treeLines { print(line) }
            print("ok: \(report.eventCount) events, \(report.memberCount) members, \(report.keyedEventCount) idempotency keys, \(report.chainCheckpointCount) chain checkpoints, index through \(report.indexedThrough); head \(report.head.position) \(report.head.hash.hex)")
            return
        }
        for problem in report.problems { printError("bad: \(problem)") }
        throw CLIError("verification failed: first bad position \(report.firstBadPosition.map(String.init) ?? "n/a"), \(report.problems.count) problem(s)")
    }
}

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Head, counts and sizes.")

    @OptionGroup var options: LedgerOptions
    @Option(help: "table or json") var format: OutputFormat = .table

    func run() throws {
        let app = try options.open()
        defer { app.close() }
        let stats = try app.stats()
        switch format {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            print(String(decoding: try encoder.encode(stats), as: UTF8.self))
        case .table:
            let rows: [(String, String)] = [
                ("format", stats.format),
                ("head position", "\(stats.headPosition)"),
                ("head hash", stats.headHash),
                ("events", "\(stats.eventCount)"),
                ("members", "\(stats.memberCount)"),
                ("indexed through", "\(stats.indexedThrough)"),
                ("log file", "\(stats.logFileBytes) bytes"),
                ("index file", "\(stats.indexFileBytes) bytes"),
                ("map size", "\(stats.mapSizeBytes) bytes (\(stats.mapUsedBytes) used)"),
                ("bytes per event", stats.bytesPerEvent.map(String.init) ?? "-"),
            ]
            printPairs(rows)
        }
    }
}

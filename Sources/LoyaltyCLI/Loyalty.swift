import ArgumentParser
import Foundation
import LedgerStore
import LoyaltyDomain
import LoyaltyLedger

@main
struct Loyalty: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loyalty",
        abstract: "An event-sourced loyalty-points ledger on LMDB.",
        discussion: """
            --ledger PATH (default: $LOYALTY_LEDGER or ./ledger) and --wait-for-writer SECONDS go before or after \
            the subcommand. Times are RFC 3339, or YYYY-MM-DD: local midnight in the program's time zone.
            """,
        subcommands: [
            InitCommand.self, AppendCommand.self, EventsCommand.self, TailCommand.self,
            VerifyCommand.self, StatsCommand.self, GenerateCommand.self,
            ProgramCommand.self, EnrollCommand.self, PurchaseCommand.self, ReturnCommand.self, RedeemCommand.self,
            ReverseRedemptionCommand.self, AdjustCommand.self, TransferCommand.self, HoldCommand.self, ReleaseCommand.self,
            RewardCommand.self, ExpireCommand.self, TiersCommand.self, BalanceCommand.self, ImportCommand.self, FoldBenchCommand.self,
            MemberCommand.self, MembersCommand.self, ProjectionsCommand.self, FiguresCommand.self,
            KeysCommand.self, CheckpointCommand.self, ProveCommand.self, VerifyProofCommand.self, BackupCommand.self,
            HistoryCommand.self, ExplainCommand.self, ReconcileCommand.self, NeutraliseCommand.self, DecisionsCommand.self,
            ServeCommand.self, APIKeysCommand.self,
            SinkCommand.self,
        ]
    )

    static func main() async {
        MemoryFaultReport.install()
        await main(GlobalOptions.movedAfterSubcommand(Array(CommandLine.arguments.dropFirst())))
    }
}

/// `--ledger` and `--wait-for-writer` are options of every command that opens a ledger, and are
/// accepted before the subcommand too (`loyalty --ledger X balance m1`): given there, they are
/// moved after the subcommand's own arguments (before a `--`), where its `LedgerOptions` parse
/// them, so there is one definition of each and one place they are read.
enum GlobalOptions {
    static let names = ["--ledger", "--wait-for-writer"]

    static func movedAfterSubcommand(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var rest = arguments[...]
        while let first = rest.first {
            if names.contains(first), rest.count >= 2 {
                leading += rest.prefix(2)
                rest = rest.dropFirst(2)
            } else if names.contains(where: { first.hasPrefix($0 + "=") }) {
                leading.append(first)
                rest = rest.dropFirst()
            } else {
                break
            }
        }
        guard !leading.isEmpty, !rest.isEmpty else { return arguments }
        var out = Array(rest)
        out.insert(contentsOf: leading, at: out.firstIndex(of: "--") ?? out.endIndex)
        return out
    }
}

/// The last resort for a damaged page inside an LMDB file: LMDB 0.9 follows page numbers from its
/// pages without bounds checks, so a damaged branch or leaf page can make it read outside the map
/// (SIGSEGV) or past the end of the file (SIGBUS). What can be checked before mapping is checked
/// (`LMDBFileCheck`: meta pages, file size); what cannot ends here, with a message saying what
/// to do and exit code 74 (EX_IOERR) instead of a signal. A commit is atomic, so a command that
/// ends here has written nothing of the transaction it was in. See schemas/ledger-format.md,
/// "Damaged files".
enum MemoryFaultReport {
    static let exitCode: Int32 = 74
    /// Written by `install` before the handlers are set, then only read (from the handler).
    nonisolated(unsafe) private static var text: UnsafeMutablePointer<CChar>?
    nonisolated(unsafe) private static var textBytes = 0

    static func install() {
        LMDBDamage.exitOnDamage(code: exitCode)
        let message = "loyalty: memory fault reading the ledger's files (a damaged LMDB page): the command did not finish. "
            + "Run `loyalty verify`; restore data.mdb from a backup, or delete a damaged index/, merkle/ or projections/ folder "
            + "(they are rebuilt from the log).\n"
        text = strdup(message)
        textBytes = message.utf8.count
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            // Async-signal-safe calls only.
            if let text = MemoryFaultReport.text { _ = write(2, text, MemoryFaultReport.textBytes) }
            _exit(MemoryFaultReport.exitCode)
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(SIGSEGV, &action, nil)
        sigaction(SIGBUS, &action, nil)
    }
}

/// `--ledger PATH`, shared by every command (default `./ledger`, or `LOYALTY_LEDGER`).
struct LedgerOptions: ParsableArguments {
    @Option(name: .long, help: "The ledger directory (default: $LOYALTY_LEDGER or ./ledger).")
    var ledger: String?

    @Option(name: .long, help: "Seconds to wait for another process's writer lock before giving up.")
    var waitForWriter: Int = 0

    /// Every command line is checked here: an invalid UTF-8 argument would reach the command
    /// repaired (see `checkArguments`).
    func validate() throws {
        try Self.checkArguments()
        guard waitForWriter >= 0, waitForWriter <= 86_400 else {
            throw ValidationError("--wait-for-writer: '\(waitForWriter)' is not 0 to 86400 seconds")
        }
    }

    var path: String {
        ledger ?? ProcessInfo.processInfo.environment["LOYALTY_LEDGER"] ?? "./ledger"
    }

    /// Opens the application on the ledger at `path`: read-only unless `writable` (commands);
    /// only `init` passes `create` (any other command on a missing ledger fails naming the path).
    func open(writable: Bool = false, create: Bool = false) throws -> LedgerApplication {
        try LedgerApplication.open(path: path, options: ApplicationOptions(writable: writable, create: create,
                                                                           writerLockWaitMilliseconds: waitForWriter * 1000))
    }

    /// Opens the log alone, for the commands that read or write raw events (`append`, `bench-fold`):
    /// opening the application for writing would fold the decision state first.
    func openLog(writable: Bool) throws -> EventLog {
        guard FileManager.default.fileExists(atPath: path + "/data.mdb") else {
            throw CLIError("no ledger at \(path): create one with `loyalty init --ledger \(path)`")
        }
        var options = EventLogOptions()
        options.writable = writable
        options.writerLockWaitMilliseconds = waitForWriter * 1000
        return try EventLog.open(path: path, options: options)
    }

    /// Opens the application read-only and catches the projections up first (`names`, default
    /// all), saying on standard error how far behind they were and which stopped.
    /// Opens the application and catches the projections up when they are near the head; far
    /// behind, the answer comes from their last checkpoint and stderr says how far behind
    /// (`LedgerApplication.catchUpIfNear`; `loyalty projections catch-up` brings them up).
    /// `always`: checks of the projections against the log (`reconcile`, `projections check`)
    /// wait for the whole catch-up.
    func openCaughtUp(_ names: [String]? = nil, always: Bool = false) throws -> LedgerApplication {
        let app = try open()
        let progress = TerminalProgress(verb: "catching up")
        let report = always ? try app.catchUp(names, progress: progress.report) : try app.catchUpIfNear(names, progress: progress.report)
        progress.finish()
        for stop in report.stops { printError("warning: \(stop)") }
        if report.stale {
            printError("note: the projections are \(report.eventsBehind) events behind the log (head \(report.head)): answered as of position \(report.head - report.eventsBehind); `loyalty projections catch-up` brings them up")
        } else {
            printError("projections at position \(report.head): were \(report.eventsBehind) events behind, caught up in \(report.elapsedMilliseconds) ms")
        }
        return app
    }

    /// Checks every command-line argument: the standard library turns argv into Strings with
    /// `String(cString:)`, which repairs invalid UTF-8, so the raw bytes are checked here.
    static func checkArguments() throws {
        for i in 0..<Int(CommandLine.argc) where i > 0 {
            guard let arg = CommandLine.unsafeArgv[i] else { continue }
            let bytes = Array(UnsafeBufferPointer(start: UnsafeRawPointer(arg).assumingMemoryBound(to: UInt8.self), count: strlen(arg)))
            if let offset = InputText.firstInvalidOffset(bytes) {
                throw CLIError("command-line argument \(i) is not valid UTF-8 (bad byte 0x\(InputText.hex(bytes[offset])) at byte \(offset + 1))")
            }
        }
    }
}

/// An error that ends a command with a one-line reason and exit code 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create an empty ledger (with --currency or --time-zone: and its default program).",
        discussion: """
            --currency and --time-zone publish the default program (1 point per whole currency unit, rounded down; \
            lots expire 12 months after earning, at the end of that month) as version 1 with them, in force from \
            the start of the log's time. A time zone is UTC, a fixed offset (+08:00) or an IANA name (Asia/Shanghai), \
            which the program records as its offset.
            """)

    @OptionGroup var options: LedgerOptions
    @Option(help: "The program's currency (ISO 4217, e.g. CNY).") var currency: String?
    @Option(name: .customLong("time-zone"), help: "The program's time zone: UTC, +08:00 or an IANA name such as Asia/Shanghai.") var timeZone: String?
    @Option(help: "table or json") var format: OutputFormat = .table

    func validate() throws {
        if let currency { do { _ = try LedgerApplication.defaultRules(currency: currency, zone: nil) } catch { throw ValidationError("--currency: \(error)") } }
        if let timeZone { do { _ = try ZoneName.resolve(timeZone, at: .now()) } catch { throw ValidationError("--time-zone: \(error)") } }
    }

    func run() async throws {
        let app = try options.open(writable: true, create: true)
        defer { app.close() }
        if currency != nil || timeZone != nil {
            let (rules, note) = try LedgerApplication.defaultRules(currency: currency, zone: timeZone)
            if let note { printError("note: \(note)") }
            let outcome = try await CommandRun.execute(app, .publishProgram(rules, at: LedgerApplication.defaultRulesEffectiveAt), allowFuture: false)
            CommandRun.print(outcome, format: format)
        }
        let head = try app.log.head()
        if format == .table { print("ledger ready at \(options.path) (head position \(head.position))") }
    }
}

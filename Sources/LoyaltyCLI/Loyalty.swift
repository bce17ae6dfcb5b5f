import ArgumentParser
import Foundation
import LedgerStore

@main
struct Loyalty: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loyalty",
        abstract: "An event-sourced loyalty-points ledger on LMDB.",
        subcommands: [
            InitCommand.self, AppendCommand.self, EventsCommand.self, TailCommand.self,
            VerifyCommand.self, StatsCommand.self, GenerateCommand.self,
            ProgramCommand.self, EnrollCommand.self, PurchaseCommand.self, ReturnCommand.self, RedeemCommand.self,
            ReverseRedemptionCommand.self, AdjustCommand.self, TransferCommand.self, HoldCommand.self, ReleaseCommand.self,
            RewardCommand.self, ExpireCommand.self, TiersCommand.self, BalanceCommand.self, ImportCommand.self, FoldBenchCommand.self,
            MemberCommand.self, MembersCommand.self, ProjectionsCommand.self, FiguresCommand.self,
            KeysCommand.self, CheckpointCommand.self, ProveCommand.self, VerifyProofCommand.self, BackupCommand.self,
            HistoryCommand.self, ExplainCommand.self, ReconcileCommand.self, NeutraliseCommand.self, DecisionsCommand.self,
        ]
    )

    static func main() async {
        MemoryFaultReport.install()
        await main(nil)
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
    /// repaired (see `InputText.checkArguments`).
    func validate() throws { try InputText.checkArguments() }

    var path: String {
        ledger ?? ProcessInfo.processInfo.environment["LOYALTY_LEDGER"] ?? "./ledger"
    }

    /// Opens the ledger at `path`; only `init` passes `create` (any other command on a missing
    /// ledger fails naming the path). Readers open it read-only (see `EventLog.open`).
    func open(writable: Bool, create: Bool = false) throws -> EventLog {
        var options = EventLogOptions()
        options.writable = writable
        options.create = create
        options.writerLockWaitMilliseconds = waitForWriter * 1000
        return try EventLog.open(path: path, options: options)
    }
}

/// Output format for commands that print data.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json
}

/// An error that ends a command with a one-line reason and exit code 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Writes to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Create an empty ledger.")

    @OptionGroup var options: LedgerOptions

    func run() throws {
        let log = try options.open(writable: true, create: true)
        defer { log.close() }
        let head = try log.head()
        print("ledger ready at \(options.path) (head position \(head.position))")
    }
}

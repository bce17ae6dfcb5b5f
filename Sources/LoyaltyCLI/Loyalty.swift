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
            HistoryCommand.self, ExplainCommand.self, ReconcileCommand.self, NeutraliseCommand.self,
        ]
    )
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

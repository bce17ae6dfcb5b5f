import LedgerJSON
import Testing
@testable import LoyaltyCLI
import LoyaltyLedger

/// The CLI's output writers, without the binary.
@Suite struct OutputTests {
    @Test func csvCellsNeutraliseFormulasButNotNumbers() {
        #expect(CSVCell.text("=HYPERLINK(\"x\")") == #""'=HYPERLINK(""x"")""#)
        for s in ["+1", "-1", "@SUM(A1)", "\tx", "=1+1"] { #expect(CSVCell.text(s).hasPrefix("'") || CSVCell.text(s).hasPrefix("\"'"), "\(s)") }
        #expect(CSVCell.text("plain") == "plain")
        #expect(CSVCell.text("a,b") == #""a,b""#)
        #expect(CSVCell.json(.integer("-42")) == "-42")
        #expect(CSVCell.json(.string("-42")) == "'-42")
        #expect(CSVCell.number(-7) == "-7")
    }

    @Test func globalOptionsBeforeTheSubcommandMoveAfterIt() {
        #expect(GlobalOptions.movedAfterSubcommand(["--ledger", "X", "balance", "m1"]) == ["balance", "m1", "--ledger", "X"])
        #expect(GlobalOptions.movedAfterSubcommand(["--ledger=X", "--wait-for-writer", "3", "member", "show", "m1"])
                == ["member", "show", "m1", "--ledger=X", "--wait-for-writer", "3"])
        #expect(GlobalOptions.movedAfterSubcommand(["--ledger", "X", "prove", "--", "-1"]) == ["prove", "--ledger", "X", "--", "-1"])
        #expect(GlobalOptions.movedAfterSubcommand(["balance", "m1", "--ledger", "X"]) == ["balance", "m1", "--ledger", "X"])
        #expect(GlobalOptions.movedAfterSubcommand(["--ledger", "X"]) == ["--ledger", "X"])
    }

    @Test func progressClockReadsAsMinutesAndSeconds() {
        #expect(TerminalProgress.clock(5) == "0:05")
        #expect(TerminalProgress.clock(125) == "2:05")
        #expect(TerminalProgress.clock(3725) == "1:02:05")
    }
}

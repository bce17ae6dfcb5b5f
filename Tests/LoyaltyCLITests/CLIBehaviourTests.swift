import Foundation
import LedgerJSON
import LedgerTestSupport
import Testing

/// The command line as its README says and as people expect: global options anywhere, the
/// default program from `init`, dates in the program's zone, one time syntax, readable results,
/// filters and refusals that say what is valid.
@Suite(.timeLimit(.minutes(3))) struct CLIBehaviourTests {
    func events(_ ledger: String) throws -> [JSONValue] {
        let r = try runTool("loyalty", ["events", "--ledger", ledger])
        return try r.out.split(separator: "\n").map { try JSONCanonical.parse(String($0)) }
    }

    @Test func theLedgerOptionWorksBeforeOrAfterTheSubcommand() throws {
        let dir = TemporaryDirectory()
        #expect(try runTool("loyalty", ["--ledger", dir.ledger, "init"]).status == 0)
        #expect(try runTool("loyalty", ["--ledger", dir.ledger, "--wait-for-writer", "1", "enroll", "M1", "--store", "S1", "--at", "2026-02-01"]).status == 0)
        #expect(try runTool("loyalty", ["--ledger=" + dir.ledger, "adjust", "M1", "--points", "7", "--reason", "r", "--id", "A1", "--at", "2026-02-02"]).status == 0)
        let after = try runTool("loyalty", ["balance", "M1", "--format", "json", "--ledger", dir.ledger])
        let before = try runTool("loyalty", ["--ledger", dir.ledger, "balance", "M1", "--format", "json"])
        #expect(after.status == 0 && after.out.contains(#""available":7"#), "\(after)")
        #expect(before.status == 0 && before.out.contains(#""available":7"#), "\(before)")
        let nested = try runTool("loyalty", ["--ledger", dir.ledger, "member", "show", "M1", "--format", "json"])
        #expect(nested.status == 0 && nested.out.contains(#""enrollmentStore":"S1""#), "\(nested)")
    }

    @Test func initSetsTheDefaultProgramAndADateIsLocalMidnight() throws {
        let dir = TemporaryDirectory()
        let made = try runTool("loyalty", ["init", "--currency", "CNY", "--time-zone", "Asia/Shanghai", "--ledger", dir.ledger])
        #expect(made.status == 0 && made.out.contains("program.published  version 1: currency CNY, time zone +08:00"), "\(made)")
        let rules = try JSONCanonical.parse(try runTool("loyalty", ["program", "show", "--ledger", dir.ledger]).out)
        #expect(rules["currency"] == .string("CNY") && rules["timeZone"] == .string("+08:00"), "\(rules)")
        #expect(try runTool("loyalty", ["enroll", "M1", "--store", "S1", "--at", "2026-11-03", "--ledger", dir.ledger]).status == 0)
        let bought = try runTool("loyalty", ["purchase", "M1", "--id", "P1", "--amount", "100", "--store", "S1", "--at", "2026-11-03T12:00:00+08:00",
                                             "--ledger", dir.ledger])
        #expect(bought.status == 0 && bought.out.contains("points.earned"), "\(bought)")
        let enrolled = try events(dir.ledger).first { $0["type"] == .string("member.enrolled") }
        #expect(enrolled?["occurredAt"] == .string("2026-11-02T16:00:00Z"), "local midnight in Shanghai")
        // A purchase in another currency is refused, saying how to take it.
        let csv = dir.path + "/p.csv"
        try "member_id,purchase_id,occurred_at,amount,currency,store_id\nM1,P2,2026-11-04T10:00:00Z,5.00,EUR,S1\n"
            .write(toFile: csv, atomically: true, encoding: .utf8)
        let imported = try runTool("loyalty", ["import", csv, "--ledger", dir.ledger])
        #expect(imported.status == 1 && imported.err.contains("line 2: field 'currency': 'EUR' the program runs in CNY"), "\(imported)")
        #expect(imported.err.contains("publish rules in that currency: `loyalty program publish RULES.json` with \"currency\": \"EUR\""))
        // Silent when standard error is not a terminal: no bar, no carriage returns.
        #expect(!imported.err.contains("\r") && !imported.err.contains("importing"), "\(imported.err)")
    }

    @Test func badArgumentsNameTheOptionAndTheValueAndWriteNothing() throws {
        let dir = try TemporaryDirectory.withLedger()
        for (arguments, option, value) in [
            (["enroll", "M1", "--store", "S1", "--at", "2026-13-45"], "--at", "2026-13-45"),
            (["hold", "M1", "--points", "1", "--id", "H1", "--until", "soon"], "--until", "soon"),
            (["expire", "--as-of", "2026-02-30"], "--as-of", "2026-02-30"),
            (["figures", "--from", "2026-02-01T00:00:00Z"], "--from", "2026-02-01T00:00:00Z"),
            (["history", "M1", "--to", "later"], "--to", "later"),
        ] {
            let r = try runTool("loyalty", arguments + ["--ledger", dir.ledger])
            #expect(r.status != 0 && r.err.contains(option) && r.err.contains("'\(value)'"), "\(arguments): \(r)")
        }
        #expect(try events(dir.ledger).isEmpty)
        let other = TemporaryDirectory()
        let zone = try runTool("loyalty", ["init", "--time-zone", "Mars/Olympus", "--ledger", other.ledger])
        #expect(zone.status != 0 && zone.err.contains("--time-zone") && zone.err.contains("Mars/Olympus"), "\(zone)")
        let currency = try runTool("loyalty", ["init", "--currency", "yuan", "--ledger", other.ledger])
        #expect(currency.status != 0 && currency.err.contains("--currency") && currency.err.contains("'yuan'"), "\(currency)")
        #expect(!FileManager.default.fileExists(atPath: other.ledger), "a refused init creates nothing")
    }

    @Test func unknownFiltersAreErrorsNamingTheValidValues() throws {
        let dir = try TemporaryDirectory.withLedger()
        #expect(try runTool("loyalty", ["enroll", "M1", "--store", "S1", "--at", "2026-02-01", "--ledger", dir.ledger]).status == 0)
        let stage = try runTool("loyalty", ["members", "export", "--stage", "sleeping", "--ledger", dir.ledger])
        #expect(stage.status != 0 && stage.err.contains("--stage: 'sleeping'") && stage.err.contains("lead, new, active, defecting, inactive"), "\(stage)")
        let tier = try runTool("loyalty", ["members", "export", "--tier", "gold", "--ledger", dir.ledger])
        #expect(tier.status != 0 && tier.err.contains("--tier: unknown tier 'gold' (the program has no tiers)"), "\(tier)")
        let rules = dir.path + "/rules.json"
        try #"{"version": 2, "tiers": {"measure": "spend", "window": "rolling_days", "windowDays": 365, "levels": [{"name": "silver", "threshold": 100}, {"name": "gold", "threshold": 1000}]}}"#
            .write(toFile: rules, atomically: true, encoding: .utf8)
        let published = try runTool("loyalty", ["program", "publish", rules, "--at", "2026-01-01", "--ledger", dir.ledger])
        #expect(published.status == 0 && published.out.contains("program.published  version 2: currency EUR, time zone UTC, 2 tier(s)"), "\(published)")
        let platinum = try runTool("loyalty", ["members", "export", "--tier", "platinum", "--ledger", dir.ledger])
        #expect(platinum.status != 0 && platinum.err.contains("unknown tier 'platinum' (tiers: silver, gold)"), "\(platinum)")
        #expect(try runTool("loyalty", ["members", "export", "--tier", "gold", "--ledger", dir.ledger]).status == 0)
    }

    @Test func singleCommandsPrintAReadableResultOrJSON() throws {
        let dir = try TemporaryDirectory.withLedger()
        let table = try runTool("loyalty", ["enroll", "M1", "--store", "S1", "--at", "2026-02-01", "--ledger", dir.ledger])
        #expect(table.status == 0 && table.out.contains("position 1  member.enrolled  member M1, brand main, store S1"), "\(table)")
        let json = try runTool("loyalty", ["adjust", "M1", "--points", "5", "--reason", "r", "--id", "A1", "--at", "2026-02-02",
                                           "--format", "json", "--ledger", dir.ledger])
        let value = try JSONCanonical.parse(json.out.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(value["replayed"] == .bool(false), "\(json)")
        guard case .array(let written)? = value["events"] else { Issue.record("no events: \(json)"); return }
        #expect(written.first?["type"] == .string("points.adjusted"))
    }

    /// The progress bar is drawn when standard error is a terminal: `script` gives the import a
    /// pseudo-terminal.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script")))
    func importsDrawAProgressBarOnATerminal() throws {
        let dir = try TemporaryDirectory.withLedger()
        let file = dir.path + "/members.csv"
        let lines = (1...300).map { "M\($0),2026-01-05T09:00:00Z,S1,," }
        try (["member_id,enrolled_at,store_id,birth_date,gender"] + lines + [""]).joined(separator: "\n")
            .write(toFile: file, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-qec", "\(builtExecutable("loyalty")) import \(file) --batch 10 --ledger \(dir.ledger)", "/dev/null"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("importing") && text.contains("[########################] 100%") && text.contains("bytes"), "\(text)")
        #expect(text.contains("imported 301 lines: 300 commands written"), "\(text)")
    }
}

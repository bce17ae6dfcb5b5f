import Foundation
import Testing

/// Input habits and time rules through the real `loyalty` binary: invalid UTF-8 refused (never
/// repaired), BOM and CRLF accepted, over-long lines skipped by number, spreadsheet-safe CSV
/// exports, commands dated before enrollment or in the future refused, `expire` never ahead of
/// time, and refusals remembered by re-run imports.
@Suite(.timeLimit(.minutes(5))) struct InputTimeCLITests {
    /// Runs `loyalty` through `/bin/sh -c`, so an argument can carry bytes a Swift String cannot
    /// (`$BAD` is the byte 0xFF).
    private func shell(_ script: String) throws -> (status: Int32, out: String, err: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "BAD=$(printf '\\377'); " + script]
        var env = ProcessInfo.processInfo.environment
        env["LOYALTY"] = builtExecutable("loyalty")
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    private func write(_ bytes: [UInt8], _ path: String) throws {
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
    }

    private func rfc3339(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: date)
    }

    private func eventCount(_ l: [String]) throws -> Int {
        try runTool("loyalty", ["events"] + l).out.split(separator: "\n").count
    }

    // MARK: case 7: invalid UTF-8

    @Test func invalidUTF8InAJSONLImportIsRefusedByLineAndField() throws {
        let dir = try TemporaryDirectory.withLedger()
        let l = ["--ledger", dir.ledger]
        #expect(try runTool("loyalty", ["enroll", "M1", "--store", "S1", "--at", "2026-02-01"] + l).status == 0)
        // Two adjustment keys that differ only in an invalid byte: repaired, both become "K\u{FFFD}"
        // and the second passes for a replay of the first.
        let line1 = Array(#"{"command":"adjust","member":"M1","points":5,"reason":"r","key":"K"#.utf8) + [0xFF] + Array(#"","occurredAt":"2026-02-02"}"#.utf8)
        let line2 = Array(#"{"command":"adjust","member":"M1","points":5,"reason":"r","key":"K"#.utf8) + [0xFE] + Array(#"","occurredAt":"2026-02-02"}"#.utf8)
        let ok = Array(#"{"command":"purchase","member":"M1","purchaseId":"P3","amount":"5","store":"S1","occurredAt":"2026-02-02"}"#.utf8)
        let file = dir.path + "/c.jsonl"
        try write(line1 + [0x0A] + line2 + [0x0A] + ok + [0x0A], file)
        let r = try runTool("loyalty", ["import", file] + l)
        #expect(r.status != 0)
        #expect(r.err.contains(#"line 1: column 65: the value of "key" is not valid UTF-8"#), "\(r.err)")
        #expect(r.err.contains(#"line 2: column 65: the value of "key" is not valid UTF-8"#), "\(r.err)")
        #expect(r.out.contains("2 commands written") == false && r.out.contains("1 commands written"), "\(r.out)")
        #expect(!(try runTool("loyalty", ["events"] + l).out.contains("\u{FFFD}")))
    }

    @Test func invalidUTF8InACSVImportNamesTheField() throws {
        let dir = try TemporaryDirectory.withLedger()
        let file = dir.path + "/m.csv"
        try write(Array("member_id,enrolled_at,store_id,birth_date,gender\n".utf8) + Array("M".utf8) + [0xC3, 0x28] + Array(",2026-02-01,S1,,\nM2,2026-02-01,S1,,\n".utf8), file)
        let r = try runTool("loyalty", ["import", file, "--ledger", dir.ledger])
        #expect(r.status != 0)
        #expect(r.err.contains("line 2: field 'member_id' is not valid UTF-8 (bad byte 0xC3 at byte 2 of the field)"), "\(r.err)")
        #expect(r.out.contains("1 commands written"), "\(r.out)")
    }

    @Test func reconcileReadsAnExcelExportAndReportsInvalidUTF8ByLine() throws {
        let dir = try TemporaryDirectory.withLedger()
        let l = ["--ledger", dir.ledger]
        #expect(try runTool("loyalty", ["enroll", "M1", "--store", "S1", "--at", "2026-02-01"] + l).status == 0)
        #expect(try runTool("loyalty", ["purchase", "M1", "--id", "P1", "--amount", "100", "--store", "S1", "--at", "2026-02-02"] + l).status == 0)
        let export = dir.path + "/export.csv"
        try write([0xEF, 0xBB, 0xBF] + Array("member_id,purchase_id,occurred_at,amount,currency,store_id\r\nM1,P1,2026-02-02,100.00,EUR,S1\r\nM1,P".utf8) + [0xFF] + Array(",2026-02-02,1.00,EUR,S1\r\n".utf8), export)
        let r = try runTool("loyalty", ["reconcile", "purchases", "--source", export, "--report", dir.path + "/report.json"] + l)
        #expect(r.out.contains("1 matched"), "\(r.out) \(r.err)")
        #expect(r.out.contains("bad_line: (line 3) field 'purchase_id' is not valid UTF-8"), "\(r.out)")
    }

    @Test func invalidUTF8InAppendIsRefusedWithItsLine() throws {
        let dir = try TemporaryDirectory.withLedger()
        let file = dir.path + "/e.jsonl"
        try write(Array(#"{"type":"t","member":"m"#.utf8) + [0xFF] + Array(#"","occurredAt":"2026-02-01T00:00:00Z","data":{}}"#.utf8) + [0x0A], file)
        let r = try runTool("loyalty", ["append", file, "--ledger", dir.ledger])
        #expect(r.status != 0 && r.err.contains(#"line 1: malformed JSON at column 22: the value of "member" is not valid UTF-8"#), "\(r.err)")
        #expect(try eventCount(["--ledger", dir.ledger]) == 0)
    }

    @Test func invalidUTF8InACommandLineArgumentIsRefused() throws {
        let dir = try TemporaryDirectory.withLedger()
        let r = try shell(#"$LOYALTY enroll "M${BAD}1" --store S1 --ledger '\#(dir.ledger)'"#)
        #expect(r.status != 0 && r.err.contains("command-line argument 2 is not valid UTF-8 (bad byte 0xFF at byte 2)"), "\(r.err)")
        let key = try shell(#"$LOYALTY enroll M1 --store S1 --at 2026-02-01 --ledger '\#(dir.ledger)' && $LOYALTY adjust M1 --points 5 --reason r --id "K${BAD}" --ledger '\#(dir.ledger)'"#)
        #expect(key.status != 0 && key.err.contains("is not valid UTF-8"), "\(key.err)")
        #expect(try eventCount(["--ledger", dir.ledger]) == 1, "the enrollment only")
    }

    // MARK: case 16: BOM, CRLF, long lines, CSV exports

    @Test func aBOMAndCRLFAreAcceptedInCSVAndJSONL() throws {
        let dir = try TemporaryDirectory.withLedger()
        let l = ["--ledger", dir.ledger]
        let csv = dir.path + "/m.csv"
        try write([0xEF, 0xBB, 0xBF] + Array("member_id,enrolled_at,store_id,birth_date,gender\r\nM1,2026-02-01,S1,,\r\nM2,2026-02-01,S1,,\r\n".utf8), csv)
        let r = try runTool("loyalty", ["import", csv] + l)
        #expect(r.status == 0 && r.out.contains("2 commands written"), "\(r.out) \(r.err)")
        let jsonl = dir.path + "/c.jsonl"
        try write([0xEF, 0xBB, 0xBF] + Array(#"{"command":"enroll","member":"M3","store":"S1","occurredAt":"2026-02-01"}"#.utf8) + [0x0D, 0x0A], jsonl)
        let j = try runTool("loyalty", ["import", jsonl] + l)
        #expect(j.status == 0 && j.out.contains("1 commands written"), "\(j.out) \(j.err)")
    }

    @Test func anOverLongLineIsReportedByNumberAndTheImportGoesOn() throws {
        let dir = try TemporaryDirectory.withLedger()
        let file = dir.path + "/c.jsonl"
        let enroll = { (m: String) in Array(#"{"command":"enroll","member":"\#(m)","store":"S1","occurredAt":"2026-02-01"}"#.utf8) + [0x0A] }
        let long = Array(#"{"command":"enroll","member":"X","store":""#.utf8) + [UInt8](repeating: 0x41, count: 10 << 20) + Array(#""}"#.utf8) + [0x0A]
        try write(enroll("M1") + long + enroll("M2"), file)
        let r = try runTool("loyalty", ["import", file, "--ledger", dir.ledger])
        #expect(r.status != 0)
        #expect(r.err.contains("line 2: the line is 10485804 bytes long, more than the 4194304 allowed"), "\(r.err)")
        #expect(r.out.contains("2 commands written"), "\(r.out)")
    }

    /// `-0` in JSON is refused by the parser, and in `--points` by the option parser; a `-0`
    /// amount string (CSV, JSONL, `--amount`) is the domain's money parser's to refuse.
    @Test func aMinusZeroIntegerIsRefused() throws {
        let dir = try TemporaryDirectory.withLedger()
        let l = ["--ledger", dir.ledger]
        #expect(try runTool("loyalty", ["enroll", "M1", "--store", "S1", "--at", "2026-02-01"] + l).status == 0)
        let json = dir.path + "/p.jsonl"
        try #"{"command":"adjust","member":"M1","points":-0,"reason":"r","key":"K1","occurredAt":"2026-02-02"}"#.write(toFile: json, atomically: true, encoding: .utf8)
        let j = try runTool("loyalty", ["import", json] + l)
        #expect(j.status != 0 && j.err.contains("line 1: column 44: -0 is not a canonical integer"), "\(j.err)")
        let option = try runTool("loyalty", ["adjust", "M1", "--points", "-0", "--reason", "r", "--id", "K2", "--at", "2026-02-02"] + l)
        #expect(option.status != 0 && option.err.contains("--points: '-0' is not a whole number written plainly"), "\(option.err)")
    }

    @Test func csvExportsNeutraliseFormulasAndKeepNegativeNumbers() throws {
        let dir = try TemporaryDirectory.withLedger()
        let l = ["--ledger", dir.ledger]
        #expect(try runTool("loyalty", ["enroll", "M1", "--store", "=HYPERLINK(\"http://x\",\"y\")", "--at", "2026-02-01"] + l).status == 0)
        #expect(try runTool("loyalty", ["enroll", "M2", "--store=-2+3", "--at", "2026-02-01"] + l).status == 0)
        #expect(try runTool("loyalty", ["purchase", "M2", "--id", "P1", "--amount", "30", "--store", "@S", "--at", "2026-02-02"] + l).status == 0)
        #expect(try runTool("loyalty", ["return", "P1", "--id", "RT1", "--at", "2026-02-03"] + l).status == 0)
        let export = try runTool("loyalty", ["members", "export", "--format", "csv"] + l)
        #expect(export.status == 0)
        #expect(export.out.contains(#"M1,2026-02-01T00:00:00Z,"'=HYPERLINK(""http://x"",""y"")""#), "\(export.out)")
        #expect(export.out.contains("M2,2026-02-01T00:00:00Z,'-2+3,"), "\(export.out)")
        #expect(!export.out.hasPrefix("\u{FEFF}"))
        let excel = try runTool("loyalty", ["members", "export", "--format", "csv", "--excel"] + l)
        #expect(excel.out.hasPrefix("\u{FEFF}member,"))
        let figures = try runTool("loyalty", ["figures", "--by", "store", "--format", "csv", "--excel"] + l)
        #expect(figures.out.hasPrefix("\u{FEFF}store,") && figures.out.contains("\n'@S,"), "\(figures.out)")
    }

    // MARK: case 9: expire never ahead of time

    @Test func expireRefusesAFutureAsOfAndNeverExpiresALotEarly() throws {
        let dir = try TemporaryDirectory.withLedger()
        let l = ["--ledger", dir.ledger]
        let rules = dir.path + "/rules.json"
        try #"{"version":1,"expiry":{"policy":"months_after_availability","months":1,"roundTo":"end_of_month"}}"#.write(toFile: rules, atomically: true, encoding: .utf8)
        let now = Date()
        #expect(try runTool("loyalty", ["program", "publish", rules, "--at", "2026-01-01"] + l).status == 0)
        #expect(try runTool("loyalty", ["enroll", "M1", "--store", "S1", "--at", rfc3339(now.addingTimeInterval(-7200))] + l).status == 0)
        #expect(try runTool("loyalty", ["purchase", "M1", "--id", "P1", "--amount", "100", "--store", "S1", "--at", rfc3339(now.addingTimeInterval(-3600))] + l).status == 0)
        let future = try runTool("loyalty", ["expire", "--as-of", rfc3339(now.addingTimeInterval(120 * 86_400))] + l)
        #expect(future.status != 0 && future.err.contains("field 'asOf'") && future.err.contains("never run as of a future time"), "\(future.err)")
        let allowed = try runTool("loyalty", ["expire", "--allow-future", "--as-of", rfc3339(now.addingTimeInterval(120 * 86_400))] + l)
        #expect(allowed.status != 0, "--allow-future does not make expiry run ahead")
        let nowRun = try runTool("loyalty", ["expire"] + l)
        #expect(nowRun.status == 0 && nowRun.out.contains("nothing to do"), "\(nowRun.out)")
        let balance = try runTool("loyalty", ["balance", "M1", "--format", "json"] + l)
        #expect(balance.out.contains(#""available":100"#), "\(balance.out)")
        let redeem = try runTool("loyalty", ["redeem", "M1", "--points", "100", "--id", "R1"] + l)
        #expect(redeem.status == 0, "\(redeem.err)")
    }

    // MARK: case 10: enrollment, the future, remembered refusals

    @Test func commandsDatedBeforeEnrollmentAreRefusedExceptARetroClaimInTheWindow() throws {
        let dir = try TemporaryDirectory.withLedger()
        let l = ["--ledger", dir.ledger]
        #expect(try runTool("loyalty", ["enroll", "M1", "--store", "S1", "--at", "2026-03-10T12:00:00Z"] + l).status == 0)
        let adjust = try runTool("loyalty", ["adjust", "M1", "--points", "25", "--reason", "goodwill", "--id", "A1", "--at", "2026-03-01"] + l)
        #expect(adjust.status != 0 && adjust.err.contains("field 'occurredAt': '2026-03-01T00:00:00Z' is before member 'M1' enrolled (2026-03-10T12:00:00Z)"), "\(adjust.err)")
        let purchase = try runTool("loyalty", ["purchase", "M1", "--id", "P1", "--amount", "10", "--store", "S1", "--at", "2026-03-09"] + l)
        #expect(purchase.status != 0 && purchase.err.contains("by more than the program's retroClaimDays (0)"), "\(purchase.err)")
        let rules = dir.path + "/rules.json"
        try #"{"version":2,"retroClaimDays":7,"earning":{"pointsPerUnit":3}}"#.write(toFile: rules, atomically: true, encoding: .utf8)
        #expect(try runTool("loyalty", ["program", "publish", rules, "--at", "2026-03-01"] + l).status == 0)
        let within = try runTool("loyalty", ["purchase", "M1", "--id", "P1", "--amount", "10", "--store", "S1", "--at", "2026-03-04"] + l)
        #expect(within.status == 0 && within.out.contains("points 30,") && within.out.contains("ruleVersion 2"), "\(within.out) \(within.err)")
        let beyond = try runTool("loyalty", ["purchase", "M1", "--id", "P2", "--amount", "10", "--store", "S1", "--at", "2026-03-03T11:59:59Z"] + l)
        #expect(beyond.status != 0 && beyond.err.contains("retroClaimDays (7)"), "\(beyond.err)")
    }

    @Test func aFutureBusinessTimeNeedsAllowFuture() throws {
        let dir = try TemporaryDirectory.withLedger()
        let l = ["--ledger", dir.ledger]
        #expect(try runTool("loyalty", ["enroll", "M1", "--store", "S1", "--at", "2026-01-01"] + l).status == 0)
        let tomorrow = rfc3339(Date().addingTimeInterval(86_400)), soon = rfc3339(Date().addingTimeInterval(60))
        let refused = try runTool("loyalty", ["purchase", "M1", "--id", "P1", "--amount", "10", "--store", "S1", "--at", tomorrow] + l)
        #expect(refused.status != 0 && refused.err.contains("is more than 300 seconds after the ledger's clock") && refused.err.contains("--allow-future"), "\(refused.err)")
        #expect(try runTool("loyalty", ["purchase", "M1", "--id", "P2", "--amount", "10", "--store", "S1", "--at", soon] + l).status == 0, "within the tolerance")
        #expect(try runTool("loyalty", ["purchase", "M1", "--id", "P1", "--amount", "10", "--store", "S1", "--at", tomorrow, "--allow-future"] + l).status == 0)
        let file = dir.path + "/c.jsonl"
        try #"{"command":"adjust","member":"M1","points":5,"reason":"r","key":"K1","occurredAt":"\#(tomorrow)"}"#.write(toFile: file, atomically: true, encoding: .utf8)
        let imported = try runTool("loyalty", ["import", file] + l)
        #expect(imported.status != 0 && imported.err.contains("line 1: field 'occurredAt'"), "\(imported.err)")
        let again = try runTool("loyalty", ["import", file, "--allow-future", "--retry-refused"] + l)
        #expect(again.status == 0 && again.out.contains("1 commands written"), "\(again.out) \(again.err)")
    }

    @Test func reRunningAnImportWritesNothingWhateverWasRefused() throws {
        let dir = try TemporaryDirectory.withLedger()
        let l = ["--ledger", dir.ledger]
        // Line 2 is refused (no points yet, in file order); line 3 brings points dated before it,
        // so deciding line 2 again would accept it.
        let file = dir.path + "/c.jsonl"
        try """
        {"command":"enroll","member":"M1","store":"S1","occurredAt":"2026-02-01"}
        {"command":"redeem","member":"M1","points":10,"redemptionId":"R1","occurredAt":"2026-02-10"}
        {"command":"purchase","member":"M1","purchaseId":"P1","amount":"50","store":"S1","occurredAt":"2026-02-05"}

        """.write(toFile: file, atomically: true, encoding: .utf8)
        let first = try runTool("loyalty", ["import", file] + l)
        #expect(first.err.contains("line 2: member 'M1' has 0 spendable points, 10 requested"), "\(first.err)")
        let count = try eventCount(l)
        let second = try runTool("loyalty", ["import", file] + l)
        #expect(second.out.contains("0 commands written"), "\(second.out)")
        #expect(second.err.contains("line 2: refused by an earlier import (position"), "\(second.err)")
        #expect(try eventCount(l) == count)
        let corrected = dir.path + "/corrected.jsonl"
        try #"{"command":"redeem","member":"M1","points":5,"redemptionId":"R1","occurredAt":"2026-02-10"}"#.write(toFile: corrected, atomically: true, encoding: .utf8)
        let fixed = try runTool("loyalty", ["import", corrected] + l)
        #expect(fixed.status == 0 && fixed.out.contains("1 commands written"), "a corrected line is a new request: \(fixed.out) \(fixed.err)")
        #expect(try runTool("loyalty", ["verify"] + l).status == 0)
    }

    @Test func reImportingTheDemoDataWritesNothing() throws {
        let dir = try TemporaryDirectory.withLedger()
        let l = ["--ledger", dir.ledger]
        #expect(try runTool("loyalty", ["program", "publish", "schemas/examples/retail.rules.json".fromPackageRoot, "--at", "2025-01-01"] + l).status == 0)
        let generated = try runTool("loyalty", ["generate", "--commands", "--count", "4000", "--members", "200"])
        let file = dir.path + "/c.jsonl"
        // The generator writes only commands the ledger accepts; one that is refused (more points
        // than the member has) shows that a refusal is remembered too.
        let refused = #"{"command":"redeem","member":"M0000001","points":99999999,"redemptionId":"R-over","occurredAt":"2025-06-02"}"#
        try (generated.out + refused + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let first = try runTool("loyalty", ["import", file] + l)
        #expect(first.out.contains("refused") && !first.out.contains(" 0 refused"), "\(first.out)")
        let count = try eventCount(l)
        let second = try runTool("loyalty", ["import", file] + l)
        #expect(second.out.contains("0 commands written"), "\(second.out)")
        #expect(try eventCount(l) == count)
    }
}

private extension String {
    /// A path relative to the package root, for a test run from anywhere.
    var fromPackageRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(self).path
    }
}

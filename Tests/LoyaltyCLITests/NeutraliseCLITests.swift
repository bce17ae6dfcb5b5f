import Foundation
import LedgerStore
import LedgerTestSupport
import Testing

/// The recovery from a stored event no fold can apply (issue 13): `loyalty neutralise` records a
/// correcting event and the position every fold then skips; `history`, `reconcile` and `verify`
/// show both.
@Suite struct NeutraliseCLITests {
    /// M1 enrolled, one purchase (positions 1-3), then a redemption from a lot M1 never had,
    /// written past the domain (position 4).
    func ledgerWithABadEvent(_ dir: borrowing TemporaryDirectory) async throws -> [String] {
        let l = ["--ledger", dir.ledger]
        #expect(try runTool("loyalty", ["init"] + l).status == 0)
        #expect(try runTool("loyalty", ["enroll", "M1", "--store", "S1", "--at", "2026-01-02T00:00:00Z"] + l).status == 0)
        #expect(try runTool("loyalty", ["purchase", "M1", "--id", "P1", "--amount", "10", "--store", "S1", "--at", "2026-01-03T00:00:00Z"] + l).status == 0)
        var options = EventLogOptions()
        options.writable = true
        let log = try EventLog.open(path: dir.ledger, options: options)
        let bad = try await log.append([EventDraft(type: "points.redeemed", member: "M1", occurredAt: 1_767_398_400_000_000,
                                                   data: Array(#"{"allocations":[{"lotId":"P:nope","points":5}],"member":"M1","points":5,"redemptionId":"R1"}"#.utf8))])
        #expect(bad.events.first?.position == 4)
        log.close()
        return l
    }

    @Test(.timeLimit(.minutes(3)))
    func neutralisingTheBadEventMakesEveryCommandWorkAgainAndIsShown() async throws {
        let dir = TemporaryDirectory()
        let l = try await ledgerWithABadEvent(dir)
        let refused = try runTool("loyalty", ["purchase", "M1", "--id", "P2", "--amount", "10", "--store", "S1"] + l)
        #expect(refused.status == 1 && refused.err.contains("event at position 4 (points.redeemed, member M1) cannot be applied"), "\(refused.err)")
        let balanceBefore = try runTool("loyalty", ["balance", "M1"] + l)
        #expect(balanceBefore.status != 0 && balanceBefore.err.contains("position 4"), "\(balanceBefore.out)\(balanceBefore.err)")

        let n = try runTool("loyalty", ["neutralise", "--position", "4", "--reason", "redemption from a lot that never existed", "--operator", "ops-anna"] + l)
        #expect(n.status == 0 && n.out.contains("position 4 (points.redeemed, member M1) neutralised by position 5"), "\(n.out)\(n.err)")

        let purchase = try runTool("loyalty", ["purchase", "M1", "--id", "P2", "--amount", "10", "--store", "S1"] + l)
        #expect(purchase.status == 0, "\(purchase.err)")
        let balance = try runTool("loyalty", ["balance", "M1", "--format", "json"] + l)
        #expect(balance.status == 0, "\(balance.err)")
        let figures = try runTool("loyalty", ["figures"] + l)
        #expect(figures.status == 0, "\(figures.err)")
        let reconcile = try runTool("loyalty", ["reconcile", "--report", dir.path + "/r.json"] + l)
        #expect(reconcile.status == 0 && reconcile.out.contains("neutralised: position 4 by position 5") && reconcile.out.contains("OK:"),
                "\(reconcile.out)\(reconcile.err)")
        let report = try String(contentsOfFile: dir.path + "/r.json", encoding: .utf8)
        #expect(report.contains(#""neutralisations":[{"by":5,"position":4}]"#), "\(report)")
        let shown = "position 4 neutralised by position 5 (operator ops-anna, reason: redemption from a lot that never existed"
        let verify = try runTool("loyalty", ["verify"] + l)
        #expect(verify.status == 0 && verify.out.contains(shown), "\(verify.out)\(verify.err)")
        let history = try runTool("loyalty", ["history", "M1"] + l)
        #expect(history.status == 0 && history.out.contains(shown), "\(history.out)\(history.err)")
        let historyJSON = try runTool("loyalty", ["history", "M1", "--format", "json"] + l)
        #expect(historyJSON.status == 0, "\(historyJSON.err)")
        let last = historyJSON.out.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.hasPrefix(#"{"neutralised":{"by":5,"fault":"#) && last.contains(#""operator":"ops-anna","position":4,"reason":"redemption from a lot that never existed","type":"points.redeemed"}}"#),
                "\(historyJSON.out)")
        let events = try runTool("loyalty", ["events"] + l)
        #expect(events.status == 0 && events.out.contains("ledger.neutralised"), "\(events.out)")
    }

    @Test(.timeLimit(.minutes(3)))
    func neutraliseRefusesWhatItMustNotWrite() async throws {
        let dir = TemporaryDirectory()
        let l = try await ledgerWithABadEvent(dir)
        let who = ["--reason", "r", "--operator", "o"]
        for (position, message) in [("3", "applies cleanly"), ("0", "not in the log"), ("5", "not in the log (it holds positions 1...4)")] {
            let r = try runTool("loyalty", ["neutralise", "--position", position] + who + l)
            #expect(r.status == 1 && r.err.contains("refused, nothing written") && r.err.contains(message), "\(position): \(r.err)")
        }
        for (flags, message) in [(["--reason", " ", "--operator", "o"], "--reason: must not be empty"),
                                 (["--reason", "r", "--operator", ""], "--operator: must not be empty")] {
            let r = try runTool("loyalty", ["neutralise", "--position", "4"] + flags + l)
            #expect(r.status == 1 && r.err.contains(message), "\(flags): \(r.err)")
        }
        #expect(try runTool("loyalty", ["events"] + l).out.split(separator: "\n").count == 4)
        #expect(try runTool("loyalty", ["neutralise", "--position", "4"] + who + l).status == 0)
        let twice = try runTool("loyalty", ["neutralise", "--position", "4"] + who + l)
        #expect(twice.status == 1 && twice.err.contains("neutralised already (by position 5)"), "\(twice.err)")
        let correcting = try runTool("loyalty", ["neutralise", "--position", "5"] + who + l)
        #expect(correcting.status == 1 && correcting.err.contains("not a domain event"), "\(correcting.err)")
        #expect(try runTool("loyalty", ["events"] + l).out.split(separator: "\n").count == 5)
    }

    @Test(.timeLimit(.minutes(2)))
    func appendRefusesTheCorrectingEventType() throws {
        let dir = TemporaryDirectory()
        let l = ["--ledger", dir.ledger]
        #expect(try runTool("loyalty", ["init"] + l).status == 0)
        let line = #"{"type":"ledger.neutralised","member":"M1","occurredAt":"2026-01-02T00:00:00Z","data":{"position":1}}"#
        let r = try runTool("loyalty", ["append"] + l, input: line + "\n")
        #expect(r.status == 1 && r.err.contains("only `loyalty neutralise` writes it"), "\(r.out)\(r.err)")
    }
}

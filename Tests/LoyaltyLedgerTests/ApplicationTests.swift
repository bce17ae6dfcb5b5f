import Foundation
import LedgerJSON
import LedgerTestSupport
import LoyaltyAudit
import LoyaltyDomain
import LoyaltyLedger
import Projections
import Synchronization
import Testing

/// The application layer through its Swift API: imports, queries and reports as the CLI and the
/// server call them, without the binary.
@Suite(.timeLimit(.minutes(2))) struct ApplicationTests {
    static let members = """
        member_id,enrolled_at,store_id,birth_date,gender
        M1,2026-01-05T09:00:00Z,S1,,
        M2,2026-01-06T09:00:00Z,S2,1990-04-01,f
        M3,not-a-date,S1,,

        """
    static let purchases = """
        member_id,purchase_id,occurred_at,amount,currency,store_id
        M1,P1,2026-02-01T10:00:00Z,12.50,EUR,S1
        M2,P2,2026-02-02T10:00:00Z,30.00,EUR,S2
        M9,P9,2026-02-03T10:00:00Z,7.00,,S1
        M1,P3,2026-02-04T10:00:00Z,5.00,USD,S1

        """

    /// A ledger with the members and purchases imported (M9 enrolled at its purchase).
    func imported(_ dir: borrowing TemporaryDirectory) async throws -> (summaries: [ImportProgress], refusals: [ImportRefusal]) {
        try Self.members.write(toFile: dir.path + "/members.csv", atomically: true, encoding: .utf8)
        try Self.purchases.write(toFile: dir.path + "/purchases.csv", atomically: true, encoding: .utf8)
        let app = try LedgerApplication.open(path: dir.ledger, options: ApplicationOptions(writable: true, create: true))
        defer { app.close() }
        var options = ImportOptions()
        options.enrollUnknown = true
        var refusals: [ImportRefusal] = []
        var progressCalls = 0
        var summaries: [ImportProgress] = []
        for file in ["members.csv", "purchases.csv"] {
            summaries.append(try await app.ledger.importFile(path: dir.path + "/" + file, options: options,
                                                             refused: { refusals.append($0) }, progress: { _ in progressCalls += 1 }))
        }
        #expect(progressCalls >= 2)
        return (summaries, refusals)
    }

    @Test func importsCountWhatTheyWroteAndNameEachRefusedLine() async throws {
        let dir = TemporaryDirectory()
        let (summaries, refusals) = try await imported(dir)
        #expect(summaries[0].linesRead == 4 && summaries[0].written == 2 && summaries[0].refused == 1)
        #expect(summaries[0].bytesTotal == Self.members.utf8.count && summaries[0].bytesRead == Self.members.utf8.count)
        // P1, P2, the enrollment of M9 and P9 written; P3 refused for its currency.
        #expect(summaries[1].written == 4 && summaries[1].refused == 1, "\(summaries[1])")
        #expect(refusals.map(\.line) == [4, 5])
        #expect(refusals[0].reason.contains("field 'enrolled_at'"))
        #expect(refusals[1].reason.contains("publish rules in that currency") && refusals[1].reason.contains("--currency USD"), "\(refusals[1])")

        // Again: nothing new is written, the refusals are remembered.
        let app = try LedgerApplication.open(path: dir.ledger, options: ApplicationOptions(writable: true))
        defer { app.close() }
        let again = try await app.ledger.importFile(path: dir.path + "/purchases.csv")
        #expect(again.written == 0 && again.replayed == 3 && again.refused == 1, "\(again)")
    }

    /// A read catches the projections up when they are near the head; far behind, it answers at
    /// once from their checkpoint and says how far behind; the balance, from the decision state,
    /// is current either way.
    @Test func readsNeverWaitForALongCatchUp() async throws {
        let dir = TemporaryDirectory()
        _ = try await imported(dir)
        let app = try LedgerApplication.open(path: dir.ledger)
        defer { app.close() }
        let head = try app.log.headPosition()
        let far = try app.catchUpIfNear(eventsMax: 2)
        #expect(far.stale && far.eventsBehind == head && far.elapsedMilliseconds == 0)
        #expect(try app.projectionLag() == head, "nothing was caught up")
        #expect(try app.balance(member: "M2", at: .now()).available > 0, "the balance is current without the projections")
        let near = try app.catchUpIfNear()
        let lagAfter = try app.projectionLag()
        #expect(!near.stale && near.eventsBehind == head && lagAfter == 0)
    }

    @Test func queriesAnswerFromTheProjectionsAndFiltersNameTheValidValues() async throws {
        let dir = TemporaryDirectory()
        _ = try await imported(dir)
        let app = try LedgerApplication.open(path: dir.ledger)
        defer { app.close() }
        #expect(throws: ApplicationError.self) { _ = try app.ledger }
        let caughtUp = try app.catchUp()
        #expect(caughtUp.head > 0 && caughtUp.stops.isEmpty)
        let now = Timestamp.now()
        #expect(try app.balance(member: "M1", at: now).available == 12)
        #expect(try app.balance(member: "M2", at: now).available == 30)
        #expect(throws: ApplicationError.self) { try app.balance(member: "nobody", at: now) }
        let m2 = try app.member("M2", at: now)
        #expect(m2.view.enrollmentStore == "S2" && m2.view.purchaseCount == 1 && m2.json["gender"] == .string("f"))

        var listed: [String] = []
        try app.members(MemberFilter(store: "S1"), at: now) { listed.append($0.member) }
        #expect(listed == ["M1", "M9"])
        let badTier = #expect(throws: ApplicationError.self) { try app.members(MemberFilter(tier: "gold"), at: now) { _ in } }
        #expect(badTier?.description == "unknown tier 'gold' (the program has no tiers)")
        let badStage = #expect(throws: ApplicationError.self) { try app.validate(MemberFilter(stage: "sleeping"), at: now) }
        #expect(badStage?.description.contains("lead, new, active, defecting, inactive") == true)

        let asOf = try app.member("M1", asOf: Timestamp(rfc3339: "2026-01-20T00:00:00Z") ?? now)
        #expect(asOf.value.view.purchaseCount == 0)
        let early = try app.historicalBalance(member: "M1", filter: ViewFilter(asOf: Timestamp(rfc3339: "2026-01-31")), at: now)
        #expect(early.value.balance.available == 0 && early.value.hasEvents)

        let figures = try app.figures(FiguresQuery(grouping: .store), at: now)
        #expect(figures.rows.map(\.key) == ["S1", "S2"])
        #expect(figures.total["purchases"] == 3 && figures.total["pointsIssued"] == 49 && figures.liabilityPoints == 49)
        #expect(try app.figures(FiguresQuery(from: "2026-02-02", to: "2026-02-02", grouping: .none), at: now).total["purchases"] == 1)

        #expect(try app.explain(member: "M1", at: now).json["member"] == .string("M1"))
        let rows = HistoryBytes()
        let neutralised = try app.history(member: "M1", from: nil, to: nil, header: [], format: { row, out in
            row.writeJSON(into: &out)
            out.append(0x0A)
        }, flush: { rows.append($0) })
        #expect(neutralised.isEmpty)
        #expect(rows.lines.count == 3 && rows.lines[0].contains("member.enrolled"), "\(rows.lines)")
        #expect(throws: ApplicationError.self) { _ = try app.history(member: "nobody", from: nil, to: nil, header: [], format: { _, _ in }, flush: { _ in }) }
        let reconciliation = try app.reconcile(at: now)
        #expect(reconciliation.report.matched)
        let export = try app.reconcilePurchases(exportPath: dir.path + "/purchases.csv", from: nil, to: nil)
        #expect(export.matched == 3, "P3 was refused, so it is missing from the ledger")
        #expect(try app.stats().eventCount > 0)
    }

    @Test func aDateMeansLocalMidnightInTheProgramsZone() async throws {
        let dir = TemporaryDirectory()
        let app = try LedgerApplication.open(path: dir.ledger, options: ApplicationOptions(writable: true, create: true))
        defer { app.close() }
        let (rules, note) = try LedgerApplication.defaultRules(currency: "CNY", zone: "Asia/Shanghai")
        #expect(rules.currency == "CNY" && rules.timeZone.offsetSeconds == 8 * 3600 && rules.version == 1)
        #expect(note?.contains("+08:00") == true)
        try await app.ledger.execute(.publishProgram(rules, at: LedgerApplication.defaultRulesEffectiveAt))
        #expect(try app.programRules(at: .now()).currency == "CNY")
        let date = try #require(RequestedTime("2026-11-03"))
        #expect(try app.resolve(date).rfc3339 == "2026-11-02T16:00:00Z")
        let instant = try #require(RequestedTime("2026-11-03T10:00:00+01:00"))
        #expect(try app.resolve(instant).rfc3339 == "2026-11-03T09:00:00Z")
        #expect(RequestedTime("2026-13-01") == nil && RequestedTime("yesterday") == nil)
        // A date alone in an import file is local midnight too; a full time stays as written.
        try "member_id,enrolled_at,store_id,birth_date,gender\nM1,2026-11-03,S1,,\nM2,2026-11-03T00:00:00Z,S1,,\n"
            .write(toFile: dir.path + "/m.csv", atomically: true, encoding: .utf8)
        #expect(try await app.ledger.importFile(path: dir.path + "/m.csv").written == 2)
        #expect(try app.ledger.member("M1")?.enrolledAt?.rfc3339 == "2026-11-02T16:00:00Z")
        #expect(try app.ledger.member("M2")?.enrolledAt?.rfc3339 == "2026-11-03T00:00:00Z")
        #expect(throws: ApplicationError.self) { try ZoneName.resolve("Mars/Olympus", at: .now()) }
        #expect(throws: ApplicationError.self) { try LedgerApplication.defaultRules(currency: "yuan", zone: nil) }
        // A rules document may name its zone; the log records the offset.
        let document = Array(#"{"version": 2, "currency": "CNY", "timeZone": "Asia/Shanghai"}"#.utf8)
        let published = try LedgerApplication.rules(document: document, effectiveAt: .now())
        #expect(published.rules.timeZone.description == "+08:00" && published.rules.version == 2)
    }

    @Test func everyMemberStateIsWalkedOnce() async throws {
        let dir = TemporaryDirectory()
        _ = try await imported(dir)
        let ledger = try Ledger.open(path: dir.ledger)
        defer { ledger.close() }
        var seen: [String] = []
        try ledger.forEachMemberState { seen.append($0.member) }
        #expect(seen.sorted() == ["M1", "M2", "M9"])
        let source = ModelBalanceSource(ledger: ledger)
        #expect(try source.allMembers().sorted() == seen.sorted())
        #expect(try source.figures(member: "M1", at: .now())?.available == 12)
    }
}

/// What `history` flushed (from its output thread).
final class HistoryBytes: Sendable {
    private let bytes = Mutex<[UInt8]>([])
    func append(_ more: [UInt8]) { bytes.withLock { $0 += more } }
    var lines: [String] { bytes.withLock { String(decoding: $0, as: UTF8.self).split(separator: "\n").map(String.init) } }
}

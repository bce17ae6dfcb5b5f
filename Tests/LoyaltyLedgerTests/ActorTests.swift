import Foundation
import LedgerTestSupport
import LoyaltyDomain
import LoyaltyLedger
import Testing

/// The actor given to a command, a batch or an import is stored with every event it writes
/// (refusals an import remembers included); without one, events have none.
@Suite(.timeLimit(.minutes(2))) struct ActorTests {
    @Test func commandsBatchesAndImportsStoreTheirActor() async throws {
        let dir = TemporaryDirectory()
        let app = try LedgerApplication.open(path: dir.ledger, options: ApplicationOptions(writable: true, create: true))
        defer { app.close() }
        let ledger = try app.ledger
        let (rules, _) = try LedgerApplication.defaultRules(currency: "EUR", zone: nil)
        _ = try await ledger.execute(.publishProgram(rules, at: LedgerApplication.defaultRulesEffectiveAt))
        let at = Timestamp(rfc3339: "2026-01-05T10:00:00Z") ?? .now()
        func enroll(_ m: String) -> Command { .enroll(member: m, store: "S1", brand: "main", channel: "store", birthDate: nil, gender: nil, profile: [:], at: at) }
        let one = try await ledger.execute(enroll("m1"), actor: "till-1")
        _ = try await ledger.executeBatch([enroll("m2"), enroll("m3")], actor: "ops")
        _ = try await ledger.execute(enroll("m4"))
        try """
            member_id,purchase_id,occurred_at,amount,currency,store_id
            m1,P1,2026-01-06T10:00:00Z,12.50,EUR,S1
            m1,P2,2026-01-06T10:00:00Z,5.00,USD,S1

            """.write(toFile: dir.path + "/p.csv", atomically: true, encoding: .utf8)
        var options = ImportOptions()
        options.actor = "importer"
        let imported = try await ledger.importFile(path: dir.path + "/p.csv", options: options)
        #expect(imported.written == 1 && imported.refused == 1)

        let events = try app.log.events(after: one.events[0].position - 1, limit: 100)
        let byMember = Dictionary(grouping: events, by: \.member)
        #expect(byMember["m1"]?.first?.actor == "till-1")
        #expect(byMember["m2"]?.allSatisfy { $0.actor == "ops" } == true && byMember["m3"]?.allSatisfy { $0.actor == "ops" } == true)
        #expect(byMember["m4"]?.allSatisfy { $0.actor == nil } == true)
        let importedEvents = events.filter { $0.idempotencyKey?.contains("P1") == true || $0.idempotencyKey?.contains("P2") == true }
        #expect(importedEvents.count >= 2, "the purchase's events and the remembered refusal")
        #expect(importedEvents.allSatisfy { $0.actor == "importer" }, "\(importedEvents.map { ($0.type, $0.actor ?? "nil") })")
        // A retry by another actor writes nothing and keeps the first.
        let retry = try await ledger.execute(enroll("m1"), actor: "ops")
        #expect(retry.replayed)
        #expect(try app.log.event(at: one.events[0].position)?.actor == "till-1")
    }
}

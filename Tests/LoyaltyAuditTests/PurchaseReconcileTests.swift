import Foundation
import LedgerStore
import LoyaltyAudit
import LoyaltyDomain
import Testing

@Suite struct PurchaseReconcileTests {
    func line(_ n: Int, _ m: String, _ id: String, _ amount: String, _ at: String, store: String = "S1") -> SourcePurchase {
        SourcePurchase(line: n, purchase: .init(member: m, purchaseId: id, amount: amount, currency: "EUR", store: store, at: t(at)))
    }

    @Test(.timeLimit(.minutes(1)))
    func everyKindOfDisagreementIsFoundWithItsLineOrPosition() async throws {
        let l = try TestLedger()
        defer { l.done() }
        try await l.enroll("M1")
        try await l.buy("M1", "P1", "10.00", at: "2026-02-01T10:00:00Z")
        try await l.buy("M1", "P2", "20.00", at: "2026-02-02T10:00:00Z")
        try await l.buy("M1", "P3", "30.00", at: "2026-02-03T10:00:00Z")
        try await l.buy("M1", "P5", "50.00", at: "2026-02-03T11:00:00Z")
        try await l.buy("M1", "OLD", "50.00", at: "2026-01-03T11:00:00Z")
        try await l.run(.returnPurchase(purchaseId: "P5", returnId: "RT5", amount: "5.00", at: t("2026-02-04T10:00:00Z")))
        let source = [
            line(2, "M1", "P1", "10.00", "2026-02-01T10:00:00Z"),
            line(3, "M1", "P2", "20.01", "2026-02-02T10:00:00Z"),
            line(4, "M1", "P4", "40.00", "2026-02-04T10:00:00Z"),
            line(5, "M1", "P1", "10.00", "2026-02-01T10:00:00Z"),
            line(7, "M1", "P6", "12.345", "2026-02-04T12:00:00Z"),
        ]
        let r = try PurchaseReconciler.run(source: source, badLines: [(6, "expected 6 fields, found 5")], log: l.log)
        #expect(!r.allMatched)
        let found = r.findings.map { "\($0.kind.rawValue) \($0.purchaseId) \($0.line.map(String.init) ?? "-")" }
        #expect(found == ["field_mismatch P2 3", "missing_from_ledger P4 4", "duplicate_in_source P1 5", "bad_line  6",
                          "missing_from_ledger P6 7", "missing_from_source P3 -", "missing_from_source P5 -", "return_without_purchase P5 -"])
        #expect(r.findings.first?.detail == "amount: source 2001, ledger 2000 minor units")
        #expect(r.matched == 1 && r.pointsChecked == 2 && r.ledgerPurchases == 4)
        #expect(r.count(.pointsDisagree) == 0)
    }

    @Test(.timeLimit(.minutes(1)))
    func aMatchingExportIsAllMatchedEvenWhereCapsDependOnTheMembersState() async throws {
        let l = try TestLedger()
        defer { l.done() }
        try await l.publish(#"{"version": 1, "currency": "EUR", "caps": {"perDay": 100}}"#, at: "2026-01-01T00:00:00Z")
        try await l.enroll("M1")
        try await l.buy("M1", "P1", "90.00", at: "2026-02-01T10:00:00Z")
        try await l.buy("M1", "P2", "50.00", at: "2026-02-01T11:00:00Z")
        #expect(l.member("M1")?.earned == 100)
        let r = try PurchaseReconciler.run(source: [line(2, "M1", "P1", "90.00", "2026-02-01T10:00:00Z"),
                                                    line(3, "M1", "P2", "50.00", "2026-02-01T11:00:00Z")], badLines: [], log: l.log)
        #expect(r.allMatched, "\(r.findings)")
        #expect(r.pointsChecked == 2 && r.matched == 2)
    }

    @Test(.timeLimit(.minutes(1)))
    func pointsThatDisagreeWithTheRulesInForceAreFound() async throws {
        let l = try TestLedger()
        defer { l.done() }
        try await l.publish(#"{"version": 1, "currency": "EUR"}"#, at: "2026-01-01T00:00:00Z")
        try await l.enroll("M1")
        try await l.buy("M1", "P1", "10.00", at: "2026-02-01T10:00:00Z")
        try await l.buy("M1", "P2", "10.00", at: "2026-03-01T10:00:00Z")
        // Double points from 15 February, published only after both purchases were recorded.
        try await l.publish(#"{"version": 2, "currency": "EUR", "earning": {"pointsPerUnit": 2}}"#, at: "2026-02-15T00:00:00Z")
        let r = try PurchaseReconciler.run(source: [line(2, "M1", "P1", "10.00", "2026-02-01T10:00:00Z"),
                                                    line(3, "M1", "P2", "10.00", "2026-03-01T10:00:00Z")], badLines: [], log: l.log)
        #expect(r.findings.map(\.kind) == [.pointsDisagree])
        #expect(r.findings.first?.line == 3)
        #expect(r.findings.first?.detail == "rules in force give 20 points, the ledger recorded 10")
    }
}

import Foundation
import LedgerStore
import LedgerTestSupport
import Testing
@testable import Projections

/// `loyalty reconcile` checks the balances projection against an independent fold of the log: a
/// consistent ledger matches, a tampered projection value is named and exits 1.
@Suite struct ProjectionReconcileTests {
    @Test(.timeLimit(.minutes(2)))
    func reconcileMatchesAConsistentLedgerAndNamesATamperedProjectionValue() throws {
        let dir = TemporaryDirectory()
        try makeLedger(dir.ledger, commands: 600, members: 40)
        let ok = try runTool("loyalty", ["reconcile", "--report", dir.path + "/ok.json", "--ledger", dir.ledger])
        #expect(ok.status == 0, "consistent ledger: \(ok.out) \(ok.err)")
        #expect(ok.out.contains("OK"))
        // Forge one member's earned points inside the live balances table.
        do {
            let log = try EventLog.open(path: dir.ledger, options: { var o = EventLogOptions(); o.writable = false; return o }())
            defer { log.close() }
            let p = try LedgerProjections(log: log)
            let meta = try #require(try p.store.meta(Balances.name, .live))
            let table = p.store.table(Balances.name, slot: meta.slot)
            var record = try #require(try p.store.value(Balances.self, key: "M0000007"))
            record.earned += 500
            try p.store.env.write { txn in try txn.put(table, key: Array("M0000007".utf8), value: Balances.encoded(record)) }
        }
        let bad = try runTool("loyalty", ["reconcile", "--report", dir.path + "/bad.json", "--ledger", dir.ledger])
        #expect(bad.status == 1)
        #expect(bad.out.contains("M0000007"), "the tampered member is named: \(bad.out)")
        let check = try runTool("loyalty", ["projections", "check", "balances", "--ledger", dir.ledger])
        #expect(check.status == 1 && check.out.contains("MISMATCH"), "the determinism check catches it too")
    }
}

import Foundation
import LedgerJSON
import LedgerStore
import LoyaltyDomain
import LoyaltyLedger

func t(_ text: String) -> Timestamp {
    guard let time = Timestamp(rfc3339: text) else { preconditionFailure("bad test time \(text)") }
    return time
}

/// A fresh ledger in its own temporary directory; removed by `done`.
struct TestLedger {
    let dir = NSTemporaryDirectory() + "audit-" + UUID().uuidString
    let ledger: Ledger

    init() throws { ledger = try Ledger.open(path: dir, create: true) }

    func done() {
        ledger.close()
        try? FileManager.default.removeItem(atPath: dir)
    }

    @discardableResult
    func run(_ command: Command) async throws -> CommandOutcome { try await ledger.execute(command) }

    func enroll(_ m: String, at: String = "2026-01-01T09:00:00Z", store: String = "S1") async throws {
        try await run(.enroll(member: m, store: store, brand: "main", channel: "store", birthDate: nil, gender: nil, profile: [:], at: t(at)))
    }

    func buy(_ m: String, _ id: String, _ amount: String, at: String, store: String = "S1") async throws {
        try await run(.purchase(.init(member: m, purchaseId: id, amount: amount, store: store, at: t(at))))
    }

    func publish(_ json: String, at: String) async throws {
        try await run(.publishProgram(try ProgramRules(json: try JSONCanonical.parse(json)), at: t(at)))
    }

    /// The ledger time of the last committed event.
    func recordedNow() throws -> Timestamp { Timestamp(microseconds: try ledger.log.head().recordedAt) }
}

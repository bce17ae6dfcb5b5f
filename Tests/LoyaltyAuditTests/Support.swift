import Foundation
import LedgerJSON
import LedgerStore
import LoyaltyAudit
import LoyaltyDomain
import Synchronization

func t(_ text: String) -> Timestamp {
    guard let time = Timestamp(rfc3339: text) else { preconditionFailure("bad test time \(text)") }
    return time
}

/// A fresh log in its own temporary directory, written as the domain decides: each command is
/// decided on an in-memory `LedgerModel` and its events appended (what the application's
/// `Ledger` does, without it: the audit reads only the log). Removed by `done`.
struct TestLedger {
    let dir = NSTemporaryDirectory() + "audit-" + UUID().uuidString
    let log: EventLog
    let state = ModelState()

    /// The decision model, shared by copies of the `TestLedger`.
    final class ModelState: Sendable {
        let model = Mutex(LedgerModel())
    }

    init() throws {
        var options = EventLogOptions()
        options.create = true
        log = try EventLog.open(path: dir, options: options)
    }

    func done() {
        log.close()
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Decides `command` and appends its events; a refusal throws `DomainError`.
    func run(_ command: Command) async throws {
        let events: [DomainEvent] = try state.model.withLock { model in
            guard case .append(let events) = try model.decideValidated(command) else { return [] }
            try model.apply(contentsOf: events, at: command.at)
            return events
        }
        guard !events.isEmpty else { return }
        let key = command.idempotencyKey
        let drafts = try events.enumerated().map { i, event in
            EventDraft(type: event.type, schemaVersion: DomainEvent.schemaVersion, member: event.stream, occurredAt: command.at.microseconds,
                       data: try event.checkRoundTrip(), idempotencyKey: key.map { $0 + "#" + String(i) })
        }
        _ = try await log.append(drafts)
    }

    func enroll(_ m: String, at: String = "2026-01-01T09:00:00Z", store: String = "S1") async throws {
        try await run(.enroll(member: m, store: store, brand: "main", channel: "store", birthDate: nil, gender: nil, profile: [:], at: t(at)))
    }

    func buy(_ m: String, _ id: String, _ amount: String, at: String, store: String = "S1") async throws {
        try await run(.purchase(.init(member: m, purchaseId: id, amount: amount, store: store, at: t(at))))
    }

    func publish(_ json: String, at: String) async throws {
        try await run(.publishProgram(try ProgramRules(json: try JSONCanonical.parse(json)), at: t(at)))
    }

    func balance(_ m: String, at: Timestamp) -> Balance? { state.model.withLock { $0.balance(m, at: at) } }
    func member(_ m: String) -> MemberState? { state.model.withLock { $0.member(m) } }

    /// The ledger time of the last committed event.
    func recordedNow() throws -> Timestamp { Timestamp(microseconds: try log.head().recordedAt) }
}

/// The test model's balances as reconciliation's source, through the log's head.
struct ModelSource: BalanceSource {
    let ledger: TestLedger
    func position() throws -> UInt64 { try ledger.log.headPosition() }
    func allMembers() throws -> [String] { ledger.state.model.withLock { Array($0.members.keys) } }
    func figures(member: String, at: Timestamp) throws -> MemberFigures? { ledger.balance(member, at: at).map(MemberFigures.init) }
}

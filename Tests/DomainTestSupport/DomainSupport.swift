import LedgerJSON
@testable public import LoyaltyDomain

public func t(_ text: String) -> Timestamp { Timestamp(rfc3339: text)! }

/// Decides and applies, like the ledger's writer does.
@discardableResult
public func run(_ model: inout LedgerModel, _ command: Command) throws -> [DomainEvent] {
    switch try model.decide(command) {
    case .replay: return []
    case .append(let events):
        for e in events {
            // Round-trip every event through its JSON form, as the log stores it.
            let decoded = try DomainEvent.decode(type: e.type, schemaVersion: 1, json: try JSONCanonical.parse(String(decoding: JSONCanonical.encode(e.json), as: UTF8.self)))
            precondition(decoded == e, "JSON round trip of \(e.type)")
            try model.apply(decoded, at: command.at)
        }
        return events
    }
}

public func enroll(_ model: inout LedgerModel, _ m: String, at: String = "2026-01-01T09:00:00Z", birthDate: String? = nil) throws {
    try run(&model, .enroll(member: m, store: "S1", brand: "main", channel: "store", birthDate: birthDate, gender: nil, profile: [:], at: t(at)))
}

@discardableResult
public func buy(_ model: inout LedgerModel, _ m: String, _ id: String, _ amount: String, at: String, store: String = "S1",
         lines: [(String, String)] = [], paidWithPoints: String? = nil) throws -> [DomainEvent] {
    try run(&model, .purchase(.init(member: m, purchaseId: id, amount: amount, store: store,
                                    lines: lines.map { (category: $0.0, amount: $0.1) }, paidWithPoints: paidWithPoints, at: t(at))))
}

public func balance(_ model: LedgerModel, _ m: String, at: String) -> Balance { model.balance(m, at: t(at))! }

public func rules(_ json: String) throws -> ProgramRules { try ProgramRules(json: try JSONCanonical.parse(json)) }

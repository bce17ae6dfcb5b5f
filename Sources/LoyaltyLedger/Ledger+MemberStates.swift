public import LoyaltyAudit
public import LoyaltyDomain

extension Ledger {
    /// Calls `body` with the decision state of every member, in no particular order. The one way
    /// above `Ledger` to walk every member (reconciliation's `ModelBalanceSource`): callers never
    /// hold the whole model.
    public func forEachMemberState(_ body: (MemberState) throws -> Void) throws {
        try withModel { model in
            for state in model.members.values { try body(state) }
        }
    }
}

/// The decision state as reconciliation's `BalanceSource`: every member's balance as the
/// `Ledger` decides on it, through the last position it folded.
public struct ModelBalanceSource: BalanceSource {
    public let ledger: Ledger
    public init(ledger: Ledger) { self.ledger = ledger }

    public func position() throws -> UInt64 { try ledger.modelPosition() }

    public func allMembers() throws -> [String] {
        var out: [String] = []
        try ledger.forEachMemberState { out.append($0.member) }
        return out
    }

    public func figures(member: String, at: Timestamp) throws -> MemberFigures? {
        try ledger.balance(member, at: at).map(MemberFigures.init)
    }
}

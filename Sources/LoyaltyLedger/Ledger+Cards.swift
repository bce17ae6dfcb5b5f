public import LoyaltyDomain

extension Ledger {
    /// Card `number` (any normalisation form) as the decision state has it; nil when never issued.
    public func card(_ number: String) throws -> (number: String, card: Card)? {
        let n = CardNumber.nfc(number)
        return try keeper.read(prefetch: { try $0.prefetch(card: n) }) { model in model.cards[n].map { (n, $0) } }
    }

    /// The member card `number` names for a new command; unknown and blocked cards are refused
    /// (`DomainError.unknownCard`, `.cardBlocked`).
    public func member(card number: String) throws -> String {
        let n = CardNumber.nfc(number)
        return try keeper.read(prefetch: { try $0.prefetch(card: n) }) { model in try model.memberForCard(n) }
    }
}

extension LedgerApplication {
    /// Card `number` from the decision state (the writer's, or read-only, a reader's); nil when
    /// never issued.
    public func card(_ number: String) throws -> (number: String, card: Card)? {
        try decisionState().card(number)
    }

    /// The member card `number` names for a new command (unknown and blocked cards refused).
    public func member(card number: String) throws -> String {
        try decisionState().member(card: number)
    }
}

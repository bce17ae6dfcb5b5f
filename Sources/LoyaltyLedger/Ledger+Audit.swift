extension Ledger {
    /// The last log position folded into the model (what the model's balances reflect).
    public func modelPosition() throws -> UInt64 {
        try keeper.withModel { $0.through }
    }
}

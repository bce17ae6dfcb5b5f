extension Ledger {
    /// The last log position folded into the model (what the model's balances reflect).
    public func modelPosition() throws -> UInt64 {
        keeper.readBook { $0.through }
    }
}

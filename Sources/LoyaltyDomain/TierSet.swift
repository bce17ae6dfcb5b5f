/// What a tier-set key did (the decision state keeps it, so a retry finds its original).
public struct TierSetEntry: Hashable, Sendable {
    public var member: String
    public var tier: String
    public init(member: String, tier: String) { (self.member, self.tier) = (member, tier) }
}

/// Operators' tiers (`tier.set`): audited like adjustments (key, operator, reason), honoured by
/// tier evaluation through the member's tier, its start and its floor (`decideTiers`).
extension LedgerModel {
    func decideSetTier(_ c: Command.SetTier) throws -> Decision {
        if let earlier = tierSets[c.key] {
            guard earlier.member == c.member, earlier.tier == c.tier else { throw DomainError.idempotencyConflict(key: "tier:\(c.key)") }
            return .replay(key: "tier:\(c.key)")
        }
        let s = try activeMember(c.member)
        let rules = self.rules(at: c.at)
        guard rules.tiers.contains(where: { $0.name == c.tier }) else {
            let names = rules.tiers.map(\.name)
            throw DomainError.invalid(field: "tier", value: c.tier,
                                      reason: "is not a tier of the rules in force (\(names.isEmpty ? "they have none" : names.joined(separator: ", ")))")
        }
        if let until = c.until {
            guard c.floor else {
                throw DomainError.invalid(field: "until", value: until.rfc3339, reason: "is the end of a floor: give it with --floor (\"floor\": true)")
            }
            guard until > c.at else {
                throw DomainError.invalid(field: "until", value: until.rfc3339, reason: "must be after the command's time (\(c.at.rfc3339))")
            }
        }
        return .append([.tierSet(.init(member: c.member, key: c.key, tier: c.tier, from: s.tier, reason: c.reason,
                                       operatorId: c.operatorId, floor: c.floor, until: c.until))])
    }

    /// Applies `tier.set` (checked first). The set tier is the member's tier from `at`; with a
    /// floor, evaluation keeps at least it until `until` (no `until`: the last spellable time);
    /// without, any earlier floor ends (the operator's latest word stands).
    mutating func applyTierSet(_ e: DomainEvent.TierSet, at: Timestamp, state s: inout MemberState) throws(FoldError) {
        if let earlier = tierSets[e.key] {
            throw FoldError(.inconsistent, "member '\(e.member)': tier-set key '\(e.key)' was used before (member '\(earlier.member)')")
        }
        s.tier = e.tier
        s.tierSince = at
        s.tierFloor = e.floor ? (tier: e.tier, until: e.until ?? DomainLimits.timeMax) : nil
        tierSets[e.key] = TierSetEntry(member: e.member, tier: e.tier)
    }

    /// A tier-set entry's stored form in the decision state (an owner-table value).
    public static func tierSetBytes(_ e: TierSetEntry) -> [UInt8] {
        var w = StateWriter(capacity: 32)
        w.string(e.member); w.string(e.tier)
        return w.bytes
    }

    public static func tierSetEntry(_ bytes: [UInt8]) throws(StateBytesError) -> TierSetEntry {
        try StateReader.read(bytes, "tier-set entry") { (r: inout StateReader) throws(StateBytesError) -> TierSetEntry in
            TierSetEntry(member: try r.string(), tier: try r.string())
        }
    }
}

// Public initializers, for folds outside the domain (projections, reconciliation) that rebuild a
// member's lots and holds from events and evaluate them with the domain's own `Balance`.

extension Lot {
    public init(id lotId: String, points: Points, remaining: Points, earnedAt: Timestamp, availableAt: Timestamp,
                expiresAt: Timestamp?, source: LotSource, expiryWritten: Bool = false) {
        precondition(remaining >= 0 && remaining <= points, "a lot's remainder is between 0 and its points")
        self.lotId = lotId
        self.points = points
        self.remaining = remaining
        self.earnedAt = earnedAt
        self.availableAt = availableAt
        self.expiresAt = expiresAt
        self.source = source
        self.expiryWritten = expiryWritten
    }
}

extension MemberState.Hold {
    public init(holding points: Points, until expiresAt: Timestamp) {
        self.points = points
        self.expiresAt = expiresAt
    }
}

// Public initializers, for folds outside the domain (projections, reconciliation) that rebuild a
// member's lots and holds from events and evaluate them with the domain's own `Balance`.

extension Lot {
    /// A lot as a fold rebuilt it. A remainder outside 0...points (a stored event the fold did not
    /// check) is clamped into it, never a trap; `checked(...)` refuses it instead.
    public init(id lotId: String, points: Points, remaining: Points, earnedAt: Timestamp, availableAt: Timestamp,
                expiresAt: Timestamp?, source: LotSource, expiryWritten: Bool = false) {
        self.lotId = lotId
        self.points = max(points, 0)
        self.remaining = min(max(remaining, 0), self.points)
        self.earnedAt = earnedAt
        self.availableAt = availableAt
        self.expiresAt = expiresAt
        self.source = source
        self.expiryWritten = expiryWritten
    }
}

extension Lot {
    /// `init(id:...)`, throwing a `FoldError` for points below zero or a remainder outside 0...points.
    public static func checked(id lotId: String, points: Points, remaining: Points, earnedAt: Timestamp, availableAt: Timestamp,
                               expiresAt: Timestamp?, source: LotSource, expiryWritten: Bool = false) throws(FoldError) -> Lot {
        guard points >= 0, remaining >= 0, remaining <= points else {
            throw FoldError(.negativeValue, "lot '\(lotId)' of \(points) points would keep \(remaining)")
        }
        return Lot(id: lotId, points: points, remaining: remaining, earnedAt: earnedAt, availableAt: availableAt,
                   expiresAt: expiresAt, source: source, expiryWritten: expiryWritten)
    }
}

extension MemberState.Hold {
    public init(holding points: Points, until expiresAt: Timestamp) {
        self.points = points
        self.expiresAt = expiresAt
    }
}

public import LedgerJSON

/// A member's points as of a time. Identity (checked by tests and reconciliation):
/// `earned + transferredIn + adjusted - redeemed - expired - clawedBack - transferredOut
///  == available + pending + held - debt`.
public struct Balance: Hashable, Sendable {
    public var member: String
    public var asOf: Timestamp
    /// Spendable now (never negative): available lots less holds.
    public var available: Points
    /// Visible, not yet spendable (return window).
    public var pending: Points
    public var held: Points
    /// The lifetime counters and the debt, as the member's state holds them, except `expired`:
    /// lots past their expiry count as expired even before their expiry event is written.
    public var figures: LifetimeFigures
    /// Lots with points left, in consumption order.
    public var lots: [Lot]

    public init(_ s: MemberState, at t: Timestamp) {
        member = s.member
        asOf = t
        held = s.held(at: t)
        available = s.spendableLots(at: t) - held
        // Sums of parts of what the model admitted: within `FoldLimits` (see `boundedAdding`).
        pending = s.lots.reduce(0) { $0.boundedAdding($1.isPending(at: t) ? $1.remaining : 0) }
        figures = s.figures
        // Lots past their expiry count as expired even before their expiry event is written.
        figures.expired = s.expired.boundedAdding(s.lots.reduce(0) { $0.boundedAdding($1.isExpired(at: t) && !$1.expiryWritten ? $1.remaining : 0) })
        lots = s.lots.filter { $0.remaining > 0 && !$0.isExpired(at: t) }.sorted(by: Lot.consumptionOrder)
    }

    /// Both sides of the identity; equal for every consistent state.
    public var identity: (credits: Points, holdings: Points) {
        // Each term is part of the points the model admitted (`FoldLimits`): no sum here can
        // leave Int64; `boundedAdding` saturates rather than trap should one be built by hand.
        let credits = figures.credits
        let holdings = available.boundedAdding(pending).boundedAdding(held).boundedSubtracting(debt)
        return (credits, holdings)
    }

    /// Keys in byte order, as canonical JSON writes them (no sort per answer).
    public var json: JSONValue {
        .object([
            "adjusted": .int(adjusted), "asOf": .string(asOf.rfc3339), "available": .int(available),
            "clawedBack": .int(clawedBack), "debt": .int(debt), "earned": .int(earned), "expired": .int(expired),
            "held": .int(held),
            "lots": .array(lots.map { lot in
                .object(["availableAt": .string(lot.availableAt.rfc3339), "earnedAt": .string(lot.earnedAt.rfc3339),
                         "expiresAt": lot.expiresAt.map { .string($0.rfc3339) }, "lotId": .string(lot.lotId),
                         "points": .int(lot.points), "remaining": .int(lot.remaining), "source": lot.source.json])
            }),
            "member": .string(member), "pending": .int(pending), "redeemed": .int(redeemed),
            "transferredIn": .int(transferredIn), "transferredOut": .int(transferredOut),
        ])
    }
}

extension Balance: LifetimeCounted {}

/// A member's points counters, as every fold of the log keeps them (the domain model's
/// `MemberState`, the balances projection, a `Balance`, reconciliation's figures): what came in
/// and went out over the member's life, and the debt owed now.
///
/// The identity every consistent state keeps: `credits == available + pending + held - debt`.
public struct LifetimeFigures: Hashable, Sendable {
    public var earned: Points = 0
    public var redeemed: Points = 0
    public var expired: Points = 0
    /// Signed: operators' adjustments, positive and negative.
    public var adjusted: Points = 0
    /// Points returns took back, from lots or as debt.
    public var clawedBack: Points = 0
    public var transferredIn: Points = 0
    public var transferredOut: Points = 0
    /// Clawbacks the lots could not cover (`unlimited` returns); a credit pays it first.
    public var debt: Points = 0

    public init() {}

    public init(earned: Points, redeemed: Points, expired: Points, adjusted: Points, clawedBack: Points,
                transferredIn: Points, transferredOut: Points, debt: Points) {
        (self.earned, self.redeemed, self.expired, self.adjusted) = (earned, redeemed, expired, adjusted)
        (self.clawedBack, self.transferredIn, self.transferredOut, self.debt) = (clawedBack, transferredIn, transferredOut, debt)
    }

    /// The counters in report order, with their names (`debt` last).
    public var fields: [(name: String, value: Points)] {
        [("earned", earned), ("redeemed", redeemed), ("expired", expired), ("adjusted", adjusted),
         ("clawedBack", clawedBack), ("transferredIn", transferredIn), ("transferredOut", transferredOut), ("debt", debt)]
    }

    /// `earned + transferredIn + adjusted - redeemed - expired - clawedBack - transferredOut`: the
    /// left side of the identity. Each term is part of the points a fold admitted (`FoldLimits`),
    /// so no sum leaves Int64; `boundedAdding` saturates rather than trap should one be built by hand.
    public var credits: Points {
        earned.boundedAdding(transferredIn).boundedAdding(adjusted).boundedSubtracting(redeemed)
            .boundedSubtracting(expired).boundedSubtracting(clawedBack).boundedSubtracting(transferredOut)
    }
}

// MARK: A credit pays the debt first

extension LifetimeFigures {
    /// The debt a credit of `credit` points pays: a credit pays the member's debt first
    /// (earnings, positive adjustments, transfers in, restored redemptions alike); the rest
    /// becomes spendable. `min(credit, debt)`, never below zero.
    ///
    /// The one statement of the rule for the model and the projections. The decision records it
    /// in `points.earned` and `redemption.reversed` (`debtPaid`); folds of adjustments and
    /// transfers in apply it themselves. Reconciliation's `SimpleFold` writes it out again on
    /// purpose (it must not share the model's code).
    public func debtPaid(by credit: Points) -> Points { Self.debtPaid(by: credit, owing: debt) }

    /// `debtPaid(by:)` for a fold that keeps the debt apart from a `LifetimeFigures` (the
    /// program figures' per-member debt).
    public static func debtPaid(by credit: Points, owing debt: Points) -> Points { max(0, min(credit, debt)) }

    /// Pays the debt from a credit of `credit` points and returns what it paid.
    public mutating func payDebt(from credit: Points) -> Points {
        let paid = debtPaid(by: credit)
        debt -= paid  // (0 <= paid <= debt)
        return paid
    }

    /// Whether `paid`, the debt an event says a credit of `credit` points paid, is one the debt
    /// allows: between 0 and both the credit and the debt owed.
    public func allowsDebtPaid(_ paid: Points, by credit: Points) -> Bool {
        paid >= 0 && paid <= credit && paid <= max(debt, 0)
    }

    /// What each lot of a credit spread over `allocations` keeps once `debtPaid` of it paid the
    /// debt: the debt takes from the allocations in the order listed (a reversal lists the
    /// redemption's lots in consumption order; a transfer in, the sender's). Same count and order
    /// as `allocations`; a lot keeps between 0 and its allocation.
    public static func lotCredits(_ allocations: [LotAllocation], debtPaid: Points) -> [LotAllocation] {
        var owed = max(debtPaid, 0)
        return allocations.map { a in
            let paid = min(max(a.points, 0), owed)
            owed -= paid
            return LotAllocation(lotId: a.lotId, points: a.points - paid)
        }
    }
}

/// A type that keeps its counters in a `LifetimeFigures` and offers them by name (`MemberState`,
/// `Balance`, the balances projection's records).
public protocol LifetimeCounted {
    var figures: LifetimeFigures { get set }
}

extension LifetimeCounted {
    @inlinable public var earned: Points { get { figures.earned } set { figures.earned = newValue } }
    @inlinable public var redeemed: Points { get { figures.redeemed } set { figures.redeemed = newValue } }
    @inlinable public var expired: Points { get { figures.expired } set { figures.expired = newValue } }
    @inlinable public var adjusted: Points { get { figures.adjusted } set { figures.adjusted = newValue } }
    @inlinable public var clawedBack: Points { get { figures.clawedBack } set { figures.clawedBack = newValue } }
    @inlinable public var transferredIn: Points { get { figures.transferredIn } set { figures.transferredIn = newValue } }
    @inlinable public var transferredOut: Points { get { figures.transferredOut } set { figures.transferredOut = newValue } }
    /// Clawbacks the lots could not cover; later earnings pay it first.
    @inlinable public var debt: Points { get { figures.debt } set { figures.debt = newValue } }
}

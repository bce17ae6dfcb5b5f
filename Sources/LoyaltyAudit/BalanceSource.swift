public import LoyaltyDomain

/// One member's figures as reconciliation compares them (all points, evaluated at one time).
public struct MemberFigures: Hashable, Sendable {
    public var available: Points = 0, pending: Points = 0, held: Points = 0
    /// The lifetime counters and the debt (the counters' names below read and write them).
    public var lifetime = LifetimeFigures()

    public init() {}

    public init(_ b: Balance) {
        (available, pending, held, lifetime) = (b.available, b.pending, b.held, b.figures)
    }

    public var debt: Points { get { lifetime.debt } set { lifetime.debt = newValue } }
    public var earned: Points { get { lifetime.earned } set { lifetime.earned = newValue } }
    public var redeemed: Points { get { lifetime.redeemed } set { lifetime.redeemed = newValue } }
    public var expired: Points { get { lifetime.expired } set { lifetime.expired = newValue } }
    public var adjusted: Points { get { lifetime.adjusted } set { lifetime.adjusted = newValue } }
    public var clawedBack: Points { get { lifetime.clawedBack } set { lifetime.clawedBack = newValue } }
    public var transferredIn: Points { get { lifetime.transferredIn } set { lifetime.transferredIn = newValue } }
    public var transferredOut: Points { get { lifetime.transferredOut } set { lifetime.transferredOut = newValue } }

    /// The fields in report order, with their names.
    public var fields: [(name: String, value: Points)] {
        [("available", available), ("pending", pending), ("held", held), ("debt", debt), ("earned", earned),
         ("redeemed", redeemed), ("expired", expired), ("adjusted", adjusted), ("clawedBack", clawedBack),
         ("transferredIn", transferredIn), ("transferredOut", transferredOut)]
    }

    /// `earned + transferredIn + adjusted - redeemed - expired - clawedBack - transferredOut`
    /// (in Int128: no sum of these overflows it).
    public var credits: Int128 { FigureTotals(self).credits }
    /// `available + pending + held - debt`: the liability.
    public var holdings: Int128 { FigureTotals(self).holdings }
}

/// Sums of `MemberFigures` over members, in Int128: a program-wide total of 64-bit figures never
/// overflows it (2^63 members would be needed).
public struct FigureTotals: Hashable, Sendable {
    public var available: Int128 = 0, pending: Int128 = 0, held: Int128 = 0, debt: Int128 = 0
    public var earned: Int128 = 0, redeemed: Int128 = 0, expired: Int128 = 0, adjusted: Int128 = 0
    public var clawedBack: Int128 = 0, transferredIn: Int128 = 0, transferredOut: Int128 = 0

    public init() {}

    public init(_ f: MemberFigures) {
        (available, pending, held, debt) = (Int128(f.available), Int128(f.pending), Int128(f.held), Int128(f.debt))
        (earned, redeemed, expired, adjusted) = (Int128(f.earned), Int128(f.redeemed), Int128(f.expired), Int128(f.adjusted))
        (clawedBack, transferredIn, transferredOut) = (Int128(f.clawedBack), Int128(f.transferredIn), Int128(f.transferredOut))
    }

    public var fields: [(name: String, value: Int128)] {
        [("available", available), ("pending", pending), ("held", held), ("debt", debt), ("earned", earned),
         ("redeemed", redeemed), ("expired", expired), ("adjusted", adjusted), ("clawedBack", clawedBack),
         ("transferredIn", transferredIn), ("transferredOut", transferredOut)]
    }

    public var credits: Int128 { earned + transferredIn + adjusted - redeemed - expired - clawedBack - transferredOut }
    public var holdings: Int128 { available + pending + held - debt }

    public static func + (a: FigureTotals, b: MemberFigures) -> FigureTotals {
        var s = a
        s.available += Int128(b.available); s.pending += Int128(b.pending); s.held += Int128(b.held); s.debt += Int128(b.debt)
        s.earned += Int128(b.earned); s.redeemed += Int128(b.redeemed); s.expired += Int128(b.expired); s.adjusted += Int128(b.adjusted)
        s.clawedBack += Int128(b.clawedBack); s.transferredIn += Int128(b.transferredIn); s.transferredOut += Int128(b.transferredOut)
        return s
    }
}

/// What `loyalty reconcile` checks the log against: the balances as some read model holds them.
/// The seam for the balances projection: implement these three and pass it to `Reconciler`.
public protocol BalanceSource: Sendable {
    /// The log position the figures reflect; reconciliation folds the log exactly that far.
    func position() throws -> UInt64
    /// Every member the source has figures for.
    func allMembers() throws -> [String]
    /// The member's figures evaluated at business time `at` (nil: the source has no such member).
    func figures(member: String, at: Timestamp) throws -> MemberFigures?
}

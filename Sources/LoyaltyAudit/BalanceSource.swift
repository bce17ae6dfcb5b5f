public import LoyaltyDomain
public import LoyaltyLedger

/// One member's figures as reconciliation compares them (all points, evaluated at one time).
public struct MemberFigures: Hashable, Sendable {
    public var available: Points = 0, pending: Points = 0, held: Points = 0, debt: Points = 0
    public var earned: Points = 0, redeemed: Points = 0, expired: Points = 0, adjusted: Points = 0
    public var clawedBack: Points = 0, transferredIn: Points = 0, transferredOut: Points = 0

    public init() {}

    public init(_ b: Balance) {
        (available, pending, held, debt) = (b.available, b.pending, b.held, b.debt)
        (earned, redeemed, expired, adjusted) = (b.earned, b.redeemed, b.expired, b.adjusted)
        (clawedBack, transferredIn, transferredOut) = (b.clawedBack, b.transferredIn, b.transferredOut)
    }

    /// The fields in report order, with their names.
    public var fields: [(name: String, value: Points)] {
        [("available", available), ("pending", pending), ("held", held), ("debt", debt), ("earned", earned),
         ("redeemed", redeemed), ("expired", expired), ("adjusted", adjusted), ("clawedBack", clawedBack),
         ("transferredIn", transferredIn), ("transferredOut", transferredOut)]
    }

    /// `earned + transferredIn + adjusted - redeemed - expired - clawedBack - transferredOut`.
    public var credits: Points { earned + transferredIn + adjusted - redeemed - expired - clawedBack - transferredOut }
    /// `available + pending + held - debt`: the liability.
    public var holdings: Points { available + pending + held - debt }

    public static func + (a: MemberFigures, b: MemberFigures) -> MemberFigures {
        var s = a
        s.available += b.available; s.pending += b.pending; s.held += b.held; s.debt += b.debt
        s.earned += b.earned; s.redeemed += b.redeemed; s.expired += b.expired; s.adjusted += b.adjusted
        s.clawedBack += b.clawedBack; s.transferredIn += b.transferredIn; s.transferredOut += b.transferredOut
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

/// The stand-in source until the balances projection lands: the domain model the `Ledger`
/// facade folds at open (`Ledger.withModel`, `Balance`).
public struct ModelBalanceSource: BalanceSource {
    public let ledger: Ledger
    public init(ledger: Ledger) { self.ledger = ledger }

    public func position() throws -> UInt64 { try ledger.modelPosition() }

    public func allMembers() throws -> [String] { try ledger.withModel { Array($0.members.keys) } }

    public func figures(member: String, at: Timestamp) throws -> MemberFigures? {
        try ledger.withModel { $0.balance(member, at: at).map(MemberFigures.init) }
    }
}

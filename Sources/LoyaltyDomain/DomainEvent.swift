import LedgerJSON

/// Points taken from (or restored to) one lot.
public struct LotAllocation: Hashable, Sendable {
    public var lotId: String
    public var points: Points
    public init(lotId: String, points: Points) { self.lotId = lotId; self.points = points }
}

/// Where a lot came from.
public enum LotSource: Hashable, Sendable {
    case purchase(String), adjustment(String), transfer(String), bonus(String)
}

/// The events of the points program. Each is stored in the log with `type`, `schemaVersion`, a
/// stream (the member id, or `$program` for program-wide events) and canonical JSON data.
/// Catalogue and fields: schemas/domain.md and schemas/events/.
public enum DomainEvent: Hashable, Sendable {
    case memberEnrolled(MemberEnrolled)
    case profileUpdated(member: String, changes: [String: String])
    case memberClosed(member: String, reason: String)
    case purchaseRecorded(PurchaseRecorded)
    case purchaseReturned(PurchaseReturned)
    case pointsEarned(PointsEarned)
    case pointsRedeemed(PointsRedeemed)
    case redemptionReversed(RedemptionReversed)
    case pointsAdjusted(PointsAdjusted)
    case pointsExpired(member: String, lotId: String, points: Points)
    case pointsHeld(member: String, holdId: String, points: Points, expiresAt: Timestamp)
    case holdReleased(member: String, holdId: String)
    case pointsTransferredOut(PointsTransfer)
    case pointsTransferredIn(PointsTransfer)
    case tierChanged(TierChanged)
    case rewardDefined(RewardDefined)
    case programPublished(ProgramRules)
    case cardIssued(CardIssued)
    case cardBlocked(member: String, number: String, reason: String)
    case tierSet(TierSet)
    case targetSet(TargetSet)

    public static let programStream = "$program"

    public struct MemberEnrolled: Hashable, Sendable {
        public var member: String
        public var brand: String
        public var store: String
        public var channel: String
        public var birthDate: String?
        public var gender: String?
        public var profile: [String: String] = [:]
    }

    public struct PurchaseRecorded: Hashable, Sendable {
        public var member: String
        public var purchaseId: String
        public var store: String
        public var amount: MinorUnits
        public var currency: String
        /// Category lines (their amounts add up to at most `amount`).
        public var lines: [Line] = []
        /// The part of `amount` paid with points: it earns nothing.
        public var paidWithPoints: MinorUnits = 0
        public struct Line: Hashable, Sendable { public var category: String; public var amount: MinorUnits }
    }

    public struct PurchaseReturned: Hashable, Sendable {
        public var member: String
        public var purchaseId: String
        public var returnId: String
        public var amount: MinorUnits
        /// Points taken back from lots (the purchase's own first).
        public var clawedBack: [LotAllocation]
        /// What the lots could not cover and became debt (policy `unlimited`).
        public var debt: Points
        /// What the policy forgave (`only_pending`, `within_balance`).
        public var forgiven: Points
    }

    public struct PointsEarned: Hashable, Sendable {
        public var member: String
        public var lotId: String
        public var points: Points
        public var source: LotSource
        public var ruleVersion: Int64
        /// Why: base points, multipliers and bonuses, capped, as the rule computed them.
        public var rule: String
        public var availableAt: Timestamp
        public var expiresAt: Timestamp?
        /// Points of this lot that paid debt first (the lot keeps `points - debtPaid`).
        public var debtPaid: Points = 0
        /// Points counted against the caps (base points when caps apply before multipliers).
        public var capCounted: Points? = nil
        /// Of `points`, the birthday bonus (once a year).
        public var birthdayBonus: Points? = nil
    }

    public struct PointsRedeemed: Hashable, Sendable {
        public var member: String
        public var redemptionId: String
        public var points: Points
        public var reward: String?
        public var allocations: [LotAllocation]
    }

    public struct RedemptionReversed: Hashable, Sendable {
        public var member: String
        public var redemptionId: String
        /// Restored to the original lots (spendable again until their original expiry).
        public var restored: [LotAllocation]
        /// Points whose lot was already past its expiry: they come back expired.
        public var expired: [LotAllocation]
        /// Of the restored points, those that paid the member's debt first (taken from `restored`
        /// in its order: `LifetimeFigures.lotCredits`). 0 when absent.
        public var debtPaid: Points = 0
    }

    public struct PointsAdjusted: Hashable, Sendable {
        public var member: String
        public var key: String
        public var points: Points
        public var reason: String
        public var operatorId: String
        /// For a credit: the new lot and its expiry; for a debit: the lots consumed.
        public var lotId: String?
        public var expiresAt: Timestamp?
        public var allocations: [LotAllocation] = []
    }

    public struct PointsTransfer: Hashable, Sendable {
        public var from: String
        public var to: String
        public var transferId: String
        public var points: Points
        /// Lots consumed from the sender, each with its expiry (the receiver's new lots keep it).
        public var allocations: [LotAllocation]
        public var expiries: [Timestamp?]
    }

    public struct TierChanged: Hashable, Sendable {
        public var member: String
        public var from: String?
        public var to: String?
        public var reason: String
        public var qualifyingValue: Int64
        public var windowFrom: Timestamp
        public var windowTo: Timestamp
        /// A manual tier is a floor until this time.
        public var floorUntil: Timestamp?
    }

    /// A membership card issued to a member; with `replaces`, the card it takes over from (that
    /// one is refused from then on). `key`: the idempotency key (nil for a replacement).
    public struct CardIssued: Hashable, Sendable {
        public var member: String
        public var number: String
        public var key: String?
        public var replaces: String?
        public init(member: String, number: String, key: String?, replaces: String?) {
            (self.member, self.number, self.key, self.replaces) = (member, number, key, replaces)
        }
    }

    /// A tier set by an operator (audited like an adjustment). With `floor`, tier evaluation
    /// never goes below it until `until` (no `until`: no end); without, evaluation treats it as
    /// any tier held since the event.
    public struct TierSet: Hashable, Sendable {
        public var member: String
        public var key: String
        public var tier: String
        /// The tier before (nil: none).
        public var from: String?
        public var reason: String
        public var operatorId: String
        public var floor: Bool
        public var until: Timestamp?
        public init(member: String, key: String, tier: String, from: String?, reason: String, operatorId: String, floor: Bool, until: Timestamp?) {
            (self.member, self.key, self.tier, self.from, self.reason, self.operatorId, self.floor, self.until) =
                (member, key, tier, from, reason, operatorId, floor, until)
        }
    }

    public struct RewardDefined: Hashable, Sendable {
        public var rewardId: String
        public var name: String
        public var cost: Points
        public var stock: Int64?
        /// Total points that may be spent on this reward (nil: unlimited).
        public var budget: Points?
    }

    /// An operator's target for a store, a period and a metric (stream: `$program`); a later
    /// `target.set` of the same store, period and metric replaces it (schemas/reports.md).
    public struct TargetSet: Hashable, Sendable {
        public var store: String
        /// `YYYY-MM-DD` (a local day), `YYYY-Www` (an ISO week) or `YYYY-MM` (a month).
        public var period: String
        /// One of `metrics`.
        public var metric: String
        public var value: Int64
        public static let metrics = ["enrollments"]

        public init(store: String, period: String, metric: String, value: Int64) {
            (self.store, self.period, self.metric, self.value) = (store, period, metric, value)
        }
    }
}

extension DomainEvent {
    /// The stream the event belongs to.
    public var stream: String {
        switch self {
        case .memberEnrolled(let e): return e.member
        case .profileUpdated(let m, _), .memberClosed(let m, _), .pointsExpired(let m, _, _), .pointsHeld(let m, _, _, _),
             .holdReleased(let m, _): return m
        case .purchaseRecorded(let e): return e.member
        case .purchaseReturned(let e): return e.member
        case .pointsEarned(let e): return e.member
        case .pointsRedeemed(let e): return e.member
        case .redemptionReversed(let e): return e.member
        case .pointsAdjusted(let e): return e.member
        case .pointsTransferredOut(let e): return e.from
        case .pointsTransferredIn(let e): return e.to
        case .tierChanged(let e): return e.member
        case .rewardDefined, .programPublished, .targetSet: return DomainEvent.programStream
        case .cardIssued(let e): return e.member
        case .cardBlocked(let m, _, _): return m
        case .tierSet(let e): return e.member
        }
    }

    public var type: String {
        switch self {
        case .memberEnrolled: return "member.enrolled"
        case .profileUpdated: return "member.profile_updated"
        case .memberClosed: return "member.closed"
        case .purchaseRecorded: return "purchase.recorded"
        case .purchaseReturned: return "purchase.returned"
        case .pointsEarned: return "points.earned"
        case .pointsRedeemed: return "points.redeemed"
        case .redemptionReversed: return "redemption.reversed"
        case .pointsAdjusted: return "points.adjusted"
        case .pointsExpired: return "points.expired"
        case .pointsHeld: return "points.held"
        case .holdReleased: return "points.hold_released"
        case .pointsTransferredOut: return "points.transferred_out"
        case .pointsTransferredIn: return "points.transferred_in"
        case .tierChanged: return "tier.changed"
        case .rewardDefined: return "reward.defined"
        case .programPublished: return "program.published"
        case .cardIssued: return "card.issued"
        case .cardBlocked: return "card.blocked"
        case .tierSet: return "tier.set"
        case .targetSet: return "target.set"
        }
    }

    public static let schemaVersion: UInt32 = 1

    public static let allTypes = [
        "member.enrolled", "member.profile_updated", "member.closed", "purchase.recorded", "purchase.returned",
        "points.earned", "points.redeemed", "redemption.reversed", "points.adjusted", "points.expired", "points.held",
        "points.hold_released", "points.transferred_out", "points.transferred_in", "tier.changed", "reward.defined",
        "program.published", "card.issued", "card.blocked", "tier.set", "target.set",
    ]
}

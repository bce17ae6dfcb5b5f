public import LoyaltyDomain
import Synchronization

/// The program figures read model: totals per local day (in the program's time zone in force at
/// the event's business time) and per store, program-wide totals, and per-reward stock and budget.
///
/// Keys: `day/YYYY-MM-DD/STORE`, `total`, `reward/ID`, and two helper tables inside the same map:
/// `home/MEMBER` (the member's enrollment store), `debt/MEMBER` (running debt, only while it is
/// not zero), `redemption/ID` (reward of a redemption, for reversals) and `zones` (time zone
/// offsets by effective time). Enrollments and purchases are booked
/// to the store where they happened; points, returns and redemptions, which carry no store, to the
/// member's home (enrollment) store: the usual basis of a per-store liability.
public struct ProgramFigures: ProjectionFold {
    public static let name = "figures"
    public static let version = 1

    public enum Value: Sendable, Equatable {
        case figures(Figures)
        case reward(RewardFigures)
        case text(String)
        case zones([Zone])
    }

    /// Flows of points and money; in `total` also the member count.
    public struct Figures: Sendable, Equatable {
        public var enrollments: Int64 = 0
        public var purchases: Int64 = 0
        /// Gross amount of purchases (minor units); returns are in `returnedAmount`.
        public var spend: MinorUnits = 0
        public var returns: Int64 = 0
        public var returnedAmount: MinorUnits = 0
        public var pointsIssued: Points = 0
        /// Of `pointsIssued`, points that were pending when issued (a return window).
        public var pointsIssuedPending: Points = 0
        public var redemptions: Int64 = 0
        public var pointsRedeemed: Points = 0
        public var pointsExpired: Points = 0
        public var pointsAdjusted: Points = 0
        public var pointsClawedBack: Points = 0
        public var pointsTransferredIn: Points = 0
        public var pointsTransferredOut: Points = 0
        /// Change of members' debt (clawbacks the lots could not cover, less debt repaid).
        public var debtChange: Points = 0
        public init() {}

        /// Net points liability created: credits less debits (identity with the balances: the sum
        /// over all days equals available + pending + held - debt of all members).
        public var netPoints: Points {
            pointsIssued + pointsTransferredIn + pointsAdjusted - pointsRedeemed - pointsExpired - pointsClawedBack - pointsTransferredOut
        }

        static let fieldCount = 15
        /// The figures in declaration order (the value form, and the columns of `loyalty figures`).
        public internal(set) var fields: [Int64] {
            get {
                [enrollments, purchases, spend, returns, returnedAmount, pointsIssued, pointsIssuedPending, redemptions, pointsRedeemed,
                 pointsExpired, pointsAdjusted, pointsClawedBack, pointsTransferredIn, pointsTransferredOut, debtChange]
            }
            set {
                precondition(newValue.count == Self.fieldCount, "figures have \(Self.fieldCount) fields")
                (enrollments, purchases, spend, returns, returnedAmount, pointsIssued, pointsIssuedPending, redemptions) =
                    (newValue[0], newValue[1], newValue[2], newValue[3], newValue[4], newValue[5], newValue[6], newValue[7])
                (pointsRedeemed, pointsExpired, pointsAdjusted, pointsClawedBack, pointsTransferredIn, pointsTransferredOut, debtChange) =
                    (newValue[8], newValue[9], newValue[10], newValue[11], newValue[12], newValue[13], newValue[14])
            }
        }

        /// Field by field (no arrays: this runs twice per event).
        public mutating func add(_ o: Figures) {
            enrollments += o.enrollments; purchases += o.purchases; spend += o.spend; returns += o.returns
            returnedAmount += o.returnedAmount; pointsIssued += o.pointsIssued; pointsIssuedPending += o.pointsIssuedPending
            redemptions += o.redemptions; pointsRedeemed += o.pointsRedeemed; pointsExpired += o.pointsExpired
            pointsAdjusted += o.pointsAdjusted; pointsClawedBack += o.pointsClawedBack
            pointsTransferredIn += o.pointsTransferredIn; pointsTransferredOut += o.pointsTransferredOut; debtChange += o.debtChange
        }
    }

    public struct RewardFigures: Sendable, Equatable {
        public var name = ""
        public var cost: Points = 0
        public var stock: Int64?
        public var budget: Points?
        public var issued: Int64 = 0
        public var pointsSpent: Points = 0
        public init() {}
        /// Units left (nil: unlimited).
        public var stockLeft: Int64? { stock.map { $0 - issued } }
        public var budgetLeft: Points? { budget.map { $0 - pointsSpent } }
    }

    public struct Zone: Sendable, Equatable {
        public var effectiveAt: Timestamp
        public var offsetSeconds: Int64
    }

    private let lastDay = LastDayPrefix()

    public init() {}

    public func apply(_ pe: ProjectionEvent, to state: FoldState<Value>) throws {
        let e = pe.event
        switch e {
        case .programPublished(let rules):
            try state.update("zones") { v in
                guard case .zones(var zones)? = v else { v = .zones([Zone(effectiveAt: pe.occurredAt, offsetSeconds: rules.timeZone.offsetSeconds)]); return }
                zones.append(Zone(effectiveAt: pe.occurredAt, offsetSeconds: rules.timeZone.offsetSeconds))
                v = .zones(zones)
            }
            return
        case .rewardDefined(let d):
            try updateReward(d.rewardId, state) { r in (r.name, r.cost, r.stock, r.budget) = (d.name, d.cost, d.stock, d.budget) }
            return
        case .memberEnrolled(let m):
            try state.update("home/\(m.member)") { $0 = .text(m.store) }
        default:
            break
        }
        let store: String
        if case .purchaseRecorded(let p) = e { store = p.store } else if case .text(let s)? = try state.value("home/\(pe.member)") { store = s } else { store = "" }
        var delta = Figures()
        try record(pe, into: &delta, state)
        if delta.debtChange != 0 {
            // Only members with debt have this entry: the running debt, for adjustments to repay.
            try state.update("debt/\(pe.member)") { v in
                var d = Figures()
                if case .figures(let old)? = v { d = old }
                d.debtChange += delta.debtChange
                v = d.debtChange == 0 ? nil : .figures(d)
            }
        }
        func add(_ key: String) throws {
            try state.update(key) { v in
                var f: Figures
                if case .figures(let old)? = v { f = old } else { f = Figures() }
                f.add(delta)
                v = .figures(f)
            }
        }
        try add(try dayPrefix(pe.occurredAt, state) + store)
        try add("total")
    }

    private func record(_ pe: ProjectionEvent, into f: inout Figures, _ state: FoldState<Value>) throws {
        switch pe.event {
        case .memberEnrolled: f.enrollments = 1
        case .purchaseRecorded(let p): (f.purchases, f.spend) = (1, p.amount)
        case .purchaseReturned(let r):
            (f.returns, f.returnedAmount, f.debtChange) = (1, r.amount, r.debt)
            f.pointsClawedBack = r.clawedBack.reduce(0) { $0 + $1.points } + r.debt
        case .pointsEarned(let p):
            f.pointsIssued = p.points
            f.pointsIssuedPending = p.availableAt > pe.occurredAt ? p.points : 0
            f.debtChange = -p.debtPaid
        case .pointsRedeemed(let r):
            (f.redemptions, f.pointsRedeemed) = (1, r.points)
            if let reward = r.reward {
                try updateReward(reward, state) { $0.issued += 1; $0.pointsSpent += r.points }
                try state.update("redemption/\(r.redemptionId)") { $0 = .text(reward) }
            }
        case .redemptionReversed(let r):
            let restored = r.restored.reduce(0) { $0 + $1.points }, expired = r.expired.reduce(0) { $0 + $1.points }
            (f.redemptions, f.pointsRedeemed, f.pointsExpired) = (-1, -(restored + expired), expired)
            if case .text(let reward)? = try state.value("redemption/\(r.redemptionId)") {
                try updateReward(reward, state) { $0.issued -= 1; $0.pointsSpent -= restored + expired }
            }
        case .pointsAdjusted(let a):
            f.pointsAdjusted = a.points
            // A credit pays the member's debt first (as in the balances fold).
            if a.points > 0, a.lotId != nil, case .figures(let debt)? = try state.value("debt/\(pe.member)") {
                f.debtChange = -min(a.points, debt.debtChange)
            }
        case let .pointsExpired(_, _, points): f.pointsExpired = points
        case .pointsTransferredIn(let t): f.pointsTransferredIn = t.points
        case .pointsTransferredOut(let t): f.pointsTransferredOut = t.points
        default: break
        }
    }

    private func updateReward(_ id: String, _ state: FoldState<Value>, _ body: (inout RewardFigures) -> Void) throws {
        try state.update("reward/\(id)") { v in
            var r: RewardFigures
            if case .reward(let old)? = v { r = old } else { r = RewardFigures() }
            body(&r)
            v = .reward(r)
        }
    }

    /// `day/YYYY-MM-DD/` of the local date of `t` in the time zone in force at `t` (UTC before
    /// any rules). The text of the last day is kept: events come in runs of the same day.
    private func dayPrefix(_ t: Timestamp, _ state: FoldState<Value>) throws -> String {
        var offset: Int64 = 0
        if case .zones(let zones)? = try state.value("zones") {
            var best: Timestamp?
            for z in zones where z.effectiveAt <= t && (best == nil || z.effectiveAt >= best!) { (best, offset) = (z.effectiveAt, z.offsetSeconds) }
        }
        let days = (t.microseconds + offset * 1_000_000).floorDiv(Timestamp.microsecondsPerDay)
        return lastDay.last.withLock { last in
            if last.days != days {
                let (y, m, d) = CivilDate.fromDays(days)
                last = (days, "day/\(y)-\(m < 10 ? "0" : "")\(m)-\(d < 10 ? "0" : "")\(d)/")
            }
            return last.prefix
        }
    }
}

/// The last day prefix `ProgramFigures` formatted (a pure function of the day number, so keeping
/// it changes nothing the fold computes).
final class LastDayPrefix: Sendable {
    let last = Mutex<(days: Int64, prefix: String)>((Int64.min, ""))
}

extension Int64 {
    func floorDiv(_ d: Int64) -> Int64 { let q = self / d; return (self % d != 0 && (self < 0) != (d < 0)) ? q - 1 : q }
}

extension ProgramFigures {
    public static func encode(_ v: Value, into w: inout ValueWriter) {
        switch v {
        case .figures(let f):
            w.tag(0)
            for n in f.fields { w.int64(n) }
        case .reward(let r):
            w.tag(1)
            w.string(r.name)
            w.int64(r.cost)
            w.optional(r.stock) { $0.int64($1) }
            w.optional(r.budget) { $0.int64($1) }
            w.int64(r.issued)
            w.int64(r.pointsSpent)
        case .text(let s):
            w.tag(2)
            w.string(s)
        case .zones(let zones):
            w.tag(3)
            w.count(zones.count)
            for z in zones { w.int64(z.effectiveAt.microseconds); w.int64(z.offsetSeconds) }
        }
    }

    public static func decode(_ r: inout ValueReader) throws(ProjectionError) -> Value {
        let int = { (r: inout ValueReader) throws(ProjectionError) -> Int64 in try r.int64() }
        switch try r.take(1)[0] {
        case 0:
            var f = Figures()
            var fields: [Int64] = []
            for _ in 0 ..< Figures.fieldCount { fields.append(try r.int64()) }
            f.fields = fields
            return .figures(f)
        case 1:
            var x = RewardFigures()
            (x.name, x.cost) = (try r.string(), try r.int64())
            (x.stock, x.budget) = (try r.optional(int), try r.optional(int))
            (x.issued, x.pointsSpent) = (try r.int64(), try r.int64())
            return .reward(x)
        case 2: return .text(try r.string())
        case 3:
            var zones: [Zone] = []
            for _ in 0 ..< (try r.count(max: 1 << 16)) {
                zones.append(Zone(effectiveAt: Timestamp(microseconds: try r.int64()), offsetSeconds: try r.int64()))
            }
            return .zones(zones)
        case let tag: throw .damagedValue("figures value tag \(tag)")
        }
    }
}

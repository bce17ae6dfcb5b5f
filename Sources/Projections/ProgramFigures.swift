public import LoyaltyDomain
import Synchronization

/// The program figures read model: totals per local day (in the program's time zone in force at
/// the event's business time) and per store, program-wide totals, and per-reward stock and budget.
///
/// Keys: `day/YYYY-MM-DD/STORE`, `total`, `reward/ID`, and helper entries inside the same map:
/// `home/MEMBER` (the member's enrollment store), `debt/MEMBER` (running debt, only while it is
/// not zero), `redemption/ID` (reward of a redemption, for reversals), `zones` (time zone
/// offsets by effective time) and `name/HASHED` (the full text of a store or reward id too long
/// to be a key component, `ProjectionKey`). Ids in keys are `ProjectionKey.component`s. Enrollments and purchases are booked
/// to the store where they happened; points, returns and redemptions, which carry no store, to the
/// member's home (enrollment) store: the usual basis of a per-store liability.
public struct ProgramFigures: ProjectionFold {
    public static let name = "figures"
    /// 2: keys bounded (`ProjectionKey`); sums checked (an event past 64 bits stops the fold).
    public static let version = 2

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
        public var netPoints: Int128 {
            Int128(pointsIssued) + Int128(pointsTransferredIn) + Int128(pointsAdjusted) - Int128(pointsRedeemed) - Int128(pointsExpired)
                - Int128(pointsClawedBack) - Int128(pointsTransferredOut)
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

        /// `self + o`, field by field, checked (a sum past 64 bits is a `FoldFault`).
        func adding(_ o: Figures) throws -> Figures {
            var r = Figures()
            r.fields = try zip(fields, o.fields).enumerated().map { i, p in try Checked.add(p.0, p.1, Self.fieldNames[i]) }
            return r
        }

        public static let fieldNames = ["enrollments", "purchases", "spend", "returns", "returnedAmount", "pointsIssued", "pointsIssuedPending",
                                 "redemptions", "pointsRedeemed", "pointsExpired", "pointsAdjusted", "pointsClawedBack",
                                 "pointsTransferredIn", "pointsTransferredOut", "debtChange"]
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
        public var stockLeft: Int128? { stock.map { Int128($0) - Int128(issued) } }
        public var budgetLeft: Int128? { budget.map { Int128($0) - Int128(pointsSpent) } }
    }

    public struct Zone: Sendable, Equatable {
        public var effectiveAt: Timestamp
        public var offsetSeconds: Int64
    }

    private let lastDay = LastDayPrefix()

    public init() {}

    /// Zones kept at most (a value of more does not decode).
    static let zonesMax = 1 << 16

    /// Reads what the event changes, computes every new value (checked), then writes them all:
    /// an event that throws changes nothing.
    public func apply(_ pe: ProjectionEvent, to state: FoldState<Value>) throws {
        var writes: [(key: String, value: Value?)] = []
        let e = pe.event
        let member = ProjectionKey.component(pe.member)
        switch e {
        case .programPublished(let rules):
            var zones: [Zone] = []
            if case .zones(let old)? = try state.value("zones") { zones = old }
            guard zones.count < Self.zonesMax else { throw FoldFault("more than \(Self.zonesMax) rule sets") }
            zones.append(Zone(effectiveAt: pe.occurredAt, offsetSeconds: rules.timeZone.offsetSeconds))
            try state.update("zones") { $0 = .zones(zones) }
            return
        case .rewardDefined(let d):
            var r = try reward(d.rewardId, state)
            (r.name, r.cost, r.stock, r.budget) = (d.name, d.cost, d.stock, d.budget)
            try write(rewardWrites(d.rewardId, r), state)
            return
        case .targetSet:
            return  // targets: the reports' projection
        case .memberEnrolled(let m):
            writes.append(("home/\(member)", .text(m.store)))
        default:
            break
        }
        let store: String
        if case .purchaseRecorded(let p) = e {
            store = p.store
        } else if case .memberEnrolled(let m) = e {
            store = m.store
        } else if case .text(let s)? = try state.value("home/\(member)") {
            store = s
        } else {
            store = ""
        }
        let delta = try record(pe, state, &writes)
        if delta.debtChange != 0 {
            // Only members with debt have this entry: the running debt, for adjustments to repay.
            var d = Figures()
            if case .figures(let old)? = try state.value("debt/\(ProjectionKey.component(member))") { d = old }
            d.debtChange = try Checked.add(d.debtChange, delta.debtChange, "debt")
            writes.append(("debt/\(ProjectionKey.component(member))", d.debtChange == 0 ? nil : .figures(d)))
        }
        let storeKey = ProjectionKey.component(store)
        if storeKey != store { writes.append(("name/\(storeKey)", .text(store))) }
        for key in [try dayPrefix(pe.occurredAt, state) + storeKey, "total"] {
            var f = Figures()
            if case .figures(let old)? = try state.value(key) { f = old }
            writes.append((key, .figures(try f.adding(delta))))
        }
        try write(writes, state)
    }

    private func write(_ writes: [(key: String, value: Value?)], _ state: FoldState<Value>) throws {
        for (key, value) in writes { try state.update(key) { $0 = value } }
    }

    /// The figures `pe` adds; the reward and redemption entries it changes go to `writes`.
    private func record(_ pe: ProjectionEvent, _ state: FoldState<Value>, _ writes: inout [(key: String, value: Value?)]) throws -> Figures {
        var f = Figures()
        switch pe.event {
        case .memberEnrolled: f.enrollments = 1
        case .purchaseRecorded(let p): (f.purchases, f.spend) = (1, p.amount)
        case .purchaseReturned(let r):
            (f.returns, f.returnedAmount, f.debtChange) = (1, r.amount, r.debt)
            f.pointsClawedBack = try Checked.add(try Checked.sum(r.clawedBack.map(\.points), "clawed back"), r.debt, "clawed back")
        case .pointsEarned(let p):
            f.pointsIssued = p.points
            f.pointsIssuedPending = p.availableAt > pe.occurredAt ? p.points : 0
            f.debtChange = try Checked.sub(0, p.debtPaid, "debt paid")
        case .pointsRedeemed(let r):
            (f.redemptions, f.pointsRedeemed) = (1, r.points)
            if let id = r.reward {
                var x = try reward(id, state)
                (x.issued, x.pointsSpent) = (try Checked.add(x.issued, 1, "rewards issued"), try Checked.add(x.pointsSpent, r.points, "reward points spent"))
                writes += rewardWrites(id, x)
                writes.append(("redemption/\(ProjectionKey.component(r.redemptionId))", .text(id)))
            }
        case .redemptionReversed(let r):
            let restored = try Checked.sum(r.restored.map(\.points), "restored")
            let expired = try Checked.sum(r.expired.map(\.points), "expired")
            let back = try Checked.add(restored, expired, "reversed")
            (f.redemptions, f.pointsRedeemed, f.pointsExpired) = (-1, try Checked.sub(0, back, "reversed"), expired)
            f.debtChange = try Checked.sub(0, r.debtPaid, "debt paid")
            if case .text(let id)? = try state.value("redemption/\(ProjectionKey.component(r.redemptionId))") {
                var x = try reward(id, state)
                (x.issued, x.pointsSpent) = (try Checked.sub(x.issued, 1, "rewards issued"), try Checked.sub(x.pointsSpent, back, "reward points spent"))
                writes += rewardWrites(id, x)
            }
        case .pointsAdjusted(let a):
            f.pointsAdjusted = a.points
            // A credit pays the member's debt first (the domain's rule).
            if a.points > 0, a.lotId != nil, case .figures(let debt)? = try state.value("debt/\(ProjectionKey.component(pe.member))") {
                f.debtChange = -LifetimeFigures.debtPaid(by: a.points, owing: debt.debtChange)
            }
        case let .pointsExpired(_, _, points): f.pointsExpired = points
        case .pointsTransferredIn(let t):
            f.pointsTransferredIn = t.points
            // Points coming in pay the member's debt first (the domain's rule).
            if case .figures(let debt)? = try state.value("debt/\(ProjectionKey.component(pe.member))") {
                f.debtChange = -LifetimeFigures.debtPaid(by: t.points, owing: debt.debtChange)
            }
        case .pointsTransferredOut(let t): f.pointsTransferredOut = t.points
        default: break
        }
        return f
    }

    private func reward(_ id: String, _ state: FoldState<Value>) throws -> RewardFigures {
        if case .reward(let old)? = try state.value("reward/\(ProjectionKey.component(id))") { return old }
        return RewardFigures()
    }

    /// The entries of reward `id` set to `r` (and its full id, if the key holds its hash).
    private func rewardWrites(_ id: String, _ r: RewardFigures) -> [(key: String, value: Value?)] {
        let key = ProjectionKey.component(id)
        return [("reward/\(key)", .reward(r))] + (key == id ? [] : [("name/\(key)", .text(id))])
    }

    /// `day/YYYY-MM-DD/` of the local date of `t` in the time zone in force at `t` (UTC before
    /// any rules). The text of the last day is kept: events come in runs of the same day.
    private func dayPrefix(_ t: Timestamp, _ state: FoldState<Value>) throws -> String {
        var offset: Int64 = 0
        if case .zones(let zones)? = try state.value("zones") { offset = Self.offset(at: t, zones) }
        let days = Self.localDay(t, offsetSeconds: offset)
        return lastDay.last.withLock { last in
            if last.days != days {
                last = (days, "day/\(Self.dayText(days))/")
            }
            return last.prefix
        }
    }
}

extension ProgramFigures {
    /// The local day number (days since 1970-01-01) of `t` at a UTC offset, in Int128 (no time
    /// and offset overflow it).
    public static func localDay(_ t: Timestamp, offsetSeconds: Int64) -> Int64 {
        let micros = Int128(t.microseconds) + Int128(offsetSeconds) * 1_000_000
        let day = Int128(Timestamp.microsecondsPerDay)
        let q = micros / day
        // Within Int64: |micros| < 2^64, so the day number is far inside.
        return Int64(micros % day < 0 ? q - 1 : q)
    }

    /// The offset in force at `t` among `zones` (0 before any).
    public static func offset(at t: Timestamp, _ zones: [Zone]) -> Int64 {
        var offset: Int64 = 0
        var best: Timestamp?
        for z in zones where z.effectiveAt <= t {
            if let b = best, z.effectiveAt < b { continue }
            (best, offset) = (z.effectiveAt, z.offsetSeconds)
        }
        return offset
    }

    /// `YYYY-MM-DD` of a day number.
    public static func dayText(_ days: Int64) -> String {
        let (y, m, d) = CivilDate.fromDays(days)
        return "\(y)-\(m < 10 ? "0" : "")\(m)-\(d < 10 ? "0" : "")\(d)"
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

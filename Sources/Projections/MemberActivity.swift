public import LoyaltyDomain

/// The operators' reports' read model (schemas/reports.md): per member, the enrollment (time,
/// store, brand) and every purchase and return with its business time, so that enrollments,
/// conversion, activity, repurchase, cohorts and lifecycle stages can be evaluated for any period
/// and as of any time by a query; and, under the program stream's key, the targets.
///
/// Keys: the member's `ProjectionKey.component`; `$program` (the program stream) holds the targets.
public struct MemberActivities: ProjectionFold {
    public static let name = "activity"
    public static let version = 1
    /// Every entry is changed by the events of its own stream only (`$program`'s by program events).
    public static var keyedByMember: Bool { true }

    public enum Value: Sendable, Equatable {
        case member(MemberActivity)
        case targets([DomainEvent.TargetSet])
    }

    /// Targets kept at most (a value of more does not decode).
    static let targetsMax = 1 << 20
    /// Purchases and returns kept per member at most.
    static let entriesMax = 1 << 24

    public init() {}

    public func apply(_ pe: ProjectionEvent, to state: FoldState<Value>) throws {
        if case .pointsEarned(let e) = pe.event, case .purchase = e.source {} else if case .pointsEarned = pe.event { return }
        switch pe.event {
        case .targetSet(let t):
            try state.update(ProjectionKey.component(pe.member)) { (v: inout Value?) in
                var list: [DomainEvent.TargetSet] = []
                if case .targets(let old)? = v { list = old }
                // The latest target of a store, period and metric replaces the earlier one.
                list.removeAll { $0.store == t.store && $0.period == t.period && $0.metric == t.metric }
                guard list.count < Self.targetsMax else { throw FoldFault("more than \(Self.targetsMax) targets") }
                list.append(t)
                v = .targets(list)
            }
        case .memberEnrolled, .purchaseRecorded, .purchaseReturned, .pointsEarned:
            try state.update(ProjectionKey.component(pe.member)) { (v: inout Value?) in
                var a = MemberActivity()
                if case .member(let old)? = v { a = old }
                try a.apply(pe.event, at: pe.occurredAt)
                v = .member(a)
            }
        default:
            return
        }
    }
}

/// What the reports need of one member: enrollment, purchases and returns, in log order.
public struct MemberActivity: Sendable, Equatable {
    public var enrolledAt: Timestamp?
    /// The enrollment store and brand.
    public var store = ""
    public var brand = ""
    /// The purchase stores, each once: `Purchase.store` indexes it.
    public var stores: [String] = []
    public var purchases: [Purchase] = []
    public var returns: [Return] = []

    public struct Purchase: Sendable, Equatable {
        public var at: Timestamp
        /// Gross amount in minor units.
        public var amount: MinorUnits
        /// Index into `stores`.
        public var store: Int
        public var id = ""
        /// Category lines (category, amount in minor units), as recorded.
        public var lines: [(category: String, amount: MinorUnits)] = []
        /// Points earned by this purchase (`points.earned` whose source is the purchase).
        public var points: Points = 0

        public init(at: Timestamp, amount: MinorUnits, store: Int, id: String = "", lines: [(category: String, amount: MinorUnits)] = [],
                    points: Points = 0) {
            (self.at, self.amount, self.store, self.id, self.lines, self.points) = (at, amount, store, id, lines, points)
        }

        public static func == (a: Purchase, b: Purchase) -> Bool {
            a.at == b.at && a.amount == b.amount && a.store == b.store && a.id == b.id && a.points == b.points
                && a.lines.map(\.category) == b.lines.map(\.category) && a.lines.map(\.amount) == b.lines.map(\.amount)
        }
    }

    public struct Return: Sendable, Equatable {
        public var at: Timestamp
        public var amount: MinorUnits
    }

    public init() {}

    mutating func apply(_ event: DomainEvent, at: Timestamp) throws {
        switch event {
        case .memberEnrolled(let e):
            (enrolledAt, store, brand) = (at, e.store, e.brand)
        case .purchaseRecorded(let p):
            guard purchases.count < MemberActivities.entriesMax else { throw FoldFault("more than \(MemberActivities.entriesMax) purchases") }
            let index: Int
            if let i = stores.firstIndex(of: p.store) {
                index = i
            } else {
                stores.append(p.store)
                index = stores.count - 1
            }
            purchases.append(Purchase(at: at, amount: p.amount, store: index, id: p.purchaseId, lines: p.lines.map { ($0.category, $0.amount) }))
        case .pointsEarned(let e):
            // Booked to the purchase that earned them (the last of that id, should one repeat).
            guard case .purchase(let id) = e.source, let i = purchases.lastIndex(where: { $0.id == id }) else { return }
            purchases[i].points = try Checked.add(purchases[i].points, e.points, "points of purchase \(id)")
        case .purchaseReturned(let r):
            guard returns.count < MemberActivities.entriesMax else { throw FoldFault("more than \(MemberActivities.entriesMax) returns") }
            returns.append(Return(at: at, amount: r.amount))
        default:
            break
        }
    }

    /// The purchase store of `p`.
    public func store(of p: Purchase) -> String { p.store < stores.count ? stores[p.store] : "" }

    /// The member view's purchase times as of `t` (purchases with business time <= t), for
    /// `MemberView.stage`.
    public func view(asOf t: Timestamp) -> MemberView {
        var v = MemberView()
        for p in purchases where p.at <= t {
            v.firstPurchaseAt = min(v.firstPurchaseAt ?? p.at, p.at)
            v.lastPurchaseAt = max(v.lastPurchaseAt ?? p.at, p.at)
        }
        v.enrolledAt = enrolledAt
        return v
    }
}

extension MemberActivities {
    public static func encode(_ value: Value, into w: inout ValueWriter) {
        switch value {
        case .member(let a):
            w.tag(0)
            w.optional(a.enrolledAt) { $0.int64($1.microseconds) }
            w.string(a.store); w.string(a.brand)
            w.count(a.stores.count)
            for s in a.stores { w.string(s) }
            w.count(a.purchases.count)
            for p in a.purchases {
                w.int64(p.at.microseconds); w.int64(p.amount); w.int64(Int64(p.store)); w.string(p.id); w.int64(p.points)
                w.count(p.lines.count)
                for l in p.lines { w.string(l.category); w.int64(l.amount) }
            }
            w.count(a.returns.count)
            for r in a.returns { w.int64(r.at.microseconds); w.int64(r.amount) }
        case .targets(let list):
            w.tag(1)
            w.count(list.count)
            for t in list { w.string(t.store); w.string(t.period); w.string(t.metric); w.int64(t.value) }
        }
    }

    public static func decode(_ r: inout ValueReader) throws(ProjectionError) -> Value {
        switch try r.uint8() {
        case 0:
            var a = MemberActivity()
            a.enrolledAt = try r.optional { (r: inout ValueReader) throws(ProjectionError) in Timestamp(microseconds: try r.int64()) }
            (a.store, a.brand) = (try r.string(), try r.string())
            for _ in 0 ..< (try r.count(max: entriesMax)) { a.stores.append(try r.string()) }
            for _ in 0 ..< (try r.count(max: entriesMax)) {
                let (at, amount, store) = (try r.int64(), try r.int64(), try r.int64())
                guard store >= 0, store < Int64(a.stores.count) else { throw .damagedValue("purchase store \(store) of \(a.stores.count)") }
                var p = MemberActivity.Purchase(at: Timestamp(microseconds: at), amount: amount, store: Int(store), id: try r.string(), points: try r.int64())
                for _ in 0 ..< (try r.count(max: entriesMax)) { p.lines.append((try r.string(), try r.int64())) }
                a.purchases.append(p)
            }
            for _ in 0 ..< (try r.count(max: entriesMax)) {
                let (at, amount) = (try r.int64(), try r.int64())
                a.returns.append(.init(at: Timestamp(microseconds: at), amount: amount))
            }
            return .member(a)
        case 1:
            var list: [DomainEvent.TargetSet] = []
            for _ in 0 ..< (try r.count(max: targetsMax)) {
                list.append(.init(store: try r.string(), period: try r.string(), metric: try r.string(), value: try r.int64()))
            }
            return .targets(list)
        case let other:
            throw .damagedValue("activity value tag \(other)")
        }
    }
}

public import LoyaltyDomain
public import LedgerJSON

/// The member view read model: profile, tier, purchase figures and activity per member. Balance
/// figures come from `Balances` (queries join the two); the lifecycle stage depends on the time
/// asked about and on configurable thresholds, so it is computed by `MemberView.stage`.
public struct MemberViews: ProjectionFold {
    public static let name = "members"
    /// 2: keys bounded (`ProjectionKey`); sums checked (an event past 64 bits stops the fold).
    public static let version = 2
    /// Every entry is a member's view, changed by that member's events only.
    public static var keyedByMember: Bool { true }

    public init() {}

    public func apply(_ pe: ProjectionEvent, to state: FoldState<MemberView>) throws {
        if case .programPublished = pe.event { return }
        if case .rewardDefined = pe.event { return }
        if case .targetSet = pe.event { return }
        try state.update(ProjectionKey.component(pe.member)) { (v: inout MemberView?) in
            // Changed in place (`v!` as an lvalue): the 209-byte view is neither copied nor moved.
            if case .none = v { v = MemberView() }
            try v!.apply(pe.event, at: pe.occurredAt)
        }
    }
}

/// Thresholds of the lifecycle stages (Emarsys eRFM defaults: 90 and 365 days).
public struct LifecycleThresholds: Sendable, Equatable {
    /// A member whose first purchase is at most this old is `new`.
    public var newDays: Int64 = 90
    /// A member whose last purchase is older than this is `defecting` ...
    public var defectingDays: Int64 = 90
    /// ... and older than this, `inactive`.
    public var inactiveDays: Int64 = 365

    public init(newDays: Int64 = 90, defectingDays: Int64 = 90, inactiveDays: Int64 = 365) {
        precondition(newDays >= 0 && defectingDays >= 0 && inactiveDays >= defectingDays, "thresholds must be ordered")
        (self.newDays, self.defectingDays, self.inactiveDays) = (newDays, defectingDays, inactiveDays)
    }
}

public struct MemberView: Sendable, Equatable {
    // Declared in the order of how often the fold changes them: what every event changes comes
    // first, in the view's first cache line (with `brand`, whose spare bits mark an absent view in
    // `MemberView?`), so most events touch one line of the 209-byte view.
    public var brand = ""
    public var lastActivityAt: Timestamp?
    public var purchaseCount: Int64 = 0
    /// Integer minor units, net of returns.
    public var totalSpend: MinorUnits = 0
    public var lastPurchaseAt: Timestamp?
    public var firstPurchaseAt: Timestamp?
    public var returnCount: Int64 = 0
    public var enrolledAt: Timestamp?
    public var enrollmentStore = ""
    public var channel = ""
    public var birthDate: String?
    public var gender: String?
    public var profile: [String: String] = [:]
    public var closed = false
    public var tier: String?
    public var tierSince: Timestamp?

    public init() {}

    /// Applies `event`: sums are checked first, so an event that throws changes nothing.
    mutating func apply(_ event: DomainEvent, at: Timestamp) throws {
        switch event {
        case .purchaseRecorded(let e):
            let (count, spend) = (try Checked.add(purchaseCount, 1, "purchase count"), try Checked.add(totalSpend, e.amount, "total spend"))
            (purchaseCount, totalSpend) = (count, spend)
            firstPurchaseAt = min(firstPurchaseAt ?? at, at)
            lastPurchaseAt = max(lastPurchaseAt ?? at, at)
        case .purchaseReturned(let e):
            let (count, spend) = (try Checked.add(returnCount, 1, "return count"), try Checked.sub(totalSpend, e.amount, "total spend"))
            (returnCount, totalSpend) = (count, spend)
        default:
            break
        }
        lastActivityAt = max(lastActivityAt ?? at, at)
        switch event {
        case .memberEnrolled(let e):
            enrolledAt = at
            (brand, enrollmentStore, channel, birthDate, gender, profile) = (e.brand, e.store, e.channel, e.birthDate, e.gender, e.profile)
        case let .profileUpdated(_, changes):
            for (k, v) in changes {
                switch k {
                case "birthDate": birthDate = v
                case "gender": gender = v
                default: profile[k] = v
                }
            }
        case .memberClosed:
            closed = true
        case .tierChanged(let e):
            tier = e.to
            tierSince = at
        case .tierSet(let e):
            tier = e.tier
            tierSince = at
        default:
            break
        }
    }

    /// `lead` (no purchase yet), `new`, `active`, `defecting` or `inactive` at `t`.
    public func stage(at t: Timestamp, _ th: LifecycleThresholds = LifecycleThresholds()) -> String {
        guard let first = firstPurchaseAt, let last = lastPurchaseAt else { return "lead" }
        // In Int128: no difference of two times nor threshold in days overflows it.
        let day = Int128(Timestamp.microsecondsPerDay)
        if Int128(t.microseconds) - Int128(first.microseconds) <= Int128(th.newDays) * day { return "new" }
        let idle = Int128(t.microseconds) - Int128(last.microseconds)
        if idle <= Int128(th.defectingDays) * day { return "active" }
        if idle <= Int128(th.inactiveDays) * day { return "defecting" }
        return "inactive"
    }

    /// The documented JSON of a member view (schemas/projections/member-view.schema.json), with
    /// the balance fields of `balance` at the same time.
    public func json(member: String, balance: Balance?, at t: Timestamp, thresholds: LifecycleThresholds) -> JSONValue {
        func time(_ v: Timestamp?) -> JSONValue { v.map { .string($0.rfc3339) } ?? .null }
        func text(_ v: String?) -> JSONValue { v.map { .string($0) } ?? .null }
        var fields: [String: JSONValue] = [
            "member": .string(member), "asOf": .string(t.rfc3339), "enrolledAt": time(enrolledAt), "brand": .string(brand),
            "enrollmentStore": .string(enrollmentStore), "channel": .string(channel), "birthDate": text(birthDate),
            "gender": text(gender), "profile": jsonObject(profile.mapValues { .string($0) }), "closed": .bool(closed),
            "tier": text(tier), "tierSince": time(tierSince), "purchaseCount": .int(purchaseCount),
            "returnCount": .int(returnCount), "totalSpend": .int(totalSpend), "firstPurchaseAt": time(firstPurchaseAt),
            "lastPurchaseAt": time(lastPurchaseAt), "lastActivityAt": time(lastActivityAt),
            "lifecycleStage": .string(stage(at: t, thresholds)),
        ]
        let b = balance
        for (k, v) in [("available", b?.available), ("pending", b?.pending), ("held", b?.held), ("debt", b?.debt),
                       ("earned", b?.earned), ("redeemed", b?.redeemed), ("expired", b?.expired), ("adjusted", b?.adjusted),
                       ("clawedBack", b?.clawedBack), ("transferredIn", b?.transferredIn), ("transferredOut", b?.transferredOut)] {
            fields[k] = .int(v ?? 0)
        }
        return jsonObject(fields)
    }
}

extension MemberViews {
    public static func encode(_ v: MemberView, into w: inout ValueWriter) {
        w.optional(v.enrolledAt) { $0.int64($1.microseconds) }
        for s in [v.brand, v.enrollmentStore, v.channel] { w.string(s) }
        w.optional(v.birthDate) { $0.string($1) }
        w.optional(v.gender) { $0.string($1) }
        let profile = v.profile.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        w.count(profile.count)
        for (k, value) in profile { w.string(k); w.string(value) }
        w.bool(v.closed)
        w.optional(v.tier) { $0.string($1) }
        for t in [v.tierSince, v.firstPurchaseAt, v.lastPurchaseAt, v.lastActivityAt] { w.optional(t) { $0.int64($1.microseconds) } }
        for n in [v.purchaseCount, v.returnCount, v.totalSpend] { w.int64(n) }
    }

    public static func decode(_ r: inout ValueReader) throws(ProjectionError) -> MemberView {
        func time(_ r: inout ValueReader) throws(ProjectionError) -> Timestamp? {
            try r.optional { (r: inout ValueReader) throws(ProjectionError) in Timestamp(microseconds: try r.int64()) }
        }
        func text(_ r: inout ValueReader) throws(ProjectionError) -> String? {
            try r.optional { (r: inout ValueReader) throws(ProjectionError) in try r.string() }
        }
        var v = MemberView()
        v.enrolledAt = try time(&r)
        (v.brand, v.enrollmentStore, v.channel) = (try r.string(), try r.string(), try r.string())
        (v.birthDate, v.gender) = (try text(&r), try text(&r))
        for _ in 0 ..< (try r.count()) { let k = try r.string(); v.profile[k] = try r.string() }
        v.closed = try r.bool()
        v.tier = try text(&r)
        (v.tierSince, v.firstPurchaseAt, v.lastPurchaseAt, v.lastActivityAt) = (try time(&r), try time(&r), try time(&r), try time(&r))
        (v.purchaseCount, v.returnCount, v.totalSpend) = (try r.int64(), try r.int64(), try r.int64())
        return v
    }
}

/// A JSON object from a dictionary, keys in byte order (the canonical order).
func jsonObject(_ fields: [String: JSONValue]) -> JSONValue {
    .object(fields.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }.map { (key: $0.key, value: $0.value) })
}

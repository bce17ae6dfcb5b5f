public import LoyaltyDomain

/// The deliberately simple, independent fold `reconcile` checks the read models against: per
/// member a dictionary of lots (points left, when available, when expiring) updated from each
/// event's own recorded allocations, and plain counters. It shares nothing with `LedgerModel`,
/// `MemberState` or `Balance` but the event types and the counters' value type
/// (`LifetimeFigures`, inside `MemberFigures`), none of their arithmetic; keep it that way (a
/// bug in the model must not be copied here). In particular the rule "a credit pays the debt
/// first" (`LifetimeFigures.debtPaid(by:)` for the model and the projections) is written out
/// here again on purpose (`afterDebt` and the cases that credit points).
public struct SimpleFold: Sendable {
    struct LotLeft: Sendable {
        var remaining: Int64
        let availableAt: Int64
        let expiresAt: Int64?
        var expiryWritten = false
    }

    public struct Member: Sendable {
        var lots: [String: LotLeft] = [:]
        var holds: [String: (points: Int64, until: Int64)] = [:]
        var redemptions: [String: Int64] = [:]
        var counters = MemberFigures()
        public var store = ""
        public var brand = ""
        /// Impossible events found (a debit from an unknown lot, a lot below zero).
        public var faults: [String] = []
    }

    /// Member id to its slot in `states`: one hash of the id per event, then array access (a
    /// dictionary of whole `Member` values would move them as it grows).
    private var slots: [String: Int] = [:]
    private var ids: [String] = []
    private var states: [Member] = []
    public private(set) var eventsFolded = 0

    /// Every member folded so far, by id (built on each call: read it once, at the end).
    public var members: [String: Member] { Dictionary(uniqueKeysWithValues: zip(ids, states)) }

    public init() {}

    /// The event types that change a member's points or identify its store (the rest only
    /// register the member).
    public static let pointTypes: Set<String> = [
        "member.enrolled", "points.earned", "points.redeemed", "redemption.reversed", "purchase.returned", "points.adjusted",
        "points.expired", "points.held", "points.hold_released", "points.transferred_out", "points.transferred_in",
    ]

    /// The member's slot, created empty on first sight.
    private mutating func slot(_ member: String) -> Int {
        if let i = slots[member] { return i }
        slots[member] = states.count
        ids.append(member)
        states.append(Member())
        return states.count - 1
    }

    /// Counts an event that moves no points: the member exists, with nothing else changed.
    public mutating func register(member: String) {
        eventsFolded += 1
        _ = slot(member)
    }

    /// Applies one member event (program events carry no points and are ignored).
    public mutating func apply(_ event: DomainEvent, position: UInt64, occurredAt: Timestamp) {
        let id = event.stream
        guard id != DomainEvent.programStream else { return }
        eventsFolded += 1
        let i = slot(id)
        Self.apply(event, position: position, at: occurredAt.microseconds, to: &states[i])
    }

    /// Applies `event` if every sum fits in 64 bits and every debit finds its lot (each case
    /// checks everything before it changes anything): an event that cannot be applied is a fault
    /// naming its position, type and member, and changes nothing.
    private static func apply(_ event: DomainEvent, position: UInt64, at: Int64, to m: inout Member) {
        let before = m.faults.count
        do {
            try apply(event, at: at, checked: &m)
        } catch {
            m.faults.append(error.reason)
        }
        for i in before ..< m.faults.count { m.faults[i] = "position \(position) (\(event.type), member \(event.stream)): \(m.faults[i])" }
    }

    struct Fault: Error { let reason: String }

    static func add(_ a: Int64, _ b: Int64, _ what: String) throws(Fault) -> Int64 {
        let (r, o) = a.addingReportingOverflow(b)
        if o { throw Fault(reason: "\(what): \(a) + \(b) does not fit in 64 bits") }
        return r
    }

    static func sub(_ a: Int64, _ b: Int64, _ what: String) throws(Fault) -> Int64 {
        let (r, o) = a.subtractingReportingOverflow(b)
        if o { throw Fault(reason: "\(what): \(a) - \(b) does not fit in 64 bits") }
        return r
    }

    /// What each allocation keeps once `debt` points of them paid a debt, in the order listed.
    static func afterDebt(_ allocations: [LotAllocation], paying debt: Int64) -> [LotAllocation] {
        var owed = debt
        var out: [LotAllocation] = []
        for a in allocations {
            let paid = a.points > 0 ? min(a.points, owed) : 0
            owed -= paid
            out.append(LotAllocation(lotId: a.lotId, points: a.points - paid))
        }
        return out
    }

    static func sum(_ allocations: [LotAllocation], _ what: String) throws(Fault) -> Int64 {
        var total: Int64 = 0
        for a in allocations { total = try add(total, a.points, what) }
        return total
    }

    private static func apply(_ event: DomainEvent, at: Int64, checked m: inout Member) throws(Fault) {
        var c = m.counters
        switch event {
        case .memberEnrolled(let e): (m.store, m.brand) = (e.store, e.brand)
        case .pointsEarned(let e):
            (c.earned, c.debt) = (try add(c.earned, e.points, "earned"), try sub(c.debt, e.debtPaid, "debt"))
            let left = try sub(e.points, e.debtPaid, "lot")
            m.counters = c
            m.addLot(e.lotId, left, availableAt: e.availableAt.microseconds, expiresAt: e.expiresAt?.microseconds)
        case .pointsRedeemed(let e):
            c.redeemed = try add(c.redeemed, e.points, "redeemed")
            try m.take(e.allocations)
            m.counters = c
            m.redemptions[e.redemptionId] = e.points
        case .redemptionReversed(let e):
            // The restored points pay the debt first, taken from the restored lots in the order
            // the event lists them (written out here again on purpose: this fold is independent).
            guard let points = m.redemptions[e.redemptionId] else { throw Fault(reason: "reversal of unknown redemption \(e.redemptionId)") }
            guard e.debtPaid >= 0, e.debtPaid <= max(c.debt, 0) else { throw Fault(reason: "a reversal pays \(e.debtPaid) of a debt of \(c.debt)") }
            (c.redeemed, c.expired) = (try sub(c.redeemed, points, "redeemed"), try add(c.expired, try sum(e.expired, "expired"), "expired"))
            c.debt -= e.debtPaid
            try m.give(Self.afterDebt(e.restored, paying: e.debtPaid))
            m.counters = c
        case .purchaseReturned(let e):
            c.clawedBack = try add(c.clawedBack, try add(try sum(e.clawedBack, "clawed back"), e.debt, "clawed back"), "clawed back")
            c.debt = try add(c.debt, e.debt, "debt")
            try m.take(e.clawedBack)
            m.counters = c
        case .pointsAdjusted(let e):
            c.adjusted = try add(c.adjusted, e.points, "adjusted")
            if e.points > 0 {
                // The debt first (this fold's own statement of the rule, see the type's comment).
                let paid = min(e.points, max(c.debt, 0))
                c.debt -= paid
                m.addLot(e.lotId ?? "A:\(e.key)", e.points - paid, availableAt: at, expiresAt: e.expiresAt?.microseconds)
            } else {
                try m.take(e.allocations)
            }
            m.counters = c
        case let .pointsExpired(_, lotId, points):
            c.expired = try add(c.expired, points, "expired")
            try m.take([LotAllocation(lotId: lotId, points: points)])
            m.lots[lotId]?.expiryWritten = true
            m.counters = c
        case let .pointsHeld(_, holdId, points, until): m.holds[holdId] = (points, until.microseconds)
        case let .holdReleased(_, holdId): m.holds[holdId] = nil
        case .pointsTransferredOut(let e):
            c.transferredOut = try add(c.transferredOut, e.points, "transferred out")
            try m.take(e.allocations)
            m.counters = c
        case .pointsTransferredIn(let e):
            c.transferredIn = try add(c.transferredIn, e.points, "transferred in")
            let paid = max(0, min(e.points, c.debt))  // the debt first (written out again on purpose)
            c.debt -= paid
            for (i, (a, expiry)) in zip(Self.afterDebt(e.allocations, paying: paid), e.expiries).enumerated() {
                m.addLot("T:\(e.transferId):\(i)", a.points, availableAt: at, expiresAt: expiry?.microseconds)
            }
            m.counters = c
        case .profileUpdated, .memberClosed, .purchaseRecorded, .tierChanged, .rewardDefined, .programPublished, .targetSet: break
        case .cardIssued, .cardBlocked, .tierSet: break  // cards name members, tiers rank them: they move no points
        }
    }
}

extension SimpleFold.Member {
    // One hash of the lot id per credit or debit (`updateValue`, `index(forKey:)`), not three.
    // A lot credited twice or taken below zero is noted (`faults`) and the event still applies
    // (the comparison then shows what it did); an unknown lot or a sum past 64 bits refuses it.
    mutating func addLot(_ id: String, _ points: Int64, availableAt: Int64, expiresAt: Int64?) {
        let lot = SimpleFold.LotLeft(remaining: points, availableAt: availableAt, expiresAt: expiresAt)
        if lots.updateValue(lot, forKey: id) != nil { faults.append("lot \(id) credited twice") }
    }

    /// Takes `allocations` from their lots: all of them are checked (every lot known, no
    /// overflow) before any lot changes.
    mutating func take(_ allocations: [LotAllocation]) throws(SimpleFold.Fault) {
        try move(allocations, sign: -1)
    }

    /// Gives `allocations` back to their lots (a reversal), checked as `take`.
    mutating func give(_ allocations: [LotAllocation]) throws(SimpleFold.Fault) {
        try move(allocations, sign: 1)
    }

    private mutating func move(_ allocations: [LotAllocation], sign: Int64) throws(SimpleFold.Fault) {
        var after: [(Dictionary<String, SimpleFold.LotLeft>.Index, Int64)] = []
        for a in allocations {
            guard let i = lots.index(forKey: a.lotId) else {
                throw SimpleFold.Fault(reason: "\(sign < 0 ? "takes" : "restores") \(a.points) \(sign < 0 ? "from" : "to") unknown lot \(a.lotId)")
            }
            let left = after.last { $0.0 == i }?.1 ?? lots.values[i].remaining
            after.append((i, sign < 0 ? try SimpleFold.sub(left, a.points, "lot \(a.lotId)") : try SimpleFold.add(left, a.points, "lot \(a.lotId)")))
        }
        for (i, left) in after {
            lots.values[i].remaining = left
            if left < 0 { faults.append("lot \(lots.keys[i]) below zero") }
        }
    }

    /// The member's figures at `t`: lots past their expiry count as expired (never spendable)
    /// even before their expiry event; active holds never exceed the spendable lots.
    /// Sums in Int128: a member's figure past 64 bits is an error naming the figure.
    public func figures(at t: Timestamp) throws(AuditError) -> MemberFigures {
        var f = counters
        var spendable: Int128 = 0, pending: Int128 = 0, lapsed: Int128 = 0
        for lot in lots.values where lot.remaining > 0 {
            if let x = lot.expiresAt, x <= t.microseconds {
                if !lot.expiryWritten { lapsed += Int128(lot.remaining) }
            } else if lot.availableAt <= t.microseconds {
                spendable += Int128(lot.remaining)
            } else {
                pending += Int128(lot.remaining)
            }
        }
        let holding = holds.values.reduce(Int128(0)) { $0 + ($1.until > t.microseconds ? Int128($1.points) : 0) }
        let held = min(holding, spendable)
        func fit(_ v: Int128, _ name: String) throws(AuditError) -> Int64 {
            guard let n = Int64(exactly: v) else { throw AuditError("\(name) of \(v) points does not fit in 64 bits") }
            return n
        }
        f.held = try fit(held, "held")
        f.available = try fit(spendable - held, "available")
        f.pending = try fit(pending, "pending")
        f.expired = try fit(Int128(f.expired) + lapsed, "expired")
        return f
    }
}

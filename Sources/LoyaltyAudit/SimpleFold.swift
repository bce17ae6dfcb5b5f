public import LoyaltyDomain

/// The deliberately simple, independent fold `reconcile` checks the read models against: per
/// member a dictionary of lots (points left, when available, when expiring) updated from each
/// event's own recorded allocations, and plain counters. It shares nothing with `LedgerModel`,
/// `MemberState` or `Balance` but the event types; keep it that way (a bug in the model must not
/// be copied here).
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

    /// Member id to its slot in `states`: one hash of the id per event, then array access (the
    /// dictionary of whole `Member` values was rehashed and moved as it grew).
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

    private static func apply(_ event: DomainEvent, position: UInt64, at: Int64, to m: inout Member) {
        switch event {
        case .memberEnrolled(let e): (m.store, m.brand) = (e.store, e.brand)
        case .pointsEarned(let e):
            m.counters.earned += e.points
            m.counters.debt -= e.debtPaid
            m.addLot(e.lotId, e.points - e.debtPaid, availableAt: e.availableAt.microseconds, expiresAt: e.expiresAt?.microseconds, position)
        case .pointsRedeemed(let e):
            m.take(e.allocations, position)
            m.counters.redeemed += e.points
            m.redemptions[e.redemptionId] = e.points
        case .redemptionReversed(let e):
            guard let points = m.redemptions[e.redemptionId] else { m.faults.append("position \(position): reversal of unknown redemption \(e.redemptionId)"); return }
            for a in e.restored { m.lots[a.lotId]?.remaining += a.points }
            m.counters.redeemed -= points
            m.counters.expired += e.expired.reduce(0) { $0 + $1.points }
        case .purchaseReturned(let e):
            m.take(e.clawedBack, position)
            m.counters.clawedBack += e.clawedBack.reduce(0) { $0 + $1.points } + e.debt
            m.counters.debt += e.debt
        case .pointsAdjusted(let e):
            m.counters.adjusted += e.points
            if e.points > 0 {
                let paid = min(e.points, m.counters.debt)
                m.counters.debt -= paid
                m.addLot(e.lotId ?? "A:\(e.key)", e.points - paid, availableAt: at, expiresAt: e.expiresAt?.microseconds, position)
            } else {
                m.take(e.allocations, position)
            }
        case let .pointsExpired(_, lotId, points):
            m.take([LotAllocation(lotId: lotId, points: points)], position)
            m.lots[lotId]?.expiryWritten = true
            m.counters.expired += points
        case let .pointsHeld(_, holdId, points, until): m.holds[holdId] = (points, until.microseconds)
        case let .holdReleased(_, holdId): m.holds[holdId] = nil
        case .pointsTransferredOut(let e):
            m.take(e.allocations, position)
            m.counters.transferredOut += e.points
        case .pointsTransferredIn(let e):
            for (i, (a, expiry)) in zip(e.allocations, e.expiries).enumerated() {
                m.addLot("T:\(e.transferId):\(i)", a.points, availableAt: at, expiresAt: expiry?.microseconds, position)
            }
            m.counters.transferredIn += e.points
        case .profileUpdated, .memberClosed, .purchaseRecorded, .tierChanged, .rewardDefined, .programPublished: break
        }
    }
}

extension SimpleFold.Member {
    // One hash of the lot id per credit or debit (`updateValue`, `index(forKey:)`), not three.
    mutating func addLot(_ id: String, _ points: Int64, availableAt: Int64, expiresAt: Int64?, _ position: UInt64) {
        let lot = SimpleFold.LotLeft(remaining: points, availableAt: availableAt, expiresAt: expiresAt)
        if lots.updateValue(lot, forKey: id) != nil { faults.append("position \(position): lot \(id) credited twice") }
    }

    mutating func take(_ allocations: [LotAllocation], _ position: UInt64) {
        for a in allocations {
            guard let i = lots.index(forKey: a.lotId) else { faults.append("position \(position): takes \(a.points) from unknown lot \(a.lotId)"); continue }
            lots.values[i].remaining -= a.points
            if lots.values[i].remaining < 0 { faults.append("position \(position): lot \(a.lotId) below zero") }
        }
    }

    /// The member's figures at `t`: lots past their expiry count as expired (never spendable)
    /// even before their expiry event; active holds never exceed the spendable lots.
    public func figures(at t: Timestamp) -> MemberFigures {
        var f = counters
        var spendable: Int64 = 0, pending: Int64 = 0, lapsed: Int64 = 0
        for lot in lots.values where lot.remaining > 0 {
            if let x = lot.expiresAt, x <= t.microseconds {
                if !lot.expiryWritten { lapsed += lot.remaining }
            } else if lot.availableAt <= t.microseconds {
                spendable += lot.remaining
            } else {
                pending += lot.remaining
            }
        }
        let holding = holds.values.reduce(Int64(0)) { $0 + ($1.until > t.microseconds ? $1.points : 0) }
        f.held = min(holding, spendable)
        f.available = spendable - f.held
        f.pending = pending
        f.expired += lapsed
        return f
    }
}

public import LoyaltyDomain

/// The balances read model: per member, every lot (with what remains of it), the holds, the debt
/// and the lifetime figures. Which points are available, pending, held or expired depends on the
/// time asked about, so queries evaluate the stored lots with the domain's own `Balance` rules.
public struct Balances: ProjectionFold {
    public static let name = "balances"
    /// 2: enrolled members without points have a (zero) entry.
    public static let version = 2

    public struct Record: Sendable, Equatable {
        public var lots: [Lot] = []
        public var holds: [String: MemberState.Hold] = [:]
        public var debt: Points = 0
        public var earned: Points = 0
        public var redeemed: Points = 0
        public var expired: Points = 0
        public var adjusted: Points = 0
        public var clawedBack: Points = 0
        public var transferredIn: Points = 0
        public var transferredOut: Points = 0
        /// Position of the last event applied to this member.
        public var lastPosition: UInt64 = 0

        public init() {}

        /// The balance at `t`, by the same rules as the domain model's.
        public func balance(_ member: String, at t: Timestamp) -> Balance {
            var s = MemberState(member: member)
            s.lots = lots
            s.holds = holds
            (s.debt, s.earned, s.redeemed, s.expired, s.adjusted) = (debt, earned, redeemed, expired, adjusted)
            (s.clawedBack, s.transferredIn, s.transferredOut) = (clawedBack, transferredIn, transferredOut)
            return Balance(s, at: t)
        }

        mutating func take(_ allocations: [LotAllocation], position: UInt64) throws {
            for a in allocations {
                guard let i = lots.firstIndex(where: { $0.lotId == a.lotId }), lots[i].remaining >= a.points else {
                    throw ProjectionError.undecodableEvent(position: position, reason: "allocation of \(a.points) from lot '\(a.lotId)' that does not hold them")
                }
                lots[i].remaining -= a.points
            }
        }

        mutating func restore(_ allocations: [LotAllocation]) {
            for a in allocations {
                if let i = lots.firstIndex(where: { $0.lotId == a.lotId }) { lots[i].remaining += a.points }
            }
        }

        mutating func addLot(_ lot: Lot) { lots.append(lot) }
    }

    public init() {}

    public func apply(_ pe: ProjectionEvent, to state: FoldState<Record>) throws {
        let at = pe.occurredAt
        switch pe.event {
        case .programPublished, .rewardDefined, .profileUpdated, .memberClosed, .purchaseRecorded, .tierChanged:
            return
        case .memberEnrolled:
            // Every enrolled member has a balance, zero until points move (reconciliation
            // compares member sets too).
            try state.update(pe.member) { r in if r == nil { r = Record() } }
            return
        default:
            break
        }
        try state.update(pe.member) { (r: inout Record?) in
            if r == nil { r = Record() }
            // In place: a copy would copy the member's lots on every event.
            try Self.apply(pe.event, at: at, position: pe.position, to: &r!)
            r!.lastPosition = pe.position
        }
    }

    static func apply(_ event: DomainEvent, at: Timestamp, position: UInt64, to r: inout Record) throws {
        switch event {
        case .pointsEarned(let e):
            r.debt -= e.debtPaid
            r.addLot(Lot(id: e.lotId, points: e.points, remaining: e.points - e.debtPaid, earnedAt: at,
                         availableAt: e.availableAt, expiresAt: e.expiresAt, source: e.source))
            r.earned += e.points
        case .purchaseReturned(let e):
            try r.take(e.clawedBack, position: position)
            r.debt += e.debt
            r.clawedBack += e.clawedBack.reduce(0) { $0 + $1.points } + e.debt
        case .pointsRedeemed(let e):
            try r.take(e.allocations, position: position)
            r.redeemed += e.points
        case .redemptionReversed(let e):
            // What the redemption took comes back: to its lots, or as expired where they lapsed.
            r.restore(e.restored)
            let expired = e.expired.reduce(0) { $0 + $1.points }
            r.redeemed -= e.restored.reduce(0) { $0 + $1.points } + expired
            r.expired += expired
        case .pointsAdjusted(let e):
            r.adjusted += e.points
            if e.points > 0, let lotId = e.lotId {
                let paid = min(e.points, r.debt)
                r.debt -= paid
                r.addLot(Lot(id: lotId, points: e.points, remaining: e.points - paid, earnedAt: at, availableAt: at,
                             expiresAt: e.expiresAt, source: .adjustment(e.key)))
            } else {
                try r.take(e.allocations, position: position)
            }
        case let .pointsExpired(_, lotId, points):
            if let i = r.lots.firstIndex(where: { $0.lotId == lotId }) {
                r.lots[i].remaining -= points
                r.lots[i].expiryWritten = true
            }
            r.expired += points
        case let .pointsHeld(_, holdId, points, expiresAt):
            r.holds[holdId] = MemberState.Hold(holding: points, until: expiresAt)
        case let .holdReleased(_, holdId):
            r.holds[holdId] = nil
        case .pointsTransferredOut(let e):
            try r.take(e.allocations, position: position)
            r.transferredOut += e.points
        case .pointsTransferredIn(let e):
            for (i, (a, expiry)) in zip(e.allocations, e.expiries).enumerated() {
                r.addLot(Lot(id: "T:\(e.transferId):\(i)", points: a.points, remaining: a.points, earnedAt: at,
                             availableAt: at, expiresAt: expiry, source: .transfer(e.transferId)))
            }
            r.transferredIn += e.points
        default:
            break
        }
    }
}

// MARK: Value form

extension Balances {
    public static func encode(_ r: Record, into w: inout ValueWriter) {
        w.count(r.lots.count)
        for lot in r.lots {
            w.string(lot.lotId)
            w.int64(lot.points)
            w.int64(lot.remaining)
            w.int64(lot.earnedAt.microseconds)
            w.int64(lot.availableAt.microseconds)
            w.optional(lot.expiresAt) { $0.int64($1.microseconds) }
            w.encode(lot.source)
            w.bool(lot.expiryWritten)
        }
        let holds = r.holds.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        w.count(holds.count)
        for (id, h) in holds {
            w.string(id)
            w.int64(h.points)
            w.int64(h.expiresAt.microseconds)
        }
        for v in [r.debt, r.earned, r.redeemed, r.expired, r.adjusted, r.clawedBack, r.transferredIn, r.transferredOut] { w.int64(v) }
        w.uint64(r.lastPosition)
    }

    public static func decode(_ rd: inout ValueReader) throws(ProjectionError) -> Record {
        var r = Record()
        let lots = try rd.count()
        r.lots.reserveCapacity(lots)
        for _ in 0 ..< lots {
            let id = try rd.string(), points = try rd.int64(), remaining = try rd.int64()
            let earnedAt = try rd.int64(), availableAt = try rd.int64()
            let expiresAt = try rd.optional { (r: inout ValueReader) throws(ProjectionError) in try r.int64() }
            let source = try rd.lotSource()
            let written = try rd.bool()
            guard remaining >= 0, remaining <= points else { throw .damagedValue("lot '\(id)' has \(remaining) of \(points) points left") }
            r.lots.append(Lot(id: id, points: points, remaining: remaining, earnedAt: Timestamp(microseconds: earnedAt),
                              availableAt: Timestamp(microseconds: availableAt), expiresAt: expiresAt.map(Timestamp.init(microseconds:)),
                              source: source, expiryWritten: written))
        }
        for _ in 0 ..< (try rd.count()) {
            let id = try rd.string()
            r.holds[id] = MemberState.Hold(holding: try rd.int64(), until: Timestamp(microseconds: try rd.int64()))
        }
        (r.debt, r.earned, r.redeemed, r.expired) = (try rd.int64(), try rd.int64(), try rd.int64(), try rd.int64())
        (r.adjusted, r.clawedBack, r.transferredIn, r.transferredOut) = (try rd.int64(), try rd.int64(), try rd.int64(), try rd.int64())
        r.lastPosition = try rd.uint64()
        return r
    }
}

extension ValueWriter {
    mutating func encode(_ source: LotSource) {
        switch source {
        case .purchase(let id): tag(0); string(id)
        case .adjustment(let id): tag(1); string(id)
        case .transfer(let id): tag(2); string(id)
        case .bonus(let id): tag(3); string(id)
        }
    }
}

extension ValueReader {
    mutating func lotSource() throws(ProjectionError) -> LotSource {
        let tag = try take(1)[0]
        let id = try string()
        switch tag {
        case 0: return .purchase(id)
        case 1: return .adjustment(id)
        case 2: return .transfer(id)
        case 3: return .bonus(id)
        default: throw .damagedValue("lot source tag \(tag)")
        }
    }
}

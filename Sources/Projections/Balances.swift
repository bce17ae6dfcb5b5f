public import LoyaltyDomain

/// The balances read model: per member, every lot (with what remains of it), the holds, the debt
/// and the lifetime figures. Which points are available, pending, held or expired depends on the
/// time asked about, so queries evaluate the stored lots with the domain's own `Balance` rules.
public struct Balances: ProjectionFold {
    public static let name = "balances"
    /// 2: enrolled members without points have a (zero) entry. 3: a lot's `remaining` and flags
    /// come first in its value form (patched in place as the fold changes them), the rest compact.
    public static let version = 3

    public struct Record: Sendable, Equatable {
        /// Every lot the member ever received, in the order received (spent ones included: a
        /// reversal can restore them).
        public var lots: [Lot] {
            get { storedLots }
            set { storedLots = newValue; lotForm = nil }
        }
        private var storedLots: [Lot] = []
        /// The lots' value form, kept up to date as the fold changes them, so that a commit copies
        /// it instead of encoding every lot of every changed member again (nil after `lots` was
        /// set from outside: `encode` then writes the lots one by one).
        private var lotForm: LotForm? = LotForm()
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

        public static func == (a: Record, b: Record) -> Bool {
            a.storedLots == b.storedLots && a.holds == b.holds && a.lastPosition == b.lastPosition
                && (a.debt, a.earned, a.redeemed, a.expired) == (b.debt, b.earned, b.redeemed, b.expired)
                && (a.adjusted, a.clawedBack, a.transferredIn, a.transferredOut) == (b.adjusted, b.clawedBack, b.transferredIn, b.transferredOut)
        }

        /// The balance at `t`, by the same rules as the domain model's.
        public func balance(_ member: String, at t: Timestamp) -> Balance {
            var s = MemberState(member: member)
            s.lots = storedLots
            s.holds = holds
            (s.debt, s.earned, s.redeemed, s.expired, s.adjusted) = (debt, earned, redeemed, expired, adjusted)
            (s.clawedBack, s.transferredIn, s.transferredOut) = (clawedBack, transferredIn, transferredOut)
            return Balance(s, at: t)
        }

        private func lotIndex(_ id: String) -> Int? { storedLots.firstIndex { $0.lotId == id } }

        /// Sets what is left of lot `i` (and whether its expiry was written), in the lots and their form.
        private mutating func setRemaining(_ i: Int, _ remaining: Points, expiryWritten: Bool? = nil) {
            storedLots[i].remaining = remaining
            if let expiryWritten { storedLots[i].expiryWritten = expiryWritten }
            lotForm?.patch(i, remaining: remaining, expiryWritten: storedLots[i].expiryWritten)
        }

        mutating func take(_ allocations: [LotAllocation], position: UInt64) throws {
            for a in allocations {
                guard let i = lotIndex(a.lotId), storedLots[i].remaining >= a.points else {
                    throw ProjectionError.undecodableEvent(position: position, reason: "allocation of \(a.points) from lot '\(a.lotId)' that does not hold them")
                }
                setRemaining(i, storedLots[i].remaining - a.points)
            }
        }

        mutating func restore(_ allocations: [LotAllocation]) {
            for a in allocations {
                if let i = lotIndex(a.lotId) { setRemaining(i, storedLots[i].remaining + a.points) }
            }
        }

        mutating func expire(_ lotId: String, points: Points) {
            if let i = lotIndex(lotId) { setRemaining(i, storedLots[i].remaining - points, expiryWritten: true) }
        }

        mutating func addLot(_ lot: Lot) {
            storedLots.append(lot)
            lotForm?.append(lot)
        }

        /// Writes the lots: their kept form, or lot by lot.
        func encodeLots(into w: inout ValueWriter) {
            w.count(storedLots.count)
            if let lotForm {
                w.append(lotForm.bytes)
            } else {
                for lot in storedLots { LotForm.encode(lot, into: &w) }
            }
        }

        /// Reads the lots and keeps their form.
        mutating func decodeLots(_ rd: inout ValueReader) throws(ProjectionError) {
            let n = try rd.count()
            var form = LotForm()
            form.offsets.reserveCapacity(n)
            storedLots.reserveCapacity(n)
            let start = rd.offset
            for _ in 0 ..< n {
                form.offsets.append(rd.offset - start)
                storedLots.append(try LotForm.decode(&rd))
            }
            form.bytes = Array(rd.buffer[start ..< rd.offset])
            lotForm = form
        }
    }

    /// The value form of a member's lots, with where each lot starts in it: `remaining` and the
    /// flags byte (with `expiryWritten`) come first in a lot, so a change to them is a patch of 9
    /// bytes. The rest is compact (varints, times relative to `earnedAt`, the source id left out
    /// where the lot id implies it), so that a member's lots stay small in LMDB's pages.
    struct LotForm: Sendable {
        var bytes: [UInt8] = []
        var offsets: [Int] = []

        /// Flags byte: bit 0 `expiryWritten`, bit 1 `expiresAt` present, bit 2 source id implied by
        /// the lot id, bits 4-5 the source kind.
        static let expiryWritten: UInt8 = 1, hasExpiry: UInt8 = 2, impliedSource: UInt8 = 4, kindShift: UInt8 = 4
        static let knownFlags: UInt8 = 0x37

        mutating func append(_ lot: Lot) {
            offsets.append(bytes.count)
            var w = ValueWriter(capacity: 0)
            swap(&w.bytes, &bytes)
            Self.encode(lot, into: &w)
            swap(&w.bytes, &bytes)
        }

        mutating func patch(_ i: Int, remaining: Points, expiryWritten: Bool) {
            let at = offsets[i]
            bytes.withUnsafeMutableBytes { b in
                b.storeBytes(of: remaining.littleEndian, toByteOffset: at, as: Int64.self)
                b[at + 8] = expiryWritten ? b[at + 8] | Self.expiryWritten : b[at + 8] & ~Self.expiryWritten
            }
        }

        /// The source's kind and id; the id is implied when the lot id is "P:" or "A:" and the id.
        static func split(_ source: LotSource) -> (kind: UInt8, id: String, prefix: String?) {
            switch source {
            case .purchase(let id): return (0, id, "P:")
            case .adjustment(let id): return (1, id, "A:")
            case .transfer(let id): return (2, id, nil)
            case .bonus(let id): return (3, id, nil)
            }
        }

        static func encode(_ lot: Lot, into w: inout ValueWriter) {
            let (kind, id, prefix) = split(lot.source)
            // Byte for byte (String equality would also match canonically equivalent forms).
            let implied = prefix.map { p in
                lot.lotId.utf8.starts(with: p.utf8) && lot.lotId.utf8.dropFirst(p.utf8.count).elementsEqual(id.utf8)
            } ?? false
            var flags = kind << kindShift
            if lot.expiryWritten { flags |= expiryWritten }
            if lot.expiresAt != nil { flags |= hasExpiry }
            if implied { flags |= impliedSource }
            w.int64(lot.remaining)
            w.tag(flags)
            w.varint(lot.points)
            let earned = lot.earnedAt.microseconds
            w.int64(earned)
            // Wrapping differences: exact for any two times (they add back modulo 2^64).
            w.varint(lot.availableAt.microseconds &- earned)
            if let e = lot.expiresAt { w.varint(e.microseconds &- earned) }
            w.shortString(lot.lotId)
            if !implied { w.shortString(id) }
        }

        static func decode(_ rd: inout ValueReader) throws(ProjectionError) -> Lot {
            let remaining = try rd.int64()
            let flags = try rd.take(1)[0]
            guard flags & ~knownFlags == 0 else { throw .damagedValue("lot flags \(flags)") }
            let points = try rd.varint(), earned = try rd.int64()
            let availableAt = earned &+ (try rd.varint())
            let expiresAt = flags & hasExpiry != 0 ? earned &+ (try rd.varint()) : nil
            let lotId = try rd.shortString()
            let kind = flags >> kindShift
            let prefix = kind == 0 ? "P:" : kind == 1 ? "A:" : ""
            let id: String
            if flags & impliedSource != 0 {
                guard !prefix.isEmpty, lotId.utf8.starts(with: prefix.utf8) else { throw .damagedValue("lot '\(lotId)' cannot imply its source") }
                id = String(decoding: Array(lotId.utf8.dropFirst(prefix.utf8.count)), as: UTF8.self)
            } else {
                id = try rd.shortString()
            }
            let source: LotSource = kind == 0 ? .purchase(id) : kind == 1 ? .adjustment(id) : kind == 2 ? .transfer(id) : .bonus(id)
            guard remaining >= 0, remaining <= points else { throw .damagedValue("lot '\(lotId)' has \(remaining) of \(points) points left") }
            return Lot(id: lotId, points: points, remaining: remaining, earnedAt: Timestamp(microseconds: earned),
                       availableAt: Timestamp(microseconds: availableAt), expiresAt: expiresAt.map(Timestamp.init(microseconds:)),
                       source: source, expiryWritten: flags & expiryWritten != 0)
        }
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
            // Moved out and back (`take`): a copy would copy the member's lots on every event.
            var record = r.take() ?? Record()
            defer { r = record }
            try Self.apply(pe.event, at: at, position: pe.position, to: &record)
            record.lastPosition = pe.position
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
            r.expire(lotId, points: points)
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
        r.encodeLots(into: &w)
        w.count(r.holds.count)
        if !r.holds.isEmpty {
            for (id, h) in r.holds.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
                w.string(id)
                w.int64(h.points)
                w.int64(h.expiresAt.microseconds)
            }
        }
        w.int64(r.debt); w.int64(r.earned); w.int64(r.redeemed); w.int64(r.expired)
        w.int64(r.adjusted); w.int64(r.clawedBack); w.int64(r.transferredIn); w.int64(r.transferredOut)
        w.uint64(r.lastPosition)
    }

    public static func decode(_ rd: inout ValueReader) throws(ProjectionError) -> Record {
        var r = Record()
        try r.decodeLots(&rd)
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

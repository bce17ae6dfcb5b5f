public import LoyaltyDomain
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The balances read model: per member, every lot (with what remains of it), the holds, the debt
/// and the lifetime figures. Which points are available, pending, held or expired depends on the
/// time asked about, so queries evaluate the stored lots with the domain's own `Balance` rules.
public struct Balances: ProjectionFold {
    public static let name = "balances"
    /// 2: enrolled members without points have a (zero) entry. 3: a lot's `remaining` and flags
    /// come first in its value form (patched in place as the fold changes them), the rest compact.
    /// 4: keys bounded (`ProjectionKey`); events the fold cannot apply stop it.
    public static let version = 4
    /// Every entry is a member's balance, changed by that member's events only.
    public static var keyedByMember: Bool { true }

    public struct Record: Sendable, Equatable {
        /// Every lot the member ever received, in the order received (spent ones included: a
        /// reversal can restore them). Kept in their value form only (`LotForm`): the fold needs
        /// no more than a lot's id and remaining points, which it finds and changes in place;
        /// queries decode the lots.
        public var lots: [Lot] {
            // The form was validated when read and is written only by `LotForm.append`.
            get { (try? form.lots()) ?? [] }
            set {
                form = LotForm()
                for lot in newValue { form.append(lot) }
            }
        }
        private(set) var form = LotForm()
        public var holds: [String: MemberState.Hold] = [:]
        /// The lifetime counters and the debt.
        public var figures = LifetimeFigures()
        /// Position of the last event applied to this member.
        public var lastPosition: UInt64 = 0

        public init() {}

        /// The balance at `t`, by the same rules as the domain model's.
        public func balance(_ member: String, at t: Timestamp) -> Balance {
            var s = MemberState(member: member)
            s.lots = lots
            s.holds = holds
            s.figures = figures
            return Balance(s, at: t)
        }

        /// The lots' remaining points after taking `allocations` (index, new remaining), checked
        /// before anything changes: every lot exists and holds what is taken from it.
        func taking(_ allocations: [LotAllocation]) throws -> [(Int, Points)] {
            var out: [(Int, Points)] = []
            for a in allocations {
                guard a.points >= 0 else { throw FoldFault("allocation of \(a.points) points from lot '\(a.lotId)'") }
                guard let i = form.index(of: a.lotId) else {
                    throw FoldFault("allocation of \(a.points) from lot '\(a.lotId)', which the member does not have")
                }
                let left = out.last { $0.0 == i }?.1 ?? form.remaining(i)
                guard left >= a.points else {
                    throw FoldFault("allocation of \(a.points) from lot '\(a.lotId)', which holds \(left)")
                }
                out.append((i, left - a.points))
            }
            return out
        }

        /// The lots' remaining points after giving `allocations` back (a redemption reversal),
        /// checked: every lot exists and never holds more than it was credited.
        func restoring(_ allocations: [LotAllocation]) throws -> [(Int, Points)] {
            var out: [(Int, Points)] = []
            for a in allocations {
                guard a.points >= 0 else { throw FoldFault("restores \(a.points) points to lot '\(a.lotId)'") }
                guard let i = form.index(of: a.lotId) else { throw FoldFault("restores points to lot '\(a.lotId)', which the member does not have") }
                let left = out.last { $0.0 == i }?.1 ?? form.remaining(i)
                let points = try form.points(i)
                guard a.points <= points - left else {
                    throw FoldFault("restores \(a.points) to lot '\(a.lotId)', which holds \(left) of \(points)")
                }
                out.append((i, left + a.points))
            }
            return out
        }

        mutating func setRemaining(_ changes: [(Int, Points)], expiryWritten: Bool = false) {
            for (i, r) in changes { form.setRemaining(i, r, expiryWritten: expiryWritten) }
        }

        mutating func addLot(_ lot: Lot) { form.append(lot) }

        /// Reads the lots (each one checked) and keeps their form.
        mutating func decodeLots(_ rd: inout ValueReader) throws(ProjectionError) {
            let n = try rd.count()
            form = LotForm()
            form.offsets.reserveCapacity(n)
            let start = rd.offset
            for _ in 0 ..< n {
                form.offsets.append(UInt32(rd.offset - start))
                _ = try LotForm.decode(&rd)
            }
            form.bytes = Array(rd.buffer[start ..< rd.offset])
        }
    }

    /// The value form of a member's lots, with where each lot starts in it. A lot starts with what
    /// the fold reads and changes: `remaining` (i64le) and the flags byte (with `expiryWritten`),
    /// patched in place, then the lot id, found by comparing bytes; the rest is compact (varints,
    /// times relative to `earnedAt`, the source id left out where the lot id implies it), so that
    /// a member's lots stay small in memory and in LMDB's pages.
    struct LotForm: Sendable, Equatable {
        var bytes: [UInt8] = []
        var offsets: [UInt32] = []

        /// Flags byte: bit 0 `expiryWritten`, bit 1 `expiresAt` present, bit 2 source id implied by
        /// the lot id, bits 4-5 the source kind.
        static let expiryWritten: UInt8 = 1, hasExpiry: UInt8 = 2, impliedSource: UInt8 = 4, kindShift: UInt8 = 4
        static let knownFlags: UInt8 = 0x37

        var count: Int { offsets.count }

        mutating func append(_ lot: Lot) {
            offsets.append(UInt32(bytes.count))
            var w = ValueWriter(capacity: 0)
            swap(&w.bytes, &bytes)
            Self.encode(lot, into: &w)
            swap(&w.bytes, &bytes)
        }

        /// The points lot `i` was credited with.
        func points(_ i: Int) throws -> Points {
            try bytes.withUnsafeBytes { b in
                let end = i + 1 < offsets.count ? Int(offsets[i + 1]) : b.count
                var rd = ValueReader(UnsafeRawBufferPointer(rebasing: b[Int(offsets[i]) + 9 ..< end]))
                _ = try rd.shortString()
                return try rd.varint()
            }
        }

        func remaining(_ i: Int) -> Points {
            bytes.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(fromByteOffset: Int(offsets[i]), as: Int64.self)) }
        }

        mutating func setRemaining(_ i: Int, _ remaining: Points, expiryWritten: Bool = false) {
            let at = Int(offsets[i])
            bytes.withUnsafeMutableBytes { b in
                b.storeBytes(of: remaining.littleEndian, toByteOffset: at, as: Int64.self)
                if expiryWritten { b[at + 8] |= Self.expiryWritten }
            }
        }

        /// The index of the lot with this id (its bytes follow `remaining` and the flags as a
        /// short string), nil if none.
        func index(of lotId: String) -> Int? {
            var id = lotId
            return id.withUTF8 { key in
                bytes.withUnsafeBytes { b in
                    for (i, offset) in offsets.enumerated() {
                        // Lot ids are short: a one-byte varint length (zigzag: twice the length).
                        let at = Int(offset) + 9
                        guard at < b.count else { return nil }
                        let lengthByte = b[at]
                        if lengthByte < 0x80, Int(lengthByte >> 1) == key.count, at + 1 + key.count <= b.count,
                           key.isEmpty || memcmp(b.baseAddress! + at + 1, key.baseAddress!, key.count) == 0 {
                            return i
                        }
                        if lengthByte >= 0x80, let i = slowMatch(i, key) { return i }
                    }
                    return nil
                }
            }
        }

        /// Lot `i` when its id (of a length that takes a longer varint) equals `key`.
        private func slowMatch(_ i: Int, _ key: UnsafeBufferPointer<UInt8>) -> Int? {
            let end = i + 1 < offsets.count ? Int(offsets[i + 1]) : bytes.count
            return bytes.withUnsafeBytes { b -> Int? in
                var rd = ValueReader(UnsafeRawBufferPointer(rebasing: b[Int(offsets[i]) + 9 ..< end]))
                guard let id = try? rd.shortString() else { return nil }
                return id.utf8.elementsEqual(key) ? i : nil
            }
        }

        /// Every lot, decoded.
        func lots() throws -> [Lot] {
            try bytes.withUnsafeBytes { b in
                var rd = ValueReader(b)
                var out: [Lot] = []
                out.reserveCapacity(offsets.count)
                for _ in offsets { out.append(try Self.decode(&rd)) }
                return out
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
            w.shortString(lot.lotId)
            w.varint(lot.points)
            let earned = lot.earnedAt.microseconds
            w.int64(earned)
            // Wrapping differences: exact for any two times (they add back modulo 2^64).
            w.varint(lot.availableAt.microseconds &- earned)
            if let e = lot.expiresAt { w.varint(e.microseconds &- earned) }
            if !implied { w.shortString(id) }
        }

        static func decode(_ rd: inout ValueReader) throws(ProjectionError) -> Lot {
            let remaining = try rd.int64()
            let flags = try rd.uint8()
            guard flags & ~knownFlags == 0 else { throw .damagedValue("lot flags \(flags)") }
            let lotId = try rd.shortString()
            let points = try rd.varint(), earned = try rd.int64()
            let availableAt = earned &+ (try rd.varint())
            let expiresAt = flags & hasExpiry != 0 ? earned &+ (try rd.varint()) : nil
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

    /// Whether `apply` changes anything for `event` (a purchase does not: its points come in
    /// their own event).
    static func changesBalances(_ event: borrowing DomainEvent) -> Bool {
        switch event {
        case .programPublished, .rewardDefined, .profileUpdated, .memberClosed, .purchaseRecorded, .tierChanged, .cardIssued, .cardBlocked, .tierSet, .targetSet: false
        default: true
        }
    }

    public func apply(_ events: ProjectionBatch, to state: FoldState<Record>) throws {
        // Events that change no balance (a third of a typical log: purchases) are passed over
        // before `apply` looks at them.
        try events.forEach { pe in
            if Self.changesBalances(pe.event) { try pe.naming { try apply(pe, to: state) } }
        }
    }

    public func apply(_ pe: ProjectionEvent, to state: FoldState<Record>) throws {
        let at = pe.occurredAt
        guard Self.changesBalances(pe.event) else { return }
        if case .memberEnrolled = pe.event {
            // Every enrolled member has a balance, zero until points move (reconciliation
            // compares member sets too).
            try state.update(ProjectionKey.component(pe.member)) { r in if case .none = r { r = Record() } }
            return
        }
        try state.update(ProjectionKey.component(pe.member)) { (r: inout Record?) in
            // Changed in place (`r!` as an lvalue): neither the record nor its lots are copied or
            // moved, and the lots' storage stays uniquely referenced. `case .none` rather than
            // `r == nil`, which for an Equatable record is Optional's `==` and copies the record.
            if case .none = r { r = Record() }
            try Self.apply(pe.event, at: at, position: pe.position, to: &r!)
            r!.lastPosition = pe.position
        }
    }

    /// Applies `event` to `r`: everything is checked first (sums, lots, allocations), so an
    /// event that throws (`FoldFault`) changes nothing.
    static func apply(_ event: DomainEvent, at: Timestamp, position: UInt64, to r: inout Record) throws {
        switch event {
        case .pointsEarned(let e):
            guard e.points >= 0, r.figures.allowsDebtPaid(e.debtPaid, by: e.points) else {
                throw FoldFault("earns \(e.points) points paying \(e.debtPaid) of a debt of \(r.figures.debt)")
            }
            let earned = try Checked.add(r.figures.earned, e.points, "earned")
            r.figures.debt -= e.debtPaid
            r.addLot(Lot(id: e.lotId, points: e.points, remaining: e.points - e.debtPaid, earnedAt: at,
                         availableAt: e.availableAt, expiresAt: e.expiresAt, source: e.source))
            r.figures.earned = earned
        case .purchaseReturned(let e):
            let taken = try r.taking(e.clawedBack)
            guard e.debt >= 0 else { throw FoldFault("debt of \(e.debt) points") }
            let debt = try Checked.add(r.figures.debt, e.debt, "debt")
            let clawed = try Checked.add(try Checked.sum(e.clawedBack.map(\.points), "clawed back"), e.debt, "clawed back")
            let clawedBack = try Checked.add(r.figures.clawedBack, clawed, "clawed back")
            r.setRemaining(taken)
            (r.figures.debt, r.figures.clawedBack) = (debt, clawedBack)
        case .pointsRedeemed(let e):
            let taken = try r.taking(e.allocations)
            let redeemed = try Checked.add(r.figures.redeemed, e.points, "redeemed")
            r.setRemaining(taken)
            r.figures.redeemed = redeemed
        case .redemptionReversed(let e):
            // What the redemption took comes back: to its lots, or as expired where they lapsed;
            // the restored points pay the member's debt first (the domain's rule, recorded in
            // the event as `debtPaid`).
            let back = try Checked.sum(e.restored.map(\.points), "restored")
            guard r.figures.allowsDebtPaid(e.debtPaid, by: back) else {
                throw FoldFault("a reversal of \(back) points paying \(e.debtPaid) of a debt of \(r.figures.debt)")
            }
            let restored = try r.restoring(LifetimeFigures.lotCredits(e.restored, debtPaid: e.debtPaid))
            let expired = try Checked.sum(e.expired.map(\.points), "expired")
            guard expired >= 0 else { throw FoldFault("\(expired) points come back expired") }
            let redeemed = try Checked.sub(r.figures.redeemed, try Checked.add(back, expired, "reversed"), "redeemed")
            let expiredTotal = try Checked.add(r.figures.expired, expired, "expired")
            r.setRemaining(restored)
            (r.figures.redeemed, r.figures.expired) = (redeemed, expiredTotal)
            r.figures.debt -= e.debtPaid
        case .pointsAdjusted(let e):
            let adjusted = try Checked.add(r.figures.adjusted, e.points, "adjusted")
            if e.points > 0, let lotId = e.lotId {
                let paid = r.figures.payDebt(from: e.points)
                r.addLot(Lot(id: lotId, points: e.points, remaining: e.points - paid, earnedAt: at, availableAt: at,
                             expiresAt: e.expiresAt, source: .adjustment(e.key)))
            } else {
                r.setRemaining(try r.taking(e.allocations))
            }
            r.figures.adjusted = adjusted
        case let .pointsExpired(_, lotId, points):
            let taken = try r.taking([LotAllocation(lotId: lotId, points: points)])
            let expired = try Checked.add(r.figures.expired, points, "expired")
            r.setRemaining(taken, expiryWritten: true)
            r.figures.expired = expired
        case let .pointsHeld(_, holdId, points, expiresAt):
            guard points >= 0 else { throw FoldFault("holds \(points) points") }
            r.holds[holdId] = MemberState.Hold(holding: points, until: expiresAt)
        case let .holdReleased(_, holdId):
            r.holds[holdId] = nil
        case .pointsTransferredOut(let e):
            let taken = try r.taking(e.allocations)
            let out = try Checked.add(r.figures.transferredOut, e.points, "transferred out")
            r.setRemaining(taken)
            r.figures.transferredOut = out
        case .pointsTransferredIn(let e):
            guard e.allocations.allSatisfy({ $0.points >= 0 }) else { throw FoldFault("a transferred lot of negative points") }
            let into = try Checked.add(r.figures.transferredIn, e.points, "transferred in")
            // Points coming in pay the member's debt first (the domain's rule).
            let paid = r.figures.debtPaid(by: e.points)
            let kept = LifetimeFigures.lotCredits(e.allocations, debtPaid: paid)
            for (i, (a, expiry)) in zip(e.allocations, e.expiries).enumerated() {
                r.addLot(Lot(id: "T:\(e.transferId):\(i)", points: a.points, remaining: kept[i].points, earnedAt: at,
                             availableAt: at, expiresAt: expiry, source: .transfer(e.transferId)))
            }
            r.figures.debt -= paid
            r.figures.transferredIn = into
        default:
            break
        }
    }
}

extension Balances.Record: LifetimeCounted {}

// MARK: Value form

extension Balances {
    public static func encode(_ r: Record, into w: inout ValueWriter) {
        w.count(r.form.count)
        w.append(r.form.bytes)
        w.count(r.holds.count)
        if !r.holds.isEmpty {
            for (id, h) in r.holds.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
                w.string(id)
                w.int64(h.points)
                w.int64(h.expiresAt.microseconds)
            }
        }
        let f = r.figures
        w.int64(f.debt); w.int64(f.earned); w.int64(f.redeemed); w.int64(f.expired)
        w.int64(f.adjusted); w.int64(f.clawedBack); w.int64(f.transferredIn); w.int64(f.transferredOut)
        w.uint64(r.lastPosition)
    }

    public static func decode(_ rd: inout ValueReader) throws(ProjectionError) -> Record {
        var r = Record()
        try r.decodeLots(&rd)
        for _ in 0 ..< (try rd.count()) {
            let id = try rd.string()
            r.holds[id] = MemberState.Hold(holding: try rd.int64(), until: Timestamp(microseconds: try rd.int64()))
        }
        (r.figures.debt, r.figures.earned, r.figures.redeemed, r.figures.expired) = (try rd.int64(), try rd.int64(), try rd.int64(), try rd.int64())
        (r.figures.adjusted, r.figures.clawedBack, r.figures.transferredIn, r.figures.transferredOut) =
            (try rd.int64(), try rd.int64(), try rd.int64(), try rd.int64())
        r.lastPosition = try rd.uint64()
        return r
    }
}

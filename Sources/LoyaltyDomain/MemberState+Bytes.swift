import ByteCodec

/// The binary form of the decision state (`MemberState`, the model's program-wide state and its
/// owner tables), as the ledger keeps it checkpointed beside the log. It is derived data: a
/// change of form bumps `LedgerModel.stateFormatVersion` and the state is folded anew from the
/// log. Deterministic: dictionaries are written in key order, so two folds that agree encode to
/// the same bytes (the decision-state check compares digests of these bytes).
///
/// Signed integers are zigzag LEB128 varints, strings a varint byte length and UTF-8, optionals a
/// 0/1 tag (`ByteCodec`). Every read is bounds-checked and throws `StateBytesError` (never traps): a damaged
/// value makes the ledger fold the state anew.
public struct StateBytesError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The state's values over the package's byte codec (`ByteCodec`): zigzag varints, varint
/// counts and lengths, 0/1 tags.
struct StateWriter {
    var w: ByteWriter

    init(capacity: Int = 128) { w = ByteWriter(capacity: capacity) }

    var bytes: [UInt8] { w.bytes }

    mutating func tag(_ v: UInt8) { w.uint8(v) }
    mutating func int(_ v: Int64) { w.zigzag(v) }
    mutating func count(_ n: Int) { w.varint(UInt64(n)) }
    mutating func bool(_ v: Bool) { w.uint8(v ? 1 : 0) }
    mutating func string(_ s: String) {
        count(s.utf8.count)
        w.append(s.utf8)
    }

    mutating func bytes(_ b: [UInt8]) {
        count(b.count)
        w.append(b)
    }

    mutating func time(_ t: Timestamp) { int(t.microseconds) }

    mutating func optional<T>(_ v: T?, _ write: (inout StateWriter, T) -> Void) {
        guard let v else { tag(0); return }
        tag(1)
        write(&self, v)
    }
}

/// Reads what `StateWriter` wrote; `ByteCodecError`s become `StateBytesError`s.
struct StateReader {
    var r: ByteReader

    /// Runs `body` over `bytes`, refusing bytes left after it.
    static func read<T>(_ bytes: [UInt8], _ what: String, _ body: (inout StateReader) throws(StateBytesError) -> T) throws(StateBytesError) -> T {
        do {
            return try ByteReader.read(bytes) { (r: inout ByteReader) throws(StateBytesError) -> T in
                var reader = StateReader(r: r)
                let value = try body(&reader)
                guard reader.r.isAtEnd else { throw StateBytesError("\(what): \(reader.r.remainingCount) bytes after the value") }
                return value
            }
        }
    }

    private static func wrap<T>(_ body: () throws(ByteCodecError) -> T) throws(StateBytesError) -> T {
        do { return try body() } catch { throw StateBytesError("\(error)") }
    }

    var offset: Int { r.offset }

    mutating func byte() throws(StateBytesError) -> UInt8 { try Self.wrap { () throws(ByteCodecError) in try r.uint8() } }
    mutating func int() throws(StateBytesError) -> Int64 { try Self.wrap { () throws(ByteCodecError) in try r.zigzag() } }

    /// A count of items or bytes, never more than the bytes left (each item takes at least one
    /// byte), so a damaged count cannot make a reader reserve memory.
    mutating func count() throws(StateBytesError) -> Int {
        let n = try Self.wrap { () throws(ByteCodecError) in try r.varint() }
        guard n <= UInt64(r.remainingCount) else { throw StateBytesError("a count of \(n) at byte \(r.offset) past the value's end") }
        return Int(n)
    }

    mutating func bool() throws(StateBytesError) -> Bool {
        switch try byte() {
        case 0: return false
        case 1: return true
        case let b: throw StateBytesError("a boolean byte \(b) at byte \(r.offset - 1)")
        }
    }

    mutating func rawBytes() throws(StateBytesError) -> [UInt8] {
        let n = try count()
        return try Self.wrap { () throws(ByteCodecError) in try r.bytes(n) }
    }

    mutating func string() throws(StateBytesError) -> String {
        let n = try count()
        return try Self.wrap { () throws(ByteCodecError) in try r.utf8(n) }
    }

    mutating func time() throws(StateBytesError) -> Timestamp { Timestamp(microseconds: try int()) }

    mutating func optional<T>(_ read: (inout StateReader) throws(StateBytesError) -> T) throws(StateBytesError) -> T? {
        try bool() ? try read(&self) : nil
    }

    mutating func list<T>(_ read: (inout StateReader) throws(StateBytesError) -> T) throws(StateBytesError) -> [T] {
        let n = try count()
        var out: [T] = []
        out.reserveCapacity(n)
        for _ in 0 ..< n { out.append(try read(&self)) }
        return out
    }
}

extension LotSource {
    fileprivate func write(_ w: inout StateWriter) {
        switch self {
        case .purchase(let id): w.tag(0); w.string(id)
        case .adjustment(let id): w.tag(1); w.string(id)
        case .transfer(let id): w.tag(2); w.string(id)
        case .bonus(let id): w.tag(3); w.string(id)
        }
    }

    fileprivate static func read(_ r: inout StateReader) throws(StateBytesError) -> LotSource {
        switch try r.byte() {
        case 0: return .purchase(try r.string())
        case 1: return .adjustment(try r.string())
        case 2: return .transfer(try r.string())
        case 3: return .bonus(try r.string())
        case let b: throw StateBytesError("lot source tag \(b) at byte \(r.offset - 1)")
        }
    }
}

extension LotAllocation {
    fileprivate func write(_ w: inout StateWriter) {
        w.string(lotId)
        w.int(points)
    }

    fileprivate static func read(_ r: inout StateReader) throws(StateBytesError) -> LotAllocation {
        LotAllocation(lotId: try r.string(), points: try r.int())
    }
}

extension MemberState {
    /// The member's whole state in its binary form (`init(stateBytes:)` reads it back equal).
    public var stateBytes: [UInt8] {
        var w = StateWriter(capacity: 256 + 96 * lots.count + 96 * purchases.count)
        w.tag(Self.formatTag)
        w.string(member)
        w.optional(enrolledAt) { $0.time($1) }
        w.bool(closed)
        w.string(brand); w.string(store); w.string(channel)
        w.optional(birthDate) { $0.string($1) }
        w.optional(gender) { $0.string($1) }
        w.count(profile.count)
        for k in profile.keys.sorted() { w.string(k); w.string(profile[k] ?? "") }
        w.count(lots.count)
        for lot in lots {
            w.string(lot.lotId); w.int(lot.points); w.int(lot.remaining)
            w.time(lot.earnedAt); w.time(lot.availableAt); w.optional(lot.expiresAt) { $0.time($1) }
            lot.source.write(&w)
            w.bool(lot.expiryWritten)
        }
        w.count(holds.count)
        for k in holds.keys.sorted() {
            let h = holds[k] ?? Hold(holding: 0, until: Timestamp(microseconds: 0))
            w.string(k); w.int(h.points); w.time(h.expiresAt)
        }
        for n in [debt, earned, redeemed, expired, adjusted, clawedBack, transferredIn, transferredOut] { w.int(n) }
        w.count(purchases.count)
        for k in purchases.keys.sorted() {
            guard let p = purchases[k] else { continue }
            w.string(p.purchaseId); w.time(p.at); w.string(p.store); w.int(p.amount); w.string(p.currency)
            w.int(p.paidWithPoints); w.int(p.returned); w.int(p.points); w.int(p.clawedBack)
            w.count(p.lotIds.count)
            for id in p.lotIds { w.string(id) }
            w.int(p.qualifying)
        }
        w.count(purchaseCount)
        w.int(totalSpend)
        w.optional(firstPurchaseAt) { $0.time($1) }
        w.optional(lastPurchaseAt) { $0.time($1) }
        w.optional(lastActivityAt) { $0.time($1) }
        w.count(redemptions.count)
        for k in redemptions.keys.sorted() {
            guard let r = redemptions[k] else { continue }
            w.string(k); w.int(r.points); w.optional(r.reward) { $0.string($1) }
            w.count(r.allocations.count)
            for a in r.allocations { a.write(&w) }
            w.bool(r.reversed)
        }
        w.count(qualifying.count)
        for q in qualifying { w.time(q.at); w.int(q.value) }
        w.count(accruals.count)
        for a in accruals { w.time(a.at); w.int(a.points) }
        w.optional(lastBirthdayBonusYear) { $0.int($1) }
        w.optional(tier) { $0.string($1) }
        w.optional(tierSince) { $0.time($1) }
        w.optional(tierFloor) { w, f in w.string(f.tier); w.time(f.until) }
        w.count(adjustmentKeys.count)
        for k in adjustmentKeys.keys.sorted() { w.string(k); w.int(adjustmentKeys[k] ?? 0) }
        w.count(transferKeys.count)
        for k in transferKeys.keys.sorted() { w.string(k); w.int(transferKeys[k] ?? 0) }
        return w.bytes
    }

    /// The first byte of `stateBytes`: the form's version.
    static let formatTag: UInt8 = 1

    /// Reads what `stateBytes` wrote. Throws for anything else: a short value, a bad tag, invalid
    /// UTF-8, a lot remainder outside 0...points, a lot id twice.
    public init(stateBytes bytes: [UInt8]) throws(StateBytesError) {
        self = try StateReader.read(bytes, "member state") { (r: inout StateReader) throws(StateBytesError) -> MemberState in
            let tag = try r.byte()
            guard tag == Self.formatTag else { throw StateBytesError("member state of an unknown form (tag \(tag))") }
            var s = MemberState(member: try r.string())
            s.enrolledAt = try r.optional { r throws(StateBytesError) in try r.time() }
            s.closed = try r.bool()
            (s.brand, s.store, s.channel) = (try r.string(), try r.string(), try r.string())
            s.birthDate = try r.optional { r throws(StateBytesError) in try r.string() }
            s.gender = try r.optional { r throws(StateBytesError) in try r.string() }
            for _ in 0 ..< (try r.count()) { s.profile[try r.string()] = try r.string() }
            for _ in 0 ..< (try r.count()) {
                let id = try r.string(), points = try r.int(), remaining = try r.int()
                let earnedAt = try r.time(), availableAt = try r.time()
                let expiresAt = try r.optional { r throws(StateBytesError) in try r.time() }
                let source = try LotSource.read(&r)
                let lot = Lot(lotId: id, points: points, remaining: remaining, earnedAt: earnedAt, availableAt: availableAt,
                              expiresAt: expiresAt, source: source, expiryWritten: try r.bool())
                do throws(FoldError) { try s.addLot(lot) } catch { throw StateBytesError("member '\(s.member)': \(error.message)") }
            }
            for _ in 0 ..< (try r.count()) { s.holds[try r.string()] = Hold(holding: try r.int(), until: try r.time()) }
            (s.debt, s.earned, s.redeemed, s.expired) = (try r.int(), try r.int(), try r.int(), try r.int())
            (s.adjusted, s.clawedBack, s.transferredIn, s.transferredOut) = (try r.int(), try r.int(), try r.int(), try r.int())
            for _ in 0 ..< (try r.count()) {
                var p = Purchase(purchaseId: try r.string(), at: try r.time(), store: try r.string(), amount: try r.int(),
                                 currency: try r.string(), paidWithPoints: try r.int())
                (p.returned, p.points, p.clawedBack) = (try r.int(), try r.int(), try r.int())
                p.lotIds = try r.list { r throws(StateBytesError) in try r.string() }
                p.qualifying = try r.int()
                s.purchases[p.purchaseId] = p
            }
            s.purchaseCount = try r.count()
            s.totalSpend = try r.int()
            s.firstPurchaseAt = try r.optional { r throws(StateBytesError) in try r.time() }
            s.lastPurchaseAt = try r.optional { r throws(StateBytesError) in try r.time() }
            s.lastActivityAt = try r.optional { r throws(StateBytesError) in try r.time() }
            for _ in 0 ..< (try r.count()) {
                let id = try r.string(), points = try r.int()
                let reward = try r.optional { r throws(StateBytesError) in try r.string() }
                let allocations = try r.list(LotAllocation.read)
                s.redemptions[id] = Redemption(points: points, reward: reward, allocations: allocations, reversed: try r.bool())
            }
            s.qualifying = try r.list { r throws(StateBytesError) in (at: try r.time(), value: try r.int()) }
            s.accruals = try r.list { r throws(StateBytesError) in (at: try r.time(), points: try r.int()) }
            s.lastBirthdayBonusYear = try r.optional { r throws(StateBytesError) in try r.int() }
            s.tier = try r.optional { r throws(StateBytesError) in try r.string() }
            s.tierSince = try r.optional { r throws(StateBytesError) in try r.time() }
            s.tierFloor = try r.optional { r throws(StateBytesError) in (tier: try r.string(), until: try r.time()) }
            for _ in 0 ..< (try r.count()) { s.adjustmentKeys[try r.string()] = try r.int() }
            for _ in 0 ..< (try r.count()) { s.transferKeys[try r.string()] = try r.int() }
            return s
        }
    }
}

extension LedgerModel {
    /// The version of the decision state's binary form (members, program, owners). A stored state
    /// of another version is folded anew from the log.
    public static let stateFormatVersion: UInt32 = 2

    /// The program-wide part of the state: rules, rewards and the fold's running totals. Small
    /// (rule sets and rewards), so it is kept whole.
    public var programStateBytes: [UInt8] {
        var w = StateWriter(capacity: 1024)
        w.count(publishedRules.count)
        for (at, rules) in publishedRules { w.time(at); w.bytes(DomainEvent.programPublished(rules).canonicalJSON) }
        w.count(rewards.count)
        for k in rewards.keys.sorted() {
            guard let r = rewards[k] else { continue }
            w.bytes(DomainEvent.rewardDefined(r.definition).canonicalJSON)
            w.int(r.issued); w.int(r.pointsSpent)
        }
        w.int(Int64(eventCount)); w.int(pointsMoved); w.int(moneyRecorded)
        return w.bytes
    }

    /// A model holding only the program-wide state `bytes` (what `programStateBytes` wrote); its
    /// members and owner tables are loaded as decisions need them.
    public init(programStateBytes bytes: [UInt8]) throws(StateBytesError) {
        self = try StateReader.read(bytes, "program state") { (r: inout StateReader) throws(StateBytesError) -> LedgerModel in
            var m = LedgerModel()
            for _ in 0 ..< (try r.count()) {
                let at = try r.time()
                let data = try r.rawBytes()
                guard case .programPublished(let rules)? = try? DomainEvent.decode(type: "program.published", schemaVersion: DomainEvent.schemaVersion, bytes: data) else {
                    throw StateBytesError("a published rule set does not decode")
                }
                m.publishedRules.append((at, rules))
            }
            for _ in 0 ..< (try r.count()) {
                let data = try r.rawBytes()
                guard case .rewardDefined(let d)? = try? DomainEvent.decode(type: "reward.defined", schemaVersion: DomainEvent.schemaVersion, bytes: data) else {
                    throw StateBytesError("a reward definition does not decode")
                }
                m.rewards[d.rewardId] = Reward(definition: d, issued: try r.int(), pointsSpent: try r.int())
            }
            let count = try r.int()
            guard count >= 0 else { throw StateBytesError("event count \(count)") }
            m.eventCount = Int(count)
            m.pointsMoved = try r.int()
            m.moneyRecorded = try r.int()
            return m
        }
    }

    /// A return's entry in `returns`, in binary form.
    public static func returnBytes(_ r: (purchaseId: String, amount: MinorUnits)) -> [UInt8] {
        var w = StateWriter(capacity: 32)
        w.string(r.purchaseId); w.int(r.amount)
        return w.bytes
    }

    public static func returnEntry(_ bytes: [UInt8]) throws(StateBytesError) -> (purchaseId: String, amount: MinorUnits) {
        try StateReader.read(bytes, "return entry") { (r: inout StateReader) throws(StateBytesError) in (purchaseId: try r.string(), amount: try r.int()) }
    }
}

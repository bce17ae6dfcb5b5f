import PropertyBased
public import Testing
@testable public import LoyaltyDomain

/// A deliberately simple ledger for the default program, written independently of the real fold:
/// plain arrays, linear scans, no shared code but `Timestamp` and `ProgramTimeZone.endOfMonth`.
public struct ReferenceLedger {
    public struct RefLot { var id: String; var left: Int64; var earned: Int64; var expires: Int64 }
    public struct RefMember { var lots: [RefLot] = []; var debt: Int64 = 0; var holds: [String: (Int64, Int64)] = [:] }
    public var members: [String: RefMember] = [:]
    public var purchases: [String: (member: String, amount: Int64, returned: Int64, points: Int64, clawed: Int64)] = [:]
    public var redemptions: [String: (member: String, taken: [(String, Int64)], reversed: Bool)] = [:]
    /// Card number (canonical spelling) -> its member, whether blocked, the card replacing it.
    public var cards: [String: (member: String, blocked: Bool, replacedBy: String?)] = [:]

    /// Card numbers the histories draw from, each as typed and in its canonical (NFC) spelling:
    /// ASCII, multibyte, and two typed decomposed or as a compatibility character.
    public static let cardPool: [(typed: String, canonical: String)] = [
        ("100", "100"), ("101", "101"), ("カード-7", "カード-7"),
        ("\u{212B}-2", "\u{C5}-2"), ("\u{C5}-2", "\u{C5}-2"), ("e\u{301}-3", "\u{E9}-3"),
    ]

    /// The member a card names for a new command, as the reference sees it (nil: refused).
    public func cardMember(_ canonical: String) -> String? {
        guard let c = cards[canonical], !c.blocked else { return nil }
        return c.member
    }

    public static func expiry(_ at: Int64) -> Int64 {
        ProgramTimeZone("UTC")!.endOfMonth(ProgramTimeZone("UTC")!.adding(months: 12, to: Timestamp(microseconds: at))).microseconds
    }

    public func spendable(_ m: String, _ now: Int64) -> Int64 {
        let r = members[m]!
        let lots = r.lots.filter { $0.expires > now }.reduce(0) { $0 + $1.left }
        let held = r.holds.values.filter { $0.1 > now }.reduce(0) { $0 + $1.0 }
        return lots - min(held, lots)
    }

    public mutating func take(_ m: String, _ points: Int64, _ now: Int64, only: Set<String>? = nil) -> [(String, Int64)] {
        var need = points, out: [(String, Int64)] = []
        let order = members[m]!.lots.indices.filter { i in
            let l = members[m]!.lots[i]
            return l.expires > now && l.left > 0 && (only == nil || only!.contains(l.id))
        }.sorted { a, b in
            let x = members[m]!.lots[a], y = members[m]!.lots[b]
            if x.expires != y.expires { return x.expires < y.expires }
            if x.earned != y.earned { return x.earned < y.earned }
            return Array(x.id.utf8).lexicographicallyPrecedes(Array(y.id.utf8))
        }
        for i in order where need > 0 {
            let n = min(need, members[m]!.lots[i].left)
            members[m]!.lots[i].left -= n
            out.append((members[m]!.lots[i].id, n))
            need -= n
        }
        return out
    }

    /// A credit spread over several lots pays the debt first, from the first lots listed: what
    /// each lot keeps.
    public mutating func payingDebtFirst(_ m: String, _ credits: [Int64]) -> [Int64] {
        credits.map { n in
            let paid = min(n, members[m]!.debt)
            members[m]!.debt -= paid
            return n - paid
        }
    }

    public mutating func credit(_ m: String, id: String, points: Int64, at: Int64, expires: Int64) {
        let paid = min(points, members[m]!.debt)
        members[m]!.debt -= paid
        members[m]!.lots.append(RefLot(id: id, left: points - paid, earned: at, expires: expires))
    }
}

/// Random commands for three members, with what the reference ledger says of each: shared by
/// the model's test (LoyaltyDomainTests) and the projections' test (LoyaltyLedgerTests/ProjectionReferenceTests.swift).
public struct ReferenceHistory {
    public var ref = ReferenceLedger()
    public var now = t("2026-01-01T08:00:00Z").microseconds
    public let people = ["A", "B", "C"]
    public var random: SplitMix64

    public init(seed: UInt64) {
        random = SplitMix64(seed: seed)
        for p in people { ref.members[p] = .init() }
    }

    /// The enrollments that start the history.
    public var enrollments: [Command] {
        people.map { .enroll(member: $0, store: "S1", brand: "main", channel: "store", birthDate: nil, gender: nil, profile: [:],
                             at: Timestamp(microseconds: now)) }
    }

    /// The next command (nil: nothing to do at this step), whether the reference accepts it, its time.
    public mutating func next(step: Int) -> (command: Command, accepted: Bool, at: Timestamp)? {
        now += Int64(random.next(in: 1...96)) * 3_600_000_000  // 1 h to 4 days later
        let at = Timestamp(microseconds: now)
        let m = people[random.next(in: 0...2)]
        let roll = random.next(in: 0...111)
        var command: Command
        var refOK: Bool
        switch roll {
        case 0..<40:
            let cents = Int64(random.next(in: 100...30_000))
            command = .purchase(.init(member: m, purchaseId: "P\(step)", amount: Decimal10.format(cents, exponent: 2), store: "S1", at: at))
            let points = cents / 100
            ref.purchases["P\(step)"] = (m, cents, 0, points, 0)
            if points > 0 { ref.credit(m, id: "P:P\(step)", points: points, at: now, expires: ReferenceLedger.expiry(now)) }
            refOK = true
        case 40..<55:
            guard let (id, p) = ref.purchases.filter({ $0.value.returned < $0.value.amount }).sorted(by: { $0.key < $1.key }).first else { return nil }
            let amount = Int64(random.next(in: 1...Int(p.amount - p.returned)))
            command = .returnPurchase(purchaseId: id, returnId: "RT\(step)", amount: Decimal10.format(amount, exponent: 2), at: at)
            let total = p.points * (p.returned + amount) / p.amount
            var need = total - p.clawed
            let own = ref.take(p.member, need, now, only: ["P:\(id)"])
            need -= own.reduce(0) { $0 + $1.1 }
            let others = ref.take(p.member, need, now)
            need -= others.reduce(0) { $0 + $1.1 }
            ref.members[p.member]!.debt += need
            ref.purchases[id] = (p.member, p.amount, p.returned + amount, p.points, total)
            refOK = true
        case 55..<72:
            let points = Int64(random.next(in: 1...150))
            command = .redeem(member: m, points: points, redemptionId: "R\(step)", reward: nil, at: at)
            refOK = ref.spendable(m, now) >= points
            if refOK { ref.redemptions["R\(step)"] = (m, ref.take(m, points, now), false) }
        case 72..<78:
            guard let (id, r) = ref.redemptions.filter({ !$0.value.reversed }).sorted(by: { $0.key < $1.key }).last else { return nil }
            command = .reverseRedemption(redemptionId: id, at: at)
            // Points of lots not yet expired come back, paying the debt first.
            let back = r.taken.compactMap { lot, n -> (Int, Int64)? in
                let i = ref.members[r.member]!.lots.firstIndex { $0.id == lot }!
                return ref.members[r.member]!.lots[i].expires > now ? (i, n) : nil
            }
            for ((i, _), kept) in zip(back, ref.payingDebtFirst(r.member, back.map(\.1))) { ref.members[r.member]!.lots[i].left += kept }
            ref.redemptions[id]!.reversed = true
            refOK = true
        case 78..<86:
            let to = people.filter { $0 != m }[random.next(in: 0...1)]
            let points = Int64(random.next(in: 1...80))
            command = .transfer(from: m, to: to, points: points, key: "T\(step)", at: at)
            refOK = ref.spendable(m, now) >= points
            if refOK {
                let expiries = ref.members[m]!.lots.reduce(into: [String: Int64]()) { $0[$1.id] = $1.expires }
                let taken = ref.take(m, points, now)
                let kept = ref.payingDebtFirst(to, taken.map(\.1))
                for (i, ((lot, _), n)) in zip(taken, kept).enumerated() {
                    ref.members[to]!.lots.append(.init(id: "T:T\(step):\(i)", left: n, earned: now, expires: expiries[lot]!))
                }
            }
        case 86..<92:
            let points = Int64(random.next(in: -60...60))
            guard points != 0 else { return nil }
            command = .adjust(member: m, points: points, reason: "service", operatorId: "op1", key: "ADJ\(step)", at: at)
            refOK = points > 0 || ref.spendable(m, now) >= -points
            if refOK {
                if points > 0 { ref.credit(m, id: "A:ADJ\(step)", points: points, at: now, expires: ReferenceLedger.expiry(now)) }
                else { _ = ref.take(m, -points, now) }
            }
        case 92..<96:
            let points = Int64(random.next(in: 1...50))
            command = .hold(member: m, points: points, holdId: "H\(step)", expiresAt: Timestamp(microseconds: now + 86_400_000_000), at: at)
            refOK = ref.spendable(m, now) >= points
            if refOK { ref.members[m]!.holds["H\(step)"] = (points, now + 86_400_000_000) }
        case 100..<106:
            let card = ReferenceLedger.cardPool[random.next(in: 0...ReferenceLedger.cardPool.count - 1)]
            command = .issueCard(member: m, number: card.typed, key: "K\(step)", at: at)
            refOK = ref.cards[card.canonical] == nil
            if refOK { ref.cards[card.canonical] = (m, false, nil) }
        case 106..<109:
            let card = ReferenceLedger.cardPool[random.next(in: 0...ReferenceLedger.cardPool.count - 1)]
            command = .blockCard(number: card.typed, reason: "lost", at: at)
            let c = ref.cards[card.canonical]
            refOK = c != nil && c?.replacedBy == nil
            if refOK { ref.cards[card.canonical]!.blocked = true }
        case 109..<112:
            let old = ReferenceLedger.cardPool[random.next(in: 0...ReferenceLedger.cardPool.count - 1)]
            let new = ReferenceLedger.cardPool[random.next(in: 0...ReferenceLedger.cardPool.count - 1)]
            command = .replaceCard(old: old.typed, new: new.typed, at: at)
            if let c = ref.cards[old.canonical] {
                if let r = c.replacedBy {
                    refOK = r == new.canonical  // a retry of the same replacement
                } else {
                    refOK = old.canonical != new.canonical && ref.cards[new.canonical] == nil
                    if refOK {
                        ref.cards[old.canonical] = (c.member, true, new.canonical)
                        ref.cards[new.canonical] = (c.member, false, nil)
                    }
                }
            } else {
                refOK = false
            }
        case 96..<100:
            command = .expire(asOf: at)
            for p in people { for i in ref.members[p]!.lots.indices where ref.members[p]!.lots[i].expires <= now { ref.members[p]!.lots[i].left = 0 } }
            refOK = true
        default:
            return nil
        }
        return (command, refOK, at)
    }

    /// Expects `b` (member `p`'s balance now) to agree with the reference, lot by lot.
    public func expectAgreement(_ b: Balance, _ p: String, step: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        let r = ref.members[p]!
        #expect(b.available == ref.spendable(p, now), "step \(step) \(p) available", sourceLocation: sourceLocation)
        #expect(b.debt == r.debt, "step \(step) \(p) debt", sourceLocation: sourceLocation)
        #expect(b.available + b.held + b.pending == r.lots.filter { $0.expires > now }.reduce(0) { $0 + $1.left }, "step \(step) \(p) lots", sourceLocation: sourceLocation)
        #expect(b.identity.credits == b.identity.holdings, "step \(step) \(p) identity", sourceLocation: sourceLocation)
        // Lot by lot: which points were taken from where (allocation order, clawbacks).
        let realLots = Dictionary(uniqueKeysWithValues: b.lots.map { ($0.lotId, $0.remaining) })
        let refLots = Dictionary(uniqueKeysWithValues: r.lots.filter { $0.expires > now && $0.left > 0 }.map { ($0.id, $0.left) })
        #expect(realLots == refLots, "step \(step) \(p) lots", sourceLocation: sourceLocation)
    }
}

import LoyaltyDomain

/// Running available/pending/held/debt for `history`, kept incrementally (a pass over all lots per
/// row would make a long history quadratic). Valid because the evaluation clock never goes
/// back: a lot moves from pending to spendable to expired only forward, so each lot enters and
/// leaves each queue once. Debug builds check every row against `MemberState.figures(at:)`.
struct RunningFigures {
    enum Phase { case pending, spendable, expired }
    private var remaining: [Points] = []
    private var phase: [Phase] = []
    /// In Int128: no sum of 64-bit lots overflows it (a figure past 64 bits is reported by
    /// `figures(state:)`, never a trap).
    private var pendingSum: Int128 = 0, spendableSum: Int128 = 0
    /// Lot indices by the time they change phase, sorted; entries before the cursor are done.
    private var becomesSpendable: [(at: Timestamp, lot: Int)] = [], spendableCursor = 0
    private var expires: [(at: Timestamp, lot: Int)] = [], expiresCursor = 0
    private(set) var clock = Timestamp(microseconds: Int64.min)

    /// Takes in the lots `event` created or changed in `state` (after it was applied) and moves
    /// the clock to `at` if that is later.
    mutating func update(after event: DomainEvent?, state: MemberState?, at: Timestamp) {
        clock = max(clock, at)
        guard let s = state else { return }
        var touched = event?.consumedAllocations.map(\.lotId) ?? []
        if case .redemptionReversed(let r)? = event { touched += r.restored.map(\.lotId) }
        for id in touched {
            guard let i = s.lotPosition(id: id), i < remaining.count else { continue }
            add(Int128(s.lots[i].remaining) - Int128(remaining[i]), to: i)
            remaining[i] = s.lots[i].remaining
        }
        while remaining.count < s.lots.count { register(s.lots[remaining.count]) }
        advance()
        assert(figures(state: s).map { $0 == Self.tuple(s.figures(at: clock)) } ?? true, "incremental figures equal a full pass")
    }

    /// available, pending, held, debt at the clock (nil: one of them does not fit in 64 bits).
    func figures(state: MemberState?) -> [Points]? {
        guard let s = state else { return [0, 0, 0, 0] }
        let active = s.holds.values.reduce(Int128(0)) { $0 + ($1.expiresAt > clock ? Int128($1.points) : 0) }
        let held = min(active, spendableSum)
        let out = [spendableSum - held, pendingSum, held, Int128(s.debt)].compactMap { Points(exactly: $0) }
        return out.count == 4 ? out : nil
    }

    static func tuple(_ f: (available: Points, pending: Points, held: Points, debt: Points)) -> [Points] { [f.available, f.pending, f.held, f.debt] }

    private mutating func add(_ delta: Int128, to i: Int) {
        switch phase[i] {
        case .pending: pendingSum += delta
        case .spendable: spendableSum += delta
        case .expired: break
        }
    }

    private mutating func register(_ lot: Lot) {
        let i = remaining.count
        remaining.append(lot.remaining)
        phase.append(.expired)
        if lot.isExpired(at: clock) { return }
        if lot.availableAt > clock {
            phase[i] = .pending
            pendingSum += Int128(lot.remaining)
            Self.insert((lot.availableAt, i), into: &becomesSpendable, from: spendableCursor)
        } else {
            phase[i] = .spendable
            spendableSum += Int128(lot.remaining)
        }
        if let x = lot.expiresAt { Self.insert((x, i), into: &expires, from: expiresCursor) }
    }

    /// Moves lots whose time has come: pending -> spendable, then anything past its expiry.
    private mutating func advance() {
        while spendableCursor < becomesSpendable.count, becomesSpendable[spendableCursor].at <= clock {
            let i = becomesSpendable[spendableCursor].lot
            spendableCursor += 1
            guard phase[i] == .pending else { continue }
            pendingSum -= Int128(remaining[i])
            spendableSum += Int128(remaining[i])
            phase[i] = .spendable
        }
        while expiresCursor < expires.count, expires[expiresCursor].at <= clock {
            let i = expires[expiresCursor].lot
            expiresCursor += 1
            add(-Int128(remaining[i]), to: i)
            phase[i] = .expired
        }
    }

    /// Sorted insert at or after `from` (entries before it are already done and earlier).
    private static func insert(_ entry: (at: Timestamp, lot: Int), into queue: inout [(at: Timestamp, lot: Int)], from: Int) {
        var lo = from, hi = queue.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if queue[mid].at <= entry.at { lo = mid + 1 } else { hi = mid }
        }
        queue.insert(entry, at: lo)
    }
}

import ArgumentParser
import Foundation
import LedgerStore
import LoyaltyDomain

/// Deterministic realistic data for demos and benchmarks: a retail chain's members enrolling all
/// through the period, buying at their stores, earning, redeeming and returning. Raw, as JSON
/// Lines of `demo.*` events for `loyalty append` (not domain events: `append` refuses those, only
/// the domain writes them); with `--commands`, as domain commands for `loyalty import`.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Print realistic demo events as JSON Lines (deterministic for a seed).",
        discussion: """
        Without --commands: raw log events of non-domain types (demo.member_joined, demo.sale,
        demo.voucher_used, demo.sale_returned) for `loyalty append`. With --commands: domain commands
        for `loyalty import`, which decides them into domain events; every one of them is accepted
        under the example rules (schemas/examples/retail.rules.json) published before --start.

        The events are spread over --days days from --start, in store hours. Members join all
        through the period (a launch cohort in the first two weeks), and buy as their habit says:
        frequent, occasional, once or twice, or never; some stop buying and some of those come
        back. About 5 % of purchases are returned. The period must lie in the past: the ledger
        refuses business times in the future.
        """)

    @Option(help: "Members in the program.") var members: Int = 1_000
    @Option(help: "Events (or commands) to print.") var count: Int = 10_000
    @Option(help: "Stores in the chain.") var stores: Int = 40
    @Option(help: "Random seed.") var seed: UInt64 = 42
    @Option(help: "First business day (YYYY-MM-DD).") var start: String = "2025-01-06"
    @Option(help: "Days the events are spread over, from --start.") var days: Int = 365
    @Flag(help: "Print domain commands (for `loyalty import`) instead of raw log events.") var commands = false

    func validate() throws {
        guard members > 0, count >= 0, stores > 0 else { throw ValidationError("--members and --stores must be positive, --count not negative") }
        guard (1...3_660).contains(days) else { throw ValidationError("--days must be within 1...3660") }
        guard let first = Timestamp(rfc3339: start) else { throw ValidationError("--start: '\(start)' is not a date (YYYY-MM-DD)") }
        let end = first.microseconds.addingReportingOverflow(Int64(days) * Timestamp.microsecondsPerDay)
        guard !end.overflow, end.partialValue <= Timestamp.now().microseconds else {
            throw ValidationError("--start \(start) plus --days \(days) ends after today: the ledger refuses business times in the future; start at least \(days) days ago")
        }
    }

    func run() throws {
        guard let first = Timestamp(rfc3339: start) else { throw ValidationError("--start: '\(start)' is not a date") }
        var generator = DemoEventGenerator(members: members, stores: stores, seed: seed, start: first, days: days, count: count)
        var text = ""
        for _ in 0..<count {
            text += commands ? generator.nextCommand() : generator.nextLine()
            text += "\n"
            if text.utf8.count > 256 << 10 {
                FileHandle.standardOutput.write(Data(text.utf8))
                text = ""
            }
        }
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}

/// A simulated year (or other period) of a retail loyalty program, one step per printed line.
///
/// Step `i` of `count` falls on day `i * days / count`, spread over store hours (08:00 to 21:00
/// UTC), so the lines cover the whole period whatever their number. At each step the member who
/// joins next enrolls when their time has come; otherwise the step is a return (about 5 % of
/// purchases), a redemption, a goodwill adjustment or, mostly, a purchase by a member drawn with
/// the weight of their habit (a Fenwick tree over the members' weights): frequent buyers weigh
/// most, occasional ones less, one-off buyers only until their one or two purchases are made,
/// and members who never buy nothing. Some frequent and occasional buyers churn (weight 0 from a
/// time on) and some of those win back later.
///
/// Every command is one the ledger accepts: times never go back or past the period, members act
/// only after they enrolled, returns name a purchase not returned before, and a redemption never
/// asks for more than a lower bound of the member's spendable points (credits counted only once
/// available and until a year later, at their base rate, one purchase a day; every redemption and
/// the most a return could claw back counted against them).
struct DemoEventGenerator {
    enum Habit { case frequent, occasional, oneOff, never }

    struct Member {
        var joinAt: Int64
        var habit: Habit
        var weight = 0
        var purchasesLeft = 0
        var enrolled = false
        var store = 1
        /// Credits at their base points: (available from, points).
        var credits: [(availableAt: Int64, points: Int64)] = []
        /// Redeemed points and the most returns could have clawed back.
        var debits: Int64 = 0
        var lastCreditDay: Int64 = -1
    }

    /// A change of a member's purchase weight at a time (churn, win-back).
    private struct WeightChange { let at: Int64; let member: Int; let weight: Int }

    private struct Purchase { let member: Int; let id: Int; let amount: Int64; let at: Int64; let pointsMax: Int64; var returned = false }

    private var random: SplitMix64
    private let seed: UInt64
    private let storeCount: Int
    private let start: Int64
    private let days: Int64
    private let count: Int64
    private var step: Int64 = 0
    private var clock: Int64
    private var members: [Member]
    private var nextJoin = 0
    private var changes: [WeightChange]
    private var nextChange = 0
    private var weights: FenwickTree
    /// Recent purchases, the candidates of returns (the oldest dropped past `recentMax`).
    private var recent: [Purchase] = []
    private static let recentMax = 4_000
    private var sequence = 0

    private static let day = Timestamp.microsecondsPerDay
    private static let hour: Int64 = 3_600_000_000
    /// Days a purchase's points are pending (the example rules' `pendingDays`), plus one.
    private static let pendingDays: Int64 = 15
    /// Days a credit stays spendable at least (its expiry is 12 months after availability).
    private static let spendableDays: Int64 = 365
    private static let returnsPerMille = 47, redemptionsPerMille = 60, adjustmentsPerMille = 5

    init(members memberCount: Int, stores: Int, seed: UInt64, start: Timestamp, days: Int, count: Int) {
        random = SplitMix64(seed: seed)
        self.seed = seed
        storeCount = stores
        self.start = start.microseconds
        self.days = Int64(days)
        self.count = Int64(max(count, 1))
        clock = start.microseconds + 8 * Self.hour
        // Join times: a launch cohort (15 %) in the first two weeks, the rest all through the
        // period; members are numbered in the order they join.
        var joins: [Int64] = []
        joins.reserveCapacity(memberCount)
        for _ in 0..<memberCount {
            let launch = Int.random(in: 0..<100, using: &random) < 15
            let span = launch ? min(14, Int64(days)) : Int64(days)
            joins.append(Int64.random(in: 0..<(span * Self.day), using: &random))
        }
        joins.sort()
        var people: [Member] = []
        var changes: [WeightChange] = []
        for (i, offset) in joins.enumerated() {
            let roll = Int.random(in: 0..<100, using: &random)
            let habit: Habit = roll < 25 ? .frequent : roll < 65 ? .occasional : roll < 92 ? .oneOff : .never
            var m = Member(joinAt: start.microseconds + offset, habit: habit)
            m.store = Int.random(in: 1...stores, using: &random)
            m.purchasesLeft = habit == .oneOff ? Int.random(in: 1...2, using: &random) : 0
            if habit == .frequent || habit == .occasional, Int.random(in: 0..<100, using: &random) < 30 {
                let churn = m.joinAt + Int64.random(in: 45...300, using: &random) * Self.day
                changes.append(WeightChange(at: churn, member: i, weight: 0))
                if Int.random(in: 0..<100, using: &random) < 45 {
                    let back = churn + Int64.random(in: 100...220, using: &random) * Self.day
                    changes.append(WeightChange(at: back, member: i, weight: Self.weight(.occasional)))
                }
            }
            people.append(m)
        }
        members = people
        self.changes = changes.sorted { ($0.at, $0.member) < ($1.at, $1.member) }
        weights = FenwickTree(count: memberCount)
    }

    private static func weight(_ habit: Habit) -> Int {
        switch habit {
        case .frequent: 10
        case .occasional: 3
        case .oneOff: 12
        case .never: 0
        }
    }

    private static let categories = ["grocery", "bakery", "beauty", "household", "drinks", "fresh", "electronics"]
    private static let channels = ["store", "web", "app"]

    private func memberId(_ n: Int) -> String { "M\(String(format: "%07d", n + 1))" }
    /// Ids of purchases, redemptions, returns and adjustments carry the seed: the output of two
    /// seeds can be imported into one ledger (more history for the same members) without clashes.
    private var tag: String { "\(seed)-" }
    private func purchaseId(_ n: Int) -> String { "P\(tag)\(n)" }
    private func storeId(_ n: Int) -> String { "S\(String(format: "%03d", n))" }
    private var at: String { Timestamp(microseconds: clock).rfc3339 }

    // MARK: The simulation

    /// What one step does.
    private enum Step {
        case enroll(Int)
        case purchase(Int, id: Int, amount: Int64, lines: [(String, Int64)], store: Int)
        case redeem(Int, points: Int64)
        case returnPurchase(Purchase, amount: Int64)
        case adjust(Int)
    }

    /// Moves the clock to step `step` (day `step * days / count`, its share of 13 store hours)
    /// and applies the weight changes due by then.
    private mutating func advance() {
        // The steps of day d are those from ceil(d * count / days) up to the next day's first.
        let dayIndex = step * days / count
        let firstOfDay = (dayIndex * count + days - 1) / days
        let perDay = max(1, ((dayIndex + 1) * count + days - 1) / days - firstOfDay)
        let within = (step - firstOfDay) * 13 * Self.hour / perDay
        clock = max(clock, start + dayIndex * Self.day + 8 * Self.hour + within)
        step += 1
        while nextChange < changes.count, changes[nextChange].at <= clock {
            let c = changes[nextChange]
            nextChange += 1
            if members[c.member].enrolled { setWeight(c.member, c.weight) } else { members[c.member].weight = -1 - c.weight }
        }
    }

    private mutating func setWeight(_ m: Int, _ w: Int) {
        weights.add(m, w - max(members[m].weight, 0))
        members[m].weight = w
    }

    private mutating func nextStep(commands: Bool) -> Step {
        advance()
        sequence += 1
        if nextJoin < members.count, members[nextJoin].joinAt <= clock || weights.total == 0 {
            return enroll()
        }
        let roll = Int.random(in: 0..<1000, using: &random)
        if roll < Self.returnsPerMille { return returnStep() ?? purchaseStep() }
        if roll < Self.returnsPerMille + Self.redemptionsPerMille { return redeemStep() ?? purchaseStep() }
        if commands, roll < Self.returnsPerMille + Self.redemptionsPerMille + Self.adjustmentsPerMille {
            return .adjust(Int.random(in: 0..<nextJoin, using: &random))
        }
        return purchaseStep()
    }

    private mutating func enroll() -> Step {
        let m = nextJoin
        nextJoin += 1
        members[m].enrolled = true
        // A churn or win-back that fell before the enrollment (stored as -1 - weight) applies now.
        let pending = members[m].weight
        members[m].weight = 0
        setWeight(m, pending < 0 ? -1 - pending : Self.weight(members[m].habit))
        return .enroll(m)
    }

    private mutating func purchaseStep() -> Step {
        // Nobody buying right now (every enrolled member churned or never buys): a member of the
        // program buys anyway.
        let m = weights.total > 0 ? weights.find(Int.random(in: 0..<weights.total, using: &random))
                                  : Int.random(in: 0..<nextJoin, using: &random)
        let size = Int.random(in: 0..<100, using: &random)
        let amount = size < 55 ? Int64.random(in: 300...4_000, using: &random)
            : size < 88 ? Int64.random(in: 4_000...12_000, using: &random)
            : size < 98 ? Int64.random(in: 12_000...30_000, using: &random) : Int64.random(in: 30_000...80_000, using: &random)
        var lines: [(String, Int64)] = []
        var left = amount
        let lineCount = Int.random(in: 1...3, using: &random)
        for k in 0..<lineCount {
            let part = k == lineCount - 1 ? left : left * Int64.random(in: 2...8, using: &random) / 10
            lines.append((Self.categories[Int.random(in: 0..<Self.categories.count, using: &random)], part))
            left -= part
        }
        let store = Int.random(in: 0..<100, using: &random) < 80 ? members[m].store : Int.random(in: 1...storeCount, using: &random)
        // Base points (1 a whole unit per line, rounded down): no multiplier, bonus or tier
        // lowers them; the daily cap (2,000) is never reached by the first purchase of a day.
        let base = lines.reduce(Int64(0)) { $0 + $1.1 / 100 }
        let today = (clock - start) / Self.day
        if members[m].lastCreditDay != today {
            members[m].lastCreditDay = today
            members[m].credits.append((clock + Self.pendingDays * Self.day, base))
        }
        if members[m].habit == .oneOff {
            members[m].purchasesLeft -= 1
            if members[m].purchasesLeft <= 0 { setWeight(m, 0) }
        }
        // At most what a purchase can earn: every multiplier of the example rules (tier 2,
        // category 3/2, campaign 2) and its bonuses, never past the daily cap.
        let pointsMax = min(2_000, 6 * base + 110)
        recent.append(Purchase(member: m, id: sequence, amount: amount, at: clock, pointsMax: pointsMax))
        if recent.count > Self.recentMax { recent.removeFirst(Self.recentMax / 4) }
        return .purchase(m, id: sequence, amount: amount, lines: lines, store: store)
    }

    /// A return of a purchase of the last 60 days not returned before (nil: none found in three
    /// draws).
    private mutating func returnStep() -> Step? {
        guard !recent.isEmpty else { return nil }
        var drawn: Int?
        for _ in 0..<3 where drawn == nil {
            let k = Int.random(in: 0..<recent.count, using: &random)
            if !recent[k].returned, clock - recent[k].at <= 60 * Self.day { drawn = k }
        }
        guard let k = drawn else { return nil }
        recent[k].returned = true
        let p = recent[k]
        members[p.member].debits += p.pointsMax
        let amount = Int.random(in: 0..<100, using: &random) < 60 ? p.amount : max(1, p.amount * Int64.random(in: 2...7, using: &random) / 10)
        return .returnPurchase(p, amount: amount)
    }

    /// A redemption by a member drawn as a buyer, when they surely have the points (nil: not).
    private mutating func redeemStep() -> Step? {
        guard weights.total > 0 else { return nil }
        let m = weights.find(Int.random(in: 0..<weights.total, using: &random))
        let spendable = spendableLowerBound(m)
        let choices = [Int64(100), 200, 500, 1_000].filter { $0 <= spendable }
        guard let points = choices.randomElement(using: &random) else { return nil }
        members[m].debits += points
        return .redeem(m, points: points)
    }

    private mutating func spendableLowerBound(_ m: Int) -> Int64 {
        let now = clock
        members[m].credits.removeAll { $0.availableAt + Self.spendableDays * Self.day <= now }
        let credits = members[m].credits.reduce(Int64(0)) { $0 + ($1.availableAt <= now ? $1.points : 0) }
        return credits - members[m].debits
    }

    // MARK: Printing

    /// A domain command for `loyalty import`: enrollments, purchases with category lines,
    /// redemptions, partial and full returns, an occasional goodwill adjustment.
    mutating func nextCommand() -> String {
        switch nextStep(commands: true) {
        case .enroll(let m):
            let (birthDate, gender) = profile()
            let channel = Self.channels[Int.random(in: 0..<3, using: &random)]
            return #"{"command":"enroll","member":"\#(memberId(m))","store":"\#(storeId(members[m].store))","channel":"\#(channel)","birthDate":"\#(birthDate)","gender":"\#(gender)","occurredAt":"\#(at)"}"#
        case let .purchase(m, id, amount, lines, store):
            let items = lines.map { #"{"category":"\#($0.0)","amount":"\#(Self.money($0.1))"}"# }.joined(separator: ",")
            return #"{"command":"purchase","member":"\#(memberId(m))","purchaseId":"\#(purchaseId(id))","amount":"\#(Self.money(amount))","store":"\#(storeId(store))","lines":[\#(items)],"occurredAt":"\#(at)"}"#
        case let .redeem(m, points):
            return #"{"command":"redeem","member":"\#(memberId(m))","points":\#(points),"redemptionId":"R\#(tag)\#(sequence)","occurredAt":"\#(at)"}"#
        case let .returnPurchase(p, amount):
            return #"{"command":"return","purchaseId":"\#(purchaseId(p.id))","returnId":"RT\#(tag)\#(sequence)","amount":"\#(Self.money(amount))","occurredAt":"\#(at)"}"#
        case .adjust(let m):
            return #"{"command":"adjust","member":"\#(memberId(m))","points":25,"reason":"goodwill: late delivery","operator":"support-1","key":"ADJ\#(tag)\#(sequence)","occurredAt":"\#(at)"}"#
        }
    }

    /// A raw `demo.*` event for `loyalty append`, from the same simulation.
    mutating func nextLine() -> String {
        switch nextStep(commands: false) {
        case .enroll(let m):
            let (birthDate, gender) = profile()
            let channel = Self.channels[Int.random(in: 0..<3, using: &random)]
            return #"{"type":"demo.member_joined","member":"\#(memberId(m))","occurredAt":"\#(at)","idempotencyKey":"enroll-\#(memberId(m))","data":{"birthDate":"\#(birthDate)","brand":"main","channel":"\#(channel)","enrollmentStore":"\#(storeId(members[m].store))","gender":"\#(gender)"}}"#
        case let .purchase(m, id, amount, lines, store):
            let items = lines.map { #"{"amount":\#($0.1),"category":"\#($0.0)"}"# }.joined(separator: ",")
            let till = Int.random(in: 1...8, using: &random)
            return #"{"type":"demo.sale","member":"\#(memberId(m))","occurredAt":"\#(at)","idempotencyKey":"till-\#(till)-\#(purchaseId(id))","data":{"amount":\#(amount),"currency":"EUR","lines":[\#(items)],"pointsEarned":\#(amount / 100),"purchaseId":"\#(purchaseId(id))","store":"\#(storeId(store))"}}"#
        case let .redeem(m, points):
            return #"{"type":"demo.voucher_used","member":"\#(memberId(m))","occurredAt":"\#(at)","idempotencyKey":"redeem-R\#(tag)\#(sequence)","data":{"points":\#(points),"redemptionId":"R\#(tag)\#(sequence)","reward":"voucher-\#(points)"}}"#
        case let .returnPurchase(p, amount):
            return #"{"type":"demo.sale_returned","member":"\#(memberId(p.member))","occurredAt":"\#(at)","idempotencyKey":"return-\#(tag)\#(sequence)","data":{"amount":\#(amount),"purchaseId":"\#(purchaseId(p.id))","returnId":"RET\#(tag)\#(sequence)"}}"#
        case .adjust:
            preconditionFailure("raw events have no adjustments")
        }
    }

    private mutating func profile() -> (birthDate: String, gender: String) {
        let year = Int.random(in: 1950...2006, using: &random)
        let month = Int.random(in: 1...12, using: &random), day = Int.random(in: 1...28, using: &random)
        let gender = ["female", "male", "unspecified"][Int.random(in: 0..<3, using: &random)]
        return ("\(year)-\(String(format: "%02d", month))-\(String(format: "%02d", day))", gender)
    }

    static func money(_ cents: Int64) -> String { "\(cents / 100).\(cents % 100 < 10 ? "0" : "")\(cents % 100)" }
}

/// Sums of non-negative integer weights by index prefix (a Fenwick tree): changes one weight and
/// finds the index a uniform draw in 0..<total falls on, both in O(log n).
struct FenwickTree {
    private var tree: [Int]
    private(set) var total = 0

    init(count: Int) { tree = Array(repeating: 0, count: count + 1) }

    mutating func add(_ index: Int, _ delta: Int) {
        total += delta
        var i = index + 1
        while i < tree.count {
            tree[i] += delta
            i += i & -i
        }
    }

    /// The index whose weight covers `target` (0 <= target < total) in the running sums.
    func find(_ target: Int) -> Int {
        var position = 0, left = target
        var step = 1
        while step * 2 < tree.count { step *= 2 }
        while step > 0 {
            if position + step < tree.count, tree[position + step] <= left {
                position += step
                left -= tree[position]
            }
            step /= 2
        }
        return position
    }
}

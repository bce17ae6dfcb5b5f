import ArgumentParser
import Foundation
import LedgerStore
import LoyaltyDomain

/// Deterministic realistic data for demos and benchmarks: a retail chain's members enrolling,
/// buying at their stores, earning, redeeming and returning. Raw, as JSON Lines of `demo.*`
/// events for `loyalty append` (not domain events: `append` refuses those, only the domain
/// writes them); with `--commands`, as domain commands for `loyalty import`.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Print realistic demo events as JSON Lines (deterministic for a seed).",
        discussion: """
        Without --commands: raw log events of non-domain types (demo.member_joined, demo.sale,
        demo.voucher_used, demo.sale_returned) for `loyalty append`. With --commands: domain commands
        for `loyalty import`, which decides them into domain events.
        """)

    @Option(help: "Members in the program.") var members: Int = 1_000
    @Option(help: "Events to print.") var count: Int = 10_000
    @Option(help: "Stores in the chain.") var stores: Int = 40
    @Option(help: "Random seed.") var seed: UInt64 = 42
    @Option(help: "First business day (YYYY-MM-DD).") var start: String = "2026-01-05"
    @Flag(help: "Print domain commands (for `loyalty import`) instead of raw log events.") var commands = false

    func validate() throws {
        guard members > 0, count >= 0, stores > 0 else { throw ValidationError("--members and --stores must be positive, --count not negative") }
        guard Timestamp(rfc3339: start) != nil else { throw ValidationError("--start: '\(start)' is not a date (YYYY-MM-DD)") }
    }

    func run() throws {
        var generator = DemoEventGenerator(members: members, stores: stores, seed: seed,
                                           start: Timestamp(rfc3339: start)!)
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

struct DemoEventGenerator {
    private var random: SplitMix64
    private let memberCount: Int
    private let storeCount: Int
    private var clock: Int64
    private var enrolled = 0
    private var purchases: [(member: Int, id: Int, amount: Int64)] = []
    private var sequence = 0
    private var balances: [Int: Int64] = [:]

    init(members: Int, stores: Int, seed: UInt64, start: Timestamp) {
        random = SplitMix64(seed: seed)
        memberCount = members
        storeCount = stores
        clock = start.microseconds + 8 * 3_600_000_000  // stores open at 08:00
    }

    private static let categories = ["grocery", "bakery", "beauty", "household", "drinks", "fresh", "electronics"]
    private static let channels = ["store", "web", "app"]

    mutating func nextLine() -> String {
        sequence += 1
        clock += Int64.random(in: 2_000_000...90_000_000, using: &random)  // 2 s to 90 s apart
        let roll = Int.random(in: 0..<100, using: &random)
        if enrolled < memberCount && (enrolled < 10 || roll < 8) { return enroll() }
        if roll < 70 || purchases.isEmpty { return purchase() }
        if roll < 85 { return redeem() }
        return returnPurchase()
    }

    private func memberId(_ n: Int) -> String { "M\(String(format: "%07d", n))" }
    private func storeId(_ n: Int) -> String { "S\(String(format: "%03d", n))" }
    private var at: String { Timestamp(microseconds: clock).rfc3339 }

    private mutating func enroll() -> String {
        enrolled += 1
        let store = Int.random(in: 1...storeCount, using: &random)
        let year = Int.random(in: 1950...2006, using: &random)
        let month = Int.random(in: 1...12, using: &random), day = Int.random(in: 1...28, using: &random)
        let gender = ["female", "male", "unspecified"][Int.random(in: 0..<3, using: &random)]
        let channel = Self.channels[Int.random(in: 0..<3, using: &random)]
        return #"{"type":"demo.member_joined","member":"\#(memberId(enrolled))","occurredAt":"\#(at)","idempotencyKey":"enroll-\#(memberId(enrolled))","data":{"birthDate":"\#(year)-\#(String(format: "%02d", month))-\#(String(format: "%02d", day))","brand":"main","channel":"\#(channel)","enrollmentStore":"\#(storeId(store))","gender":"\#(gender)"}}"#
    }

    private mutating func purchase() -> String {
        let m = Int.random(in: 1...max(1, enrolled), using: &random)
        let amount = Int64.random(in: 150...25_000, using: &random)  // cents
        let id = sequence
        purchases.append((m, id, amount))
        if purchases.count > 5_000 { purchases.removeFirst(1_000) }
        balances[m, default: 0] += amount / 100
        let category = Self.categories[Int.random(in: 0..<Self.categories.count, using: &random)]
        let till = Int.random(in: 1...8, using: &random)
        return #"{"type":"demo.sale","member":"\#(memberId(m))","occurredAt":"\#(at)","idempotencyKey":"till-\#(till)-P\#(id)","data":{"amount":\#(amount),"currency":"EUR","lines":[{"amount":\#(amount),"category":"\#(category)"}],"pointsEarned":\#(amount / 100),"purchaseId":"P\#(id)","store":"\#(storeId(Int.random(in: 1...storeCount, using: &random)))"}}"#
    }

    private mutating func redeem() -> String {
        let m = Int.random(in: 1...max(1, enrolled), using: &random)
        let balance = balances[m, default: 0]
        guard balance >= 50 else { return purchase() }
        let points = min(balance, Int64([50, 100, 200, 500][Int.random(in: 0..<4, using: &random)]))
        balances[m] = balance - points
        return #"{"type":"demo.voucher_used","member":"\#(memberId(m))","occurredAt":"\#(at)","idempotencyKey":"redeem-R\#(sequence)","data":{"points":\#(points),"redemptionId":"R\#(sequence)","reward":"voucher-\#(points)"}}"#
    }

    /// A domain command for `loyalty import`: enrollments, purchases with category lines,
    /// redemptions, partial returns, an occasional goodwill adjustment.
    mutating func nextCommand() -> String {
        sequence += 1
        clock += Int64.random(in: 2_000_000...90_000_000, using: &random)
        let roll = Int.random(in: 0..<100, using: &random)
        if enrolled < memberCount && (enrolled < 10 || roll < 8) {
            enrolled += 1
            let store = Int.random(in: 1...storeCount, using: &random)
            let year = Int.random(in: 1950...2006, using: &random)
            let month = Int.random(in: 1...12, using: &random), day = Int.random(in: 1...28, using: &random)
            let gender = ["female", "male", "unspecified"][Int.random(in: 0..<3, using: &random)]
            return #"{"command":"enroll","member":"\#(memberId(enrolled))","store":"\#(storeId(store))","channel":"\#(Self.channels[Int.random(in: 0..<3, using: &random)])","birthDate":"\#(year)-\#(String(format: "%02d", month))-\#(String(format: "%02d", day))","gender":"\#(gender)","occurredAt":"\#(at)"}"#
        }
        let m = Int.random(in: 1...max(1, enrolled), using: &random)
        if roll < 75 || purchases.isEmpty {
            let amount = Int64.random(in: 150...25_000, using: &random)
            let first = amount * Int64.random(in: 1...9, using: &random) / 10
            purchases.append((m, sequence, amount))
            if purchases.count > 5_000 { purchases.removeFirst(1_000) }
            balances[m, default: 0] += amount / 100
            let c1 = Self.categories[Int.random(in: 0..<Self.categories.count, using: &random)]
            let c2 = Self.categories[Int.random(in: 0..<Self.categories.count, using: &random)]
            return #"{"command":"purchase","member":"\#(memberId(m))","purchaseId":"P\#(sequence)","amount":"\#(Self.money(amount))","store":"\#(storeId(Int.random(in: 1...storeCount, using: &random)))","lines":[{"category":"\#(c1)","amount":"\#(Self.money(first))"},{"category":"\#(c2)","amount":"\#(Self.money(amount - first))"}],"occurredAt":"\#(at)"}"#
        }
        if roll < 88 {
            let points = [50, 100, 200][Int.random(in: 0..<3, using: &random)]
            return #"{"command":"redeem","member":"\#(memberId(m))","points":\#(points),"redemptionId":"R\#(sequence)","occurredAt":"\#(at)"}"#
        }
        if roll < 98 {
            let p = purchases[Int.random(in: 0..<purchases.count, using: &random)]
            return #"{"command":"return","purchaseId":"P\#(p.id)","returnId":"RT\#(sequence)","amount":"\#(Self.money(p.amount / 3))","occurredAt":"\#(at)"}"#
        }
        return #"{"command":"adjust","member":"\#(memberId(m))","points":25,"reason":"goodwill: late delivery","operator":"support-1","key":"ADJ\#(sequence)","occurredAt":"\#(at)"}"#
    }

    static func money(_ cents: Int64) -> String { "\(cents / 100).\(cents % 100 < 10 ? "0" : "")\(cents % 100)" }

    private mutating func returnPurchase() -> String {
        let p = purchases[Int.random(in: 0..<purchases.count, using: &random)]
        let returned = p.amount / Int64.random(in: 1...3, using: &random)
        return #"{"type":"demo.sale_returned","member":"\#(memberId(p.member))","occurredAt":"\#(at)","idempotencyKey":"return-\#(sequence)","data":{"amount":\#(returned),"purchaseId":"P\#(p.id)","returnId":"RET\#(sequence)"}}"#
    }
}

import ArgumentParser
import Foundation
import Histogram
import LoyaltyDomain
import LoyaltyLedger

/// The HTTP benchmark's work (tools/bench/http.sh) without HTTP: the application called in
/// process by `callers` concurrent tasks, on a ledger of `members` members with 3 purchases each.
struct AppBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "app",
        abstract: "LedgerApplication in process: `balance` reads or `purchase` commands (full durability), concurrent callers.")
    @Argument(help: "balance or purchase") var work: String
    @Option var callers = 64
    @Option var members = 20_000
    @Option var seconds = 10
    @OptionGroup var common: Common

    func validate() throws {
        guard ["balance", "purchase"].contains(work) else { throw ValidationError("work: balance or purchase") }
    }

    func run() async throws {
        let path = NSTemporaryDirectory() + "app-bench-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: path) }
        let app = try LedgerApplication.open(path: path, options: ApplicationOptions(writable: true, create: true))
        defer { app.close() }
        let ledger = try app.ledger
        let (rules, _) = try LedgerApplication.defaultRules(currency: nil, zone: nil)
        try await ledger.execute(.publishProgram(rules, at: LedgerApplication.defaultRulesEffectiveAt))
        let enrolled = Timestamp(rfc3339: "2026-01-01T00:00:00Z") ?? .now()
        let bought = Timestamp(rfc3339: "2026-02-01T10:00:00Z") ?? .now()
        func id(_ i: Int) -> String { "C" + String(repeating: "0", count: max(0, 7 - String(i).count)) + String(i) }
        var commands: [Command] = []
        for i in 0..<members {
            commands.append(.enroll(member: id(i), store: "S001", brand: "main", channel: "store", birthDate: nil, gender: nil, profile: [:], at: enrolled))
        }
        for i in 0..<(members * 3) {
            commands.append(.purchase(.init(member: id(i % members), purchaseId: "T\(i)", amount: "\(10 + i % 90).00", store: "S001", at: bought)))
        }
        var start = 0
        while start < commands.count {
            let end = min(commands.count, start + 2_000)
            _ = try await ledger.executeBatch(Array(commands[start..<end]))
            start = end
        }
        if !common.quiet { Reporter.progress("app \(work): \(callers) callers, \(seconds) s, \(members) members") }
        let now = Timestamp.now()
        let toNanos = monotonicNanos() + Int64(seconds) * 1_000_000_000
        let work = self.work, members = self.members
        let (count, histogram) = try await withThrowingTaskGroup(of: (Int, Histogram<UInt64>).self) { group in
            for c in 0..<callers {
                group.addTask {
                    var h = newHistogram()
                    var n = 0
                    var random = SystemRandomNumberGenerator()
                    while true {
                        let sent = monotonicNanos()
                        if sent >= toNanos { break }
                        let member = id(Int.random(in: 0..<members, using: &random))
                        if work == "balance" {
                            _ = try app.balance(member: member, at: now)
                        } else {
                            try await ledger.execute(.purchase(.init(member: member, purchaseId: "A\(c)-\(n)", amount: "12.34", store: "S001", at: bought)))
                        }
                        _ = h.record(UInt64(max(1, (monotonicNanos() - sent) / 1_000)))
                        n += 1
                    }
                    return (n, h)
                }
            }
            var total = 0
            var merged = newHistogram()
            for try await (n, h) in group { total += n; merged.add(h) }
            return (total, merged)
        }
        var o = Outcome(scenario: "app-\(work)", headline: "callsPerSecond")
        o.parameters = [("callers", .int(callers)), ("members", .int(members)), ("seconds", .int(seconds))]
        o.add("callsPerSecond", (Double(count) / Double(seconds)).rounded(), "calls/s")
        o.addLatency("call", histogram)
        o.notes.append("the work of tools/bench/http.sh without HTTP: LedgerApplication.balance or Ledger.execute(.purchase) in process")
        try Reporter.emit(o, json: common.json)
    }
}

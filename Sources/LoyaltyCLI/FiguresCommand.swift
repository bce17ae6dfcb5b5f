import ArgumentParser
import Foundation
import LedgerJSON
import LoyaltyDomain
import Projections

/// `loyalty figures`: the program figures projection (daily and per-store totals, liability, rewards).
struct FiguresCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "figures", abstract: "Program figures: totals per day and store, outstanding liability, rewards.",
        discussion: """
            Days are local dates in the program's time zone. Enrollments and purchases count at the store where they \
            happened; points, returns and redemptions at the member's enrollment store. Money is in integer minor units.
            """)

    enum Grouping: String, ExpressibleByArgument, CaseIterable { case day, store, dayStore = "day-store", none }

    @OptionGroup var ledger: LedgerOptions
    @Option(help: "First local date (YYYY-MM-DD).") var from: String?
    @Option(help: "Last local date (YYYY-MM-DD).") var to: String?
    @Option(help: "Only this store.") var store: String?
    @Option(help: "Rows per day, store, day-store or none (totals only).") var by: Grouping = .day
    @Option(help: "table, json or csv") var format: DataFormat = .table
    @Flag(help: "CSV for Excel: starts with a UTF-8 byte order mark.") var excel = false

    static let columns = ["enrollments", "purchases", "spend", "returns", "returnedAmount", "pointsIssued", "pointsIssuedPending",
                          "redemptions", "pointsRedeemed", "pointsExpired", "pointsAdjusted", "pointsClawedBack",
                          "pointsTransferredIn", "pointsTransferredOut", "debtChange", "netPoints"]

    func validate() throws {
        for (name, v) in [("--from", from), ("--to", to)] {
            if let v, v.utf8.count != 10 || Timestamp(rfc3339: v) == nil { throw ValidationError("\(name): '\(v)' is not a YYYY-MM-DD date") }
        }
    }

    func run() throws {
        let projections = try openProjections(ledger, names: [ProgramFigures.name, Balances.name])
        var rows: [String: ProgramFigures.Figures] = [:]
        var selected = ProgramFigures.Figures()
        try projections.store.forEach(ProgramFigures.self, prefix: "day/") { key, value in
            guard case .figures(let f) = value else { return }
            let parts = key.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { return }
            let (day, s) = (String(parts[1]), String(parts[2]))
            if let from, day < from { return }
            if let to, day > to { return }
            if let store, s != store { return }
            let group: String
            switch by {
            case .day: group = day
            case .store: group = s
            case .dayStore: group = day + " " + s
            case .none: group = ""
            }
            if by != .none { rows[group, default: .init()].add(f) }
            selected.add(f)
        }
        var rewards: [(String, ProgramFigures.RewardFigures)] = []
        try projections.store.forEach(ProgramFigures.self, prefix: "reward/") { key, value in
            if case .reward(let r) = value { rewards.append((String(key.dropFirst("reward/".count)), r)) }
        }
        let liability = try outstanding(projections)
        emit(rows.sorted { $0.key < $1.key }, total: selected, liability: liability, rewards: rewards)
    }

    /// Outstanding points now, from the balances projection (exact: lots past expiry count as
    /// expired even before their expiry event is written).
    private func outstanding(_ p: LedgerProjections) throws -> (available: Int64, pending: Int64, held: Int64, debt: Int64, members: Int64) {
        var r: (available: Int64, pending: Int64, held: Int64, debt: Int64, members: Int64) = (0, 0, 0, 0, 0)
        let now = Timestamp.now()
        try p.store.forEach(Balances.self) { member, record in
            let b = record.balance(member, at: now)
            r.available += b.available; r.pending += b.pending; r.held += b.held; r.debt += b.debt; r.members += 1
        }
        return r
    }

    private func values(_ f: ProgramFigures.Figures) -> [Int64] { f.fields + [f.netPoints] }

    private func emit(_ rows: [(key: String, value: ProgramFigures.Figures)], total: ProgramFigures.Figures,
                      liability: (available: Int64, pending: Int64, held: Int64, debt: Int64, members: Int64),
                      rewards: [(String, ProgramFigures.RewardFigures)]) {
        let label = by == .none ? "total" : by.rawValue
        switch format {
        case .csv:
            print((excel ? CSVCell.excelByteOrderMark : "") + ([label] + Self.columns).joined(separator: ","))
            for (k, f) in rows { print(([csvCell(k)] + values(f).map(String.init)).joined(separator: ",")) }
            print((["total"] + values(total).map(String.init)).joined(separator: ","))
        case .json, .jsonl:
            func obj(_ f: ProgramFigures.Figures) -> JSONValue { .object(zip(Self.columns, values(f)).map { (key: $0, value: JSONValue.int($1)) }) }
            printJSON(.object([
                "groupBy": .string(by.rawValue),
                "rows": .array(rows.map { .object([("key", .string($0.key)), ("figures", obj($0.value))]) }),
                "total": obj(total),
                "outstanding": .object(["available": .int(liability.available), "pending": .int(liability.pending), "held": .int(liability.held),
                                        "debt": .int(liability.debt), "members": .int(liability.members),
                                        "liabilityPoints": .int(liability.available + liability.pending + liability.held)]),
                "rewards": .array(rewards.map { id, r in
                    .object(["reward": .string(id), "name": .string(r.name), "cost": .int(r.cost), "stock": r.stock.map { .int($0) },
                             "issued": .int(r.issued), "stockLeft": r.stockLeft.map { .int($0) }, "budget": r.budget.map { .int($0) },
                             "pointsSpent": .int(r.pointsSpent), "budgetLeft": r.budgetLeft.map { .int($0) }])
                }),
            ]))
        case .table:
            let short = ["enrollments": "enrol", "purchases": "purch", "spend": "spend", "returns": "ret", "pointsIssued": "issued",
                         "pointsIssuedPending": "pending", "pointsRedeemed": "redeemed", "pointsExpired": "expired",
                         "pointsAdjusted": "adjusted", "pointsClawedBack": "clawback", "netPoints": "net"]
            let shown = Self.columns.enumerated().filter { short[$0.element] != nil }
            func line(_ k: String, _ f: ProgramFigures.Figures) -> String {
                let v = values(f)
                return k.padding(toLength: 16, withPad: " ", startingAt: 0) + shown.map { String(v[$0.offset]).padding(toLength: 11, withPad: " ", startingAt: 0) }.joined()
            }
            print(label.padding(toLength: 16, withPad: " ", startingAt: 0) + shown.map { short[$0.element]!.padding(toLength: 11, withPad: " ", startingAt: 0) }.joined())
            for (k, f) in rows { print(line(k, f)) }
            print(line("total", total))
            print("\noutstanding now: \(liability.available + liability.pending + liability.held) points (available \(liability.available), pending \(liability.pending), held \(liability.held)); member debt \(liability.debt); \(liability.members) members")
            for (id, r) in rewards {
                print("reward \(id) (\(r.name)): cost \(r.cost), issued \(r.issued)\(r.stockLeft.map { ", stock left \($0)" } ?? ""), points spent \(r.pointsSpent)\(r.budgetLeft.map { ", budget left \($0)" } ?? "")")
            }
        }
    }
}

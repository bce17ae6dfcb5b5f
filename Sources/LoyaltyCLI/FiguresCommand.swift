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
            Evaluated at --at T (default: now), from the lots as they stand: pointsPending is what of a day's lots is not \
            yet available at T (booked to the day it was earned); pointsExpired is the day's expiry events, plus the \
            points of lots past their expiry at T with no expiry event yet, booked to the local day of their expiry. \
            Over all days pointsExpired is what `reconcile --at T` reports as expired. pointsIssuedPending is what was \
            issued with a wait (a return window) at the time it was issued.
            """)

    enum Grouping: String, ExpressibleByArgument, CaseIterable { case day, store, dayStore = "day-store", none }

    @OptionGroup var ledger: LedgerOptions
    @Option(help: "First local date (YYYY-MM-DD).") var from: String?
    @Option(help: "Last local date (YYYY-MM-DD).") var to: String?
    @Option(help: "Only this store.") var store: String?
    @Option(help: "Rows per day, store, day-store or none (totals only).") var by: Grouping = .day
    @Option(help: "table, json or csv") var format: DataFormat = .table
    @Option(help: "Evaluate pending, expired and outstanding points at this time (RFC 3339 or YYYY-MM-DD; default: now).") var at: String?
    @Flag(help: "CSV for Excel: starts with a UTF-8 byte order mark.") var excel = false

    static let columns = ProgramFigures.Figures.fieldNames + ["pointsPending", "netPoints"]

    func validate() throws {
        for (name, v) in [("--from", from), ("--to", to)] {
            if let v, v.utf8.count != 10 || Timestamp(rfc3339: v) == nil { throw ValidationError("\(name): '\(v)' is not a YYYY-MM-DD date") }
        }
        if let at, Timestamp(rfc3339: at) == nil { throw ValidationError("--at: '\(at)' is not an RFC 3339 time or YYYY-MM-DD date") }
    }

    /// A row's figures: the stored flows, the time-dependent ones, all in Int128.
    struct Row {
        var fields = Array(repeating: Int128(0), count: ProgramFigures.Figures.fieldNames.count)
        var pending: Int128 = 0

        mutating func add(_ f: ProgramFigures.Figures) { for (i, v) in f.fields.enumerated() { fields[i] += Int128(v) } }
        mutating func add(_ c: FiguresAtTime.Cell) {
            pending += c.pending
            fields[Self.expired] += c.lapsed
        }
        mutating func add(_ r: Row) {
            for i in fields.indices { fields[i] += r.fields[i] }
            pending += r.pending
        }

        static let index = Dictionary(uniqueKeysWithValues: ProgramFigures.Figures.fieldNames.enumerated().map { ($1, $0) })
        static let expired = index["pointsExpired"] ?? 0

        /// issued + transferred in + adjusted - redeemed - expired - clawed back - transferred out.
        var net: Int128 {
            func f(_ n: String) -> Int128 { Self.index[n].map { fields[$0] } ?? 0 }
            return f("pointsIssued") + f("pointsTransferredIn") + f("pointsAdjusted") - f("pointsRedeemed") - f("pointsExpired")
                - f("pointsClawedBack") - f("pointsTransferredOut")
        }
        var values: [Int128] { fields + [pending, net] }
    }

    func run() throws {
        let t = try at.map { a -> Timestamp in
            guard let t = Timestamp(rfc3339: a) else { throw ValidationError("--at: '\(a)' is not an RFC 3339 time or YYYY-MM-DD date") }
            return t
        } ?? .now()
        let projections = try openProjections(ledger, names: [ProgramFigures.name, Balances.name])
        try refuseIfStopped(projections, [ProgramFigures.name, Balances.name], member: nil)
        let timed = try FiguresAtTime.evaluate(projections, at: t)
        // Full store ids of the stores whose key holds their hash (`ProjectionKey`).
        var names: [String: String] = [:]
        try projections.store.forEach(ProgramFigures.self, prefix: "name/") { key, value in
            if case .text(let s) = value { names[String(key.dropFirst("name/".count))] = s }
        }
        var cells: [String: Row] = [:]
        try projections.store.forEach(ProgramFigures.self, prefix: "day/") { key, value in
            if case .figures(let f) = value { cells[key, default: Row()].add(f) }
        }
        for (key, c) in timed.cells { cells[key, default: Row()].add(c) }
        var rows: [String: Row] = [:]
        var selected = Row()
        let storeKey = store.map(ProjectionKey.component)
        for (key, row) in cells {
            let parts = key.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            let (day, sk) = (String(parts[1]), String(parts[2]))
            if let from, day < from { continue }
            if let to, day > to { continue }
            if let storeKey, sk != storeKey { continue }
            let s = names[sk] ?? sk
            let group: String
            switch by {
            case .day: group = day
            case .store: group = s
            case .dayStore: group = day + " " + s
            case .none: group = ""
            }
            if by != .none { rows[group, default: Row()].add(row) }
            selected.add(row)
        }
        var rewards: [(String, ProgramFigures.RewardFigures)] = []
        try projections.store.forEach(ProgramFigures.self, prefix: "reward/") { key, value in
            let id = String(key.dropFirst("reward/".count))
            if case .reward(let r) = value { rewards.append((names[id] ?? id, r)) }
        }
        emit(rows.sorted { $0.key < $1.key }, total: selected, timed: timed, rewards: rewards)
    }

    private func emit(_ rows: [(key: String, value: Row)], total: Row, timed: FiguresAtTime,
                      rewards: [(String, ProgramFigures.RewardFigures)]) {
        let label = by == .none ? "total" : by.rawValue
        let liability = timed.available + timed.pending + timed.held
        func wide(_ v: Int128) -> JSONValue { .integer(String(v)) }
        switch format {
        case .csv:
            print((excel ? CSVCell.excelByteOrderMark : "") + ([label] + Self.columns).joined(separator: ","))
            for (k, f) in rows { print(([csvCell(k)] + f.values.map { String($0) }).joined(separator: ",")) }
            print((["total"] + total.values.map { String($0) }).joined(separator: ","))
        case .json, .jsonl:
            func obj(_ f: Row) -> JSONValue { .object(zip(Self.columns, f.values).map { (key: $0, value: wide($1)) }) }
            printJSON(.object([
                "groupBy": .string(by.rawValue),
                "rows": .array(rows.map { .object([("key", .string($0.key)), ("figures", obj($0.value))]) }),
                "total": obj(total),
                "outstanding": .object(["available": wide(timed.available), "pending": wide(timed.pending), "held": wide(timed.held),
                                        "debt": wide(timed.debt), "members": .int(timed.members), "liabilityPoints": wide(liability)]),
                "rewards": .array(rewards.map { id, r in
                    .object(["reward": .string(id), "name": .string(r.name), "cost": .int(r.cost), "stock": r.stock.map { .int($0) },
                             "issued": .int(r.issued), "stockLeft": r.stockLeft.map(wide), "budget": r.budget.map { .int($0) },
                             "pointsSpent": .int(r.pointsSpent), "budgetLeft": r.budgetLeft.map(wide)])
                }),
            ]))
        case .table:
            let short = ["enrollments": "enrol", "purchases": "purch", "spend": "spend", "returns": "ret", "pointsIssued": "issued",
                         "pointsPending": "pending", "pointsRedeemed": "redeemed", "pointsExpired": "expired",
                         "pointsAdjusted": "adjusted", "pointsClawedBack": "clawback", "netPoints": "net"]
            let shown = Self.columns.enumerated().compactMap { i, c in short[c].map { (i, $0) } }
            // Padded, never cut: a figure wider than its column pushes the rest right.
            func pad(_ s: String, _ width: Int) -> String { s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count) }
            func line(_ k: String, _ f: Row) -> String {
                let v = f.values
                return pad(k, 16) + shown.map { pad(String(v[$0.0]), 11) }.joined()
            }
            print(pad(label, 16) + shown.map { pad($0.1, 11) }.joined())
            for (k, f) in rows { print(line(k, f)) }
            print(line("total", total))
            print("\noutstanding at \(at ?? "now"): \(liability) points (available \(timed.available), pending \(timed.pending), held \(timed.held)); member debt \(timed.debt); \(timed.members) members")
            for (id, r) in rewards {
                print("reward \(id) (\(r.name)): cost \(r.cost), issued \(r.issued)\(r.stockLeft.map { ", stock left \($0)" } ?? ""), points spent \(r.pointsSpent)\(r.budgetLeft.map { ", budget left \($0)" } ?? "")")
            }
        }
    }
}

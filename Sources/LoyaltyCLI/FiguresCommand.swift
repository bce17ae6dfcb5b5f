import ArgumentParser
import Foundation
import LedgerJSON
import LoyaltyDomain
import LoyaltyLedger
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

    enum Grouping: String, ExpressibleByArgument, CaseIterable {
        case day, store, dayStore = "day-store", none
        var query: FiguresGrouping { FiguresGrouping(rawValue: rawValue) ?? .day }
    }

    @OptionGroup var ledger: LedgerOptions
    @Option(help: "First local date (YYYY-MM-DD).", transform: TimeArgument.date) var from: String?
    @Option(help: "Last local date (YYYY-MM-DD).", transform: TimeArgument.date) var to: String?
    @Option(help: "Only this store.") var store: String?
    @Option(help: "Rows per day, store, day-store or none (totals only).") var by: Grouping = .day
    @Option(help: "table, json or csv") var format: DataFormat = .table
    @Option(help: "Evaluate pending, expired and outstanding points at this time (RFC 3339, or YYYY-MM-DD: local midnight; default: now).",
            transform: TimeArgument.parse) var at: RequestedTime?
    @Flag(help: "CSV for Excel: starts with a UTF-8 byte order mark.") var excel = false

    func run() throws {
        let app = try ledger.openCaughtUp([ProgramFigures.name, Balances.name])
        defer { app.close() }
        let report = try app.figures(FiguresQuery(from: from, to: to, store: store, grouping: by.query), at: try app.resolve(at))
        emit(report)
    }

    private func emit(_ report: FiguresReport) {
        let label = by == .none ? "total" : by.rawValue
        let columns = FiguresRow.columns
        switch format {
        case .csv:
            print((excel ? CSVCell.excelByteOrderMark : "") + ([label] + columns).joined(separator: ","))
            for (k, f) in report.rows { print(([CSVCell.text(k)] + f.values.map { String($0) }).joined(separator: ",")) }
            print((["total"] + report.total.values.map { String($0) }).joined(separator: ","))
        case .json, .jsonl:
            printJSON(report.json)
        case .table:
            let short = ["enrollments": "enrol", "purchases": "purch", "spend": "spend", "returns": "ret", "pointsIssued": "issued",
                         "pointsPending": "pending", "pointsRedeemed": "redeemed", "pointsExpired": "expired",
                         "pointsAdjusted": "adjusted", "pointsClawedBack": "clawback", "netPoints": "net"]
            let shown = columns.enumerated().compactMap { i, c in short[c].map { (i, $0) } }
            func line(_ k: String, _ f: FiguresRow) -> String {
                let v = f.values
                return padded(k, 16) + shown.map { padded(String(v[$0.0]), 11) }.joined()
            }
            print(padded(label, 16) + shown.map { padded($0.1, 11) }.joined())
            for (k, f) in report.rows { print(line(k, f)) }
            print(line("total", report.total))
            print("\noutstanding at \(at?.description ?? "now"): \(report.liabilityPoints) points (available \(report.available), pending \(report.pending), held \(report.held)); member debt \(report.debt); \(report.members) members")
            for (id, r) in report.rewards {
                print("reward \(id) (\(r.name)): cost \(r.cost), issued \(r.issued)\(r.stockLeft.map { ", stock left \($0)" } ?? ""), points spent \(r.pointsSpent)\(r.budgetLeft.map { ", budget left \($0)" } ?? "")")
            }
        }
    }
}


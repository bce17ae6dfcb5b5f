import ArgumentParser
import Foundation
import LedgerJSON
import LoyaltyDomain
import LoyaltyLedger
import Projections

/// `loyalty targets set`: an operator's target for a store and a period (a `target.set` event).
struct TargetsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "targets", abstract: "Targets the reports compare with.", subcommands: [Set.self])

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a store's enrollment target for a month, an ISO week or a day (replaces an earlier one).")
        @OptionGroup var options: DomainOptions
        @Option(help: "The store.") var store: String
        @Option(help: "A month YYYY-MM.") var month: String?
        @Option(help: "An ISO week YYYY-Www.") var week: String?
        @Option(help: "A local day YYYY-MM-DD.") var day: String?
        @Option(help: "Members to enroll in the period (0 to 10^12).") var enrollments: Int64

        func validate() throws {
            let given = [month, week, day].compactMap { $0 }
            guard given.count == 1 else { throw ValidationError("give exactly one of --month, --week, --day") }
            let kind: ReportPeriod.Kind = month != nil ? .month : week != nil ? .week : .day
            guard let p = ReportPeriod(given[0]), p.kind == kind else {
                throw ValidationError("--\(kind.rawValue) '\(given[0])' is not a \(kind == .month ? "month YYYY-MM" : kind == .week ? "week YYYY-Www" : "day YYYY-MM-DD") from 1900 to 9999")
            }
        }

        func run() async throws {
            let period = month ?? week ?? day ?? ""
            try await options.run { app in
                .setTarget(.init(store: store, period: period, metric: "enrollments", value: enrollments), at: try app.resolve(options.at))
            }
        }
    }
}

/// What every report shares: the ledger, the time, the selection, the format.
struct ReportOptions: ParsableArguments {
    @OptionGroup var ledger: LedgerOptions
    @Option(name: .customLong("as-of"), help: "Only events with business time up to this time (RFC 3339, or YYYY-MM-DD: local midnight; default: now).",
            transform: TimeArgument.parse)
    var asOf: RequestedTime?
    @Option(help: "Periods: day, week (ISO) or month, local in the program's time zone (default month).", transform: ReportChoice.period)
    var period: ReportPeriod.Kind?
    @Option(help: "Only members enrolled at this store (purchase figures: purchases made at it).") var store: String?
    @Option(help: "Only members of this brand.") var brand: String?
    @Option(help: "First period (YYYY-MM, YYYY-Www or YYYY-MM-DD).") var from: String?
    @Option(help: "Last period.") var to: String?
    @Option(help: "table, json or csv") var format: DataFormat = .table
    @Flag(help: "CSV for Excel: starts with a UTF-8 byte order mark.") var excel = false

    func validate() throws {
        for (name, text) in [("--from", from), ("--to", to)] {
            if let text, ReportPeriod(text) == nil { throw ValidationError("\(name) '\(text)' is not a period (YYYY-MM, YYYY-Www or YYYY-MM-DD)") }
        }
        if format == .jsonl { throw ValidationError("--format: table, json or csv") }
    }

    var query: InsightQuery {
        var q = InsightQuery()
        (q.period, q.store, q.brand) = (period ?? .month, store, brand)
        (q.from, q.to) = (from.flatMap(ReportPeriod.init), to.flatMap(ReportPeriod.init))
        return q
    }

    /// Opens the ledger with the reports' projections caught up, and the as-of time.
    func open() throws -> (LedgerApplication, Timestamp) {
        let app = try ledger.openCaughtUp(LedgerApplication.insightProjections)
        do {
            return (app, try app.resolve(asOf))
        } catch {
            app.close()
            throw error
        }
    }

    func emit(columns: [String], cells: [[String]], json: JSONValue) {
        switch format {
        case .json, .jsonl:
            printJSON(json)
        case .csv:
            var out = OutputBuffer()
            out.line((excel ? CSVCell.excelByteOrderMark : "") + columns.map(CSVCell.text).joined(separator: ","))
            for row in cells { out.line(row.map(CSVCell.text).joined(separator: ",")) }
            out.flush()
        case .table:
            let widths = columns.indices.map { i in max(columns[i].count, cells.map { $0[i].count }.max() ?? 0) + 1 }
            var out = OutputBuffer()
            out.line(columns.enumerated().map { padded($1, widths[$0]) }.joined())
            for row in cells { out.line(row.enumerated().map { padded($1.isEmpty ? "-" : $1, widths[$0]) }.joined()) }
            out.flush()
        }
    }
}

/// `--period` and `--by`: the application's choices, named in the error.
enum ReportChoice {
    static func period(_ text: String) throws -> ReportPeriod.Kind {
        guard let k = ReportPeriod.Kind(rawValue: text) else { throw ValidationError("'\(text)' is not day, week or month") }
        return k
    }

    static func grouping(_ text: String) throws -> InsightGrouping {
        guard let g = InsightGrouping(rawValue: text) else { throw ValidationError("'\(text)' is not store or brand") }
        return g
    }
}

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Operators' reports: KPIs against targets, retention cohorts, early warnings (schemas/reports.md).",
        subcommands: [KPIs.self, Cohorts.self, Warnings.self, Segments.self, Categories.self])

    struct KPIs: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "kpis", abstract: "Enrollments vs targets, conversion, active members, repurchase rate, average spend and basket.")
        @OptionGroup var options: ReportOptions
        @Option(help: "Rows per store or brand (enrollments: the enrollment store; purchases: the purchase store; default store).",
                transform: ReportChoice.grouping)
        var by: InsightGrouping?
        @Option(help: "Conversion and quick repurchase window in days (0 to 36500).") var withinDays: Int64 = 30

        func validate() throws {
            guard (0...36_500).contains(withinDays) else { throw ValidationError("--within-days must be from 0 to 36500") }
        }

        func run() throws {
            let (app, asOf) = try options.open()
            defer { app.close() }
            var q = options.query
            (q.by, q.withinDays) = (by ?? .store, withinDays)
            let report = try app.kpis(q, asOf: asOf)
            options.emit(columns: report.columns, cells: report.cells, json: report.json)
        }
    }

    struct Categories: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "categories", abstract: "Spend and points by period, purchase store and purchase-line category.")
        @OptionGroup var options: ReportOptions

        func run() throws {
            let (app, asOf) = try options.open()
            defer { app.close() }
            let report = try app.categories(options.query, asOf: asOf)
            options.emit(columns: CategoryReport.columns, cells: report.cells, json: report.json)
        }
    }

    struct Cohorts: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cohorts", abstract: "Members by enrollment month; for each later month k, the share with a purchase in month k.")
        @OptionGroup var options: ReportOptions

        func run() throws {
            let (app, asOf) = try options.open()
            defer { app.close() }
            let report = try app.cohorts(options.query, asOf: asOf)
            options.emit(columns: report.columns, cells: report.cells, json: report.json)
        }
    }

    struct Warnings: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "warnings",
            abstract: "Members who went from active to defecting, or defecting to inactive, during a period; newest first.")
        @OptionGroup var options: ReportOptions
        @Option(name: .customLong("in"), help: "The period (YYYY-MM, YYYY-Www or YYYY-MM-DD; default: the --period holding --as-of).")
        var inPeriod: String?
        @Option(help: "Days after the first purchase a member counts as new.") var newDays: Int64 = 90
        @Option(help: "Days without a purchase after which an active member is defecting.") var defectingDays: Int64 = 90
        @Option(help: "Days without a purchase after which a member is inactive.") var inactiveDays: Int64 = 365

        func validate() throws {
            guard [newDays, defectingDays, inactiveDays].allSatisfy({ (0...3_650_000).contains($0) }), inactiveDays >= defectingDays else {
                throw ValidationError("--new-days, --defecting-days and --inactive-days must be from 0 to 3650000, and --inactive-days at least --defecting-days")
            }
            if let inPeriod, ReportPeriod(inPeriod) == nil {
                throw ValidationError("--in '\(inPeriod)' is not a period (YYYY-MM, YYYY-Www or YYYY-MM-DD)")
            }
        }

        func run() throws {
            let (app, asOf) = try options.open()
            defer { app.close() }
            var q = options.query
            q.thresholds = LifecycleThresholds(newDays: newDays, defectingDays: defectingDays, inactiveDays: inactiveDays)
            q.warningPeriod = inPeriod.flatMap(ReportPeriod.init)
            let report = try app.warnings(q, asOf: asOf)
            options.emit(columns: WarningReport.columns, cells: report.cells, json: report.json)
        }
    }

    struct Segments: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "segments",
            abstract: "Members by store, brand, tier, gender, age band, birthday month, purchase count, spend, recency and stage; ready-made segments.")
        @OptionGroup var options: ReportOptions
        @Option(help: "Lower bounds of the age bands in years, ascending (default 18,25,35,45,55,65).") var ageBands: String?
        @Option(help: "Lower bounds of the spend bands in minor units, ascending (default 10000,50000,100000,500000).") var spendBands: String?
        @Option(help: "Print the members of this ready-made segment instead (birthdaysNextMonth, dormantWithPointsExpiring, newWithoutSecondPurchase).")
        var list: String?

        static func bounds(_ text: String?, _ option: String, _ fallback: [Int64]) throws -> [Int64] {
            guard let text else { return fallback }
            let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { Int64($0) }
            guard !parts.isEmpty, parts.count <= 100, parts.allSatisfy({ $0 != nil && $0! >= 0 && $0! <= 1_000_000_000_000_000 }) else {
                throw ValidationError("\(option) '\(text)': comma-separated whole numbers from 0 to 10^18, at most 100")
            }
            let values = parts.compactMap { $0 }
            guard zip(values, values.dropFirst()).allSatisfy({ $0 < $1 }) else { throw ValidationError("\(option) '\(text)' must be ascending") }
            return values
        }

        func validate() throws {
            _ = try Self.bounds(ageBands, "--age-bands", SegmentReport.defaultAgeBands)
            _ = try Self.bounds(spendBands, "--spend-bands", SegmentReport.defaultSpendBands)
            if let list, !SegmentReport.segmentNames.contains(list) {
                throw ValidationError("--list '\(list)' is not a ready-made segment (\(SegmentReport.segmentNames.joined(separator: ", ")))")
            }
        }

        func run() throws {
            let (app, asOf) = try options.open()
            defer { app.close() }
            let report = try app.segments(options.query, asOf: asOf, ageBands: try Self.bounds(ageBands, "--age-bands", SegmentReport.defaultAgeBands),
                                          spendBands: try Self.bounds(spendBands, "--spend-bands", SegmentReport.defaultSpendBands))
            if let list, let json = report.list(list) {
                guard case .array(let members)? = json["members"] else { return }
                options.emit(columns: ["member"], cells: members.map { [plainText($0)] }, json: json)
            } else {
                options.emit(columns: SegmentReport.columns, cells: report.cells, json: report.json)
            }
        }
    }
}

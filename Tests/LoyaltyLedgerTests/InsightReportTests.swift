import Foundation
import LedgerJSON
import LedgerStore
import LedgerTestSupport
import Testing
@testable import LoyaltyDomain
@testable import LoyaltyLedger
@testable import Projections

/// The operators' reports (schemas/reports.md): a small hand-computed scenario per definition,
/// and a generated history through the real ledger checked against a deliberately simple
/// independent computation (Foundation's calendar for the periods, plain loops for the rest).
@Suite struct InsightReportTests {
    static let day = Timestamp.microsecondsPerDay
    static func t(_ text: String) -> Timestamp { Timestamp(rfc3339: text)! }
    static let zones = [ProgramFigures.Zone(effectiveAt: Timestamp(microseconds: 0), offsetSeconds: 8 * 3600)]

    static func member(_ enrolled: String, _ store: String, _ brand: String, _ purchases: [(String, String, Int64)],
                       returns: [(String, Int64)] = []) -> MemberActivity {
        var a = MemberActivity()
        (a.enrolledAt, a.store, a.brand) = (t(enrolled), store, brand)
        for (at, s, amount) in purchases {
            if !a.stores.contains(s) { a.stores.append(s) }
            a.purchases.append(.init(at: t(at), amount: amount, store: a.stores.firstIndex(of: s) ?? 0))
        }
        a.returns = returns.map { .init(at: t($0.0), amount: $0.1) }
        return a
    }

    /// A: converts, buys at two stores; B: enrolled 01:00 local on 1 February (still January in
    /// UTC), first purchase 37 days later; C: never buys; D: two purchases at S1 in January.
    static let scenario = InsightData(members: [
        ("A", member("2026-01-10T02:00:00Z", "S1", "b1", [("2026-01-15T00:00:00Z", "S1", 1000), ("2026-01-20T00:00:00Z", "S2", 500),
                                                         ("2026-03-05T00:00:00Z", "S1", 2000)])),
        ("B", member("2026-01-31T17:00:00Z", "S1", "b1", [("2026-03-10T00:00:00Z", "S1", 300)])),
        ("C", member("2026-01-05T00:00:00Z", "S2", "b2", [])),
        ("D", member("2026-01-20T00:00:00Z", "S1", "b2", [("2026-01-25T00:00:00Z", "S1", 700), ("2026-01-26T00:00:00Z", "S1", 300)])),
    ], targets: [.init(store: "S1", period: "2026-01", metric: "enrollments", value: 4),
                 .init(store: "S3", period: "2026-02", metric: "enrollments", value: 10),
                 .init(store: "S1", period: "2026-W05", metric: "enrollments", value: 7)], zones: zones)

    static func rows(_ r: KPIReport) -> [String] { r.cells.map { $0.joined(separator: " ") } }

    @Test func kpisOfTheHandComputedScenario() {
        var q = InsightQuery()
        q.period = .month
        let report = Self.scenario.kpis(q, asOf: Self.t("2026-03-31T00:00:00Z"))
        // period store enrollments target reached converted conversion active repeat rate quick purchases spend avgSpend avgBasket
        #expect(Self.rows(report) == [
            "2026-01 S1 2 4 0.5000 2 1.0000 2 1 0.5000 1.0000 3 2000 1000 666",
            "2026-01 S2 1   0 0.0000 1 0 0.0000 1.0000 1 500 500 500",
            "2026-02 S1 1   0 0.0000 0 0   0 0  ",
            "2026-02 S3 0 10 0.0000 0  0 0   0 0  ",
            "2026-03 S1 0   0  2 0 0.0000 0.5000 2 2300 1150 1150",
        ])
        // As of 22 January: D's purchases have not happened, so D has not converted yet; A's second
        // purchase (20 January, at S2) came within 30 days of the first.
        let early = Self.scenario.kpis(q, asOf: Self.t("2026-01-22T00:00:00Z"))
        #expect(Self.rows(early).first == "2026-01 S1 2 4 0.5000 1 0.5000 1 0 0.0000 1.0000 1 1000 1000 1000")
        // By brand: no targets; members counted by their brand (A's purchases at S1 and S2 both count for b1).
        q.by = .brand
        let brands = Self.scenario.kpis(q, asOf: Self.t("2026-03-31T00:00:00Z"))
        #expect(Self.rows(brands).prefix(2) == ["2026-01 b1 1   1 1.0000 1 1 1.0000 1.0000 2 1500 1500 750",
                                                "2026-01 b2 2   1 0.5000 1 1 1.0000 1.0000 2 1000 1000 500"])
        // A conversion window of 4 days converts nobody (both first purchases came 5 days after).
        q.by = .store
        q.withinDays = 4
        #expect(Self.scenario.kpis(q, asOf: Self.t("2026-03-31T00:00:00Z")).rows.first?.converted == 0)
        // Weeks: the week target applies to weekly rows only.
        q.period = .week
        let weeks = Self.scenario.kpis(q, asOf: Self.t("2026-03-31T00:00:00Z"))
        #expect(weeks.rows.first { $0.period.description == "2026-W05" && $0.key == "S1" }?.enrollmentTarget == 7)
        #expect(weeks.rows.allSatisfy { $0.period.kind == .week })
        // The JSON's field names.
        (q.period, q.withinDays) = (.month, 30)
        let json = Self.scenario.kpis(q, asOf: Self.t("2026-03-31T00:00:00Z")).json
        guard case .array(let list)? = json["rows"], let first = list.first else { Issue.record("no rows"); return }
        #expect(first["period"] == .string("2026-01") && first["store"] == .string("S1") && first["enrollmentTarget"] == .int(4))
        #expect(first["conversion"] == .string("1.0000") && first["repurchaseRate"] == .string("0.5000") && first["averageSpend"] == .integer("1000"))
        #expect(list[2]["repurchaseRate"] == .null && list[2]["enrollmentTarget"] == .null && list[2]["averageSpend"] == .null)
    }

    @Test func sharesAreFourPlacesRoundedHalfUp() {
        #expect(Share(2, of: 3).text == "0.6667" && Share(1, of: 3).text == "0.3333" && Share(1, of: 1).text == "1.0000")
        #expect(Share(0, of: 5).text == "0.0000" && Share(1, of: 0).text == nil && Share(1, of: 20_000).text == "0.0001")
        #expect(Share(1, of: 40_000).text == "0.0000" && Share(3, of: 80_000).text == "0.0000" && Share(1, of: 2 * 10_000 - 1).text == "0.0001")
        #expect(Share(Int64.max, of: Int64.max).text == "1.0000" && Share(Int64.max, of: 1).text == "\(Int64.max).0000")
    }

    @Test func cohortsOfTheHandComputedScenario() {
        let report = Self.scenario.cohorts(InsightQuery(), asOf: Self.t("2026-03-31T00:00:00Z"))
        #expect(report.cells == [["2026-01", "3", "0.0000", "0.3333"], ["2026-02", "1", "1.0000", ""]])
        #expect(report.rows.map(\.retained) == [[0, 1], [1]])
        var q = InsightQuery()
        q.brand = "b2"
        #expect(Self.scenario.cohorts(q, asOf: Self.t("2026-03-31T00:00:00Z")).cells == [["2026-01", "2", "0.0000", "0.0000"]])
    }

    /// A goes active -> defecting on 3 June; E defecting -> inactive on 1 June; B goes new ->
    /// defecting (not a warning); D stays defecting.
    @Test func warningsOfTheHandComputedScenario() {
        var members = Self.scenario.members
        members.append(("E", Self.member("2025-01-01T00:00:00Z", "S4", "b3", [("2025-01-02T00:00:00Z", "S4", 100), ("2025-06-01T00:00:00Z", "S4", 200)],
                                         returns: [("2025-06-02T00:00:00Z", 50)])))
        let data = InsightData(members: members, targets: [], zones: Self.zones)
        var q = InsightQuery()
        q.warningPeriod = ReportPeriod("2026-06")
        let june = data.warnings(q, asOf: Self.t("2026-07-15T00:00:00Z"))
        #expect(june.before.rfc3339 == "2026-05-31T15:59:59.999999Z" && june.at.rfc3339 == "2026-06-30T15:59:59.999999Z")
        #expect(june.cells == [
            ["A", "S1", "b1", "active", "defecting", "2026-06-03T00:00:00.000001Z", "2026-03-05T00:00:00Z", "3500", "0", "0"],
            ["E", "S4", "b3", "defecting", "inactive", "2026-06-01T00:00:00.000001Z", "2025-06-01T00:00:00Z", "250", "0", "0"],
        ])
        // As of 2 June, A is still active.
        #expect(data.warnings(q, asOf: Self.t("2026-06-02T00:00:00Z")).rows.map(\.member) == ["E"])
        // A period after the as-of time has no warnings.
        #expect(data.warnings(q, asOf: Self.t("2026-05-01T00:00:00Z")).rows.isEmpty)
        // Longer thresholds move A's change out of June.
        q.thresholds = LifecycleThresholds(newDays: 90, defectingDays: 120, inactiveDays: 365)
        #expect(data.warnings(q, asOf: Self.t("2026-07-15T00:00:00Z")).rows.map(\.member) == ["E"])
    }

    /// As of 2026-05-01 (local 08:00): A active (3 purchases, last 57 days ago), B new with one
    /// purchase, C a lead, D defecting with points expiring; birthdays in June for B and C.
    @Test func segmentsOfTheHandComputedScenario() {
        let people = [
            SegmentMember(member: "A", activity: Self.scenario.members[0].activity, tier: "gold", gender: "female", birthDate: "1990-05-01",
                          pointsExpiringIn30Days: 0),
            SegmentMember(member: "B", activity: Self.scenario.members[1].activity, tier: nil, gender: nil, birthDate: "2010-06-01",
                          pointsExpiringIn30Days: 5),
            SegmentMember(member: "C", activity: Self.scenario.members[2].activity, tier: nil, gender: "male", birthDate: "1966-06-15",
                          pointsExpiringIn30Days: 0),
            SegmentMember(member: "D", activity: Self.scenario.members[3].activity, tier: nil, gender: nil, birthDate: nil,
                          pointsExpiringIn30Days: 7),
        ]
        let report = Self.scenario.segments(people, InsightQuery(), asOf: Self.t("2026-05-01T00:00:00Z"))
        func counts(_ name: String) -> [String] {
            report.dimensions.first { $0.name == name }?.counts.map { "\($0.value)=\($0.members)" } ?? []
        }
        #expect(counts("store") == ["S1=3", "S2=1"])
        #expect(counts("tier") == ["gold=1", "none=3"])
        #expect(counts("gender") == ["female=1", "male=1", "unknown=2"])
        // A turns 36 on the day; B is 15; C is 59.
        #expect(counts("ageBand") == ["<18=1", "35-44=1", "55-64=1", "unknown=1"])
        #expect(counts("birthdayMonth") == ["05=1", "06=2", "unknown=1"])
        #expect(counts("purchaseCountBand") == ["0=1", "1=1", "2-4=2"])
        // A 3500, B 300, C 0, D 1000 (minor units).
        #expect(counts("spendBand") == ["<10000=4"])
        // A: 57 days; B: 52 days; D: 95 days (last purchase 26 January).
        #expect(counts("recency") == ["none=1", "31-90=2", "91-180=1"])
        #expect(counts("stage") == ["lead=1", "new=1", "active=1", "defecting=1"])
        #expect(report.segments.map { "\($0.name)=\($0.members.joined(separator: "+"))" }
            == ["birthdaysNextMonth=B+C", "dormantWithPointsExpiring=D", "newWithoutSecondPurchase=B"])
        var q = InsightQuery()
        q.brand = "b2"
        #expect(Self.scenario.segments(people, q, asOf: Self.t("2026-05-01T00:00:00Z")).cells.first == ["store", "S1", "1"])
        #expect(InsightData.band(5, [18, 25]) == "<18" && InsightData.band(25, [18, 25]) == "25+" && InsightData.band(24, [18, 25]) == "18-24")
    }

    /// Each report's JSON has exactly the fields its schema (schemas/reports/) names, top level
    /// and rows.
    @Test func reportJSONHasTheFieldsOfItsSchema() throws {
        func properties(_ file: String, rows: Bool) throws -> Set<String> {
            let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("schemas/reports/\(file).schema.json")
            var schema = try JSONCanonical.parse(String(decoding: try Data(contentsOf: url), as: UTF8.self))
            if rows { schema = schema["properties"]?["rows"]?["items"] ?? .null }
            guard case .object(let props)? = schema["properties"] else { return [] }
            return Set(props.map(\.key))
        }
        func keys(_ v: JSONValue?) -> Set<String> {
            guard case .object(let members)? = v else { return [] }
            return Set(members.map(\.key))
        }
        func firstRow(_ v: JSONValue) -> JSONValue? {
            guard case .array(let rows)? = v["rows"] else { return nil }
            return rows.first
        }
        let asOf = Self.t("2026-07-15T00:00:00Z")
        var q = InsightQuery()
        let kpis = Self.scenario.kpis(q, asOf: asOf).json
        #expect(keys(kpis) == (try properties("kpis", rows: false)))
        #expect(keys(firstRow(kpis)).union(["brand"]) == (try properties("kpis", rows: true)))
        let cohorts = Self.scenario.cohorts(q, asOf: asOf).json
        let (cohortTop, cohortRow) = (try properties("cohorts", rows: false), try properties("cohorts", rows: true))
        #expect(keys(cohorts) == cohortTop && keys(firstRow(cohorts)) == cohortRow)
        q.warningPeriod = ReportPeriod("2026-06")
        let warnings = Self.scenario.warnings(q, asOf: asOf).json
        let (warningTop, warningRow) = (try properties("warnings", rows: false), try properties("warnings", rows: true))
        #expect(keys(warnings) == warningTop && keys(firstRow(warnings)) == warningRow)
        #expect(keys(Self.scenario.segments([], q, asOf: asOf).json) == (try properties("segments", rows: false)))
        let categories = Self.scenario.categories(InsightQuery(), asOf: asOf).json
        let (categoryTop, categoryRow) = (try properties("categories", rows: false), try properties("categories", rows: true))
        #expect(keys(categories) == categoryTop && keys(firstRow(categories)) == categoryRow)
    }

    /// 10 points on 10.00 with lines food 6.00 and toys 3.00: 6 and 3 points, the rest (1.00, 1
    /// point) to "(none)"; a purchase without lines goes to "(none)" whole.
    @Test func categoriesOfAHandComputedScenario() {
        var a = MemberActivity()
        (a.enrolledAt, a.store, a.brand, a.stores) = (Self.t("2026-01-01T00:00:00Z"), "S1", "b1", ["S1"])
        a.purchases = [.init(at: Self.t("2026-01-05T00:00:00Z"), amount: 1000, store: 0, id: "P1", lines: [("food", 600), ("toys", 300)], points: 10),
                       .init(at: Self.t("2026-01-06T00:00:00Z"), amount: 500, store: 0, id: "P2", points: 5),
                       .init(at: Self.t("2026-02-06T00:00:00Z"), amount: 700, store: 0, id: "P3", lines: [("food", 700)], points: 7)]
        let data = InsightData(members: [("A", a)], targets: [], zones: Self.zones)
        #expect(data.categories(InsightQuery(), asOf: Self.t("2026-12-01T00:00:00Z")).cells == [
            ["2026-01", "S1", "(none)", "2", "600", "6"], ["2026-01", "S1", "food", "1", "600", "6"], ["2026-01", "S1", "toys", "1", "300", "3"],
            ["2026-02", "S1", "food", "1", "700", "7"],
        ])
        #expect(data.categories(InsightQuery(), asOf: Self.t("2026-01-05T12:00:00Z")).rows.count == 3)
    }

    // MARK: A generated history against an independent computation

    struct Independent {
        var enrolled: [String: (at: Int64, store: String, brand: String)] = [:]
        var purchases: [String: [(at: Int64, store: String, amount: Int64)]] = [:]
        var returns: [String: [(at: Int64, amount: Int64)]] = [:]
        var targets: [String: Int64] = [:]  // "store|period" -> value, the last one written
        let calendar: Calendar = {
            var c = Calendar(identifier: .iso8601)
            c.timeZone = TimeZone(secondsFromGMT: 8 * 3600)!
            return c
        }()

        func text(_ micros: Int64, _ kind: ReportPeriod.Kind) -> String {
            let c = calendar.dateComponents([.year, .month, .day, .yearForWeekOfYear, .weekOfYear],
                                            from: Date(timeIntervalSince1970: Double(micros.floorDivided(by: 1_000_000).quotient)))
            switch kind {
            case .day: return String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!)
            case .week: return String(format: "%04d-W%02d", c.yearForWeekOfYear!, c.weekOfYear!)
            case .month: return String(format: "%04d-%02d", c.year!, c.month!)
            }
        }

        func monthNumber(_ micros: Int64) -> Int {
            let c = calendar.dateComponents([.year, .month], from: Date(timeIntervalSince1970: Double(micros.floorDivided(by: 1_000_000).quotient)))
            return c.year! * 12 + c.month!
        }

        static func share(_ part: Int, _ whole: Int) -> String {
            guard whole > 0 else { return "" }
            var q = part * 10_000 / whole
            if (part * 10_000 % whole) * 2 >= whole { q += 1 }
            return String(format: "%d.%04d", q / 10_000, q % 10_000)
        }

        /// The KPI rows as text, as `KPIReport.cells` writes them, keyed by period and store/brand.
        func kpis(_ kind: ReportPeriod.Kind, byStore: Bool, asOf: Int64, window: Int64) -> [String: [String]] {
            struct Acc { var enr = 0, conv = 0, purchases = 0, spend: Int64 = 0; var counts: [String: Int] = [:]; var target: Int64? }
            var acc: [String: Acc] = [:]
            func key(_ p: String, _ k: String) -> String { p + " " + k }
            for (m, e) in enrolled where e.at <= asOf {
                let mine = (purchases[m] ?? []).filter { $0.at <= asOf }
                let k = key(text(e.at, kind), byStore ? e.store : e.brand)
                acc[k, default: Acc()].enr += 1
                if let first = mine.map(\.at).min(), first - e.at <= window * 86_400_000_000 { acc[k, default: Acc()].conv += 1 }
                for p in mine {
                    let k = key(text(p.at, kind), byStore ? p.store : e.brand)
                    acc[k, default: Acc()].purchases += 1
                    acc[k, default: Acc()].spend += p.amount
                    acc[k, default: Acc()].counts[m, default: 0] += 1
                }
            }
            if byStore {
                for (sp, v) in targets {
                    let parts = sp.split(separator: "|").map(String.init)
                    guard ReportPeriod(parts[1])?.kind == kind else { continue }
                    acc[key(parts[1], parts[0]), default: Acc()].target = v
                }
            }
            var out: [String: [String]] = [:]
            for (k, a) in acc {
                let parts = k.split(separator: " ").map(String.init)
                let active = a.counts.count
                let repeats = a.counts.values.filter { $0 >= 2 }.count
                let quick = a.counts.keys.filter { m in
                    let times = (purchases[m] ?? []).filter { $0.at <= asOf }.map(\.at).sorted()
                    return times.count >= 2 && times[1] - times[0] <= window * 86_400_000_000
                }.count
                out[k] = [parts[0], parts[1], "\(a.enr)", a.target.map { "\($0)" } ?? "", a.target.map { Self.share(a.enr, Int($0)) } ?? "",
                          "\(a.conv)", Self.share(a.conv, a.enr), "\(active)", "\(repeats)", Self.share(repeats, active),
                          Self.share(quick, active), "\(a.purchases)", "\(a.spend)", active > 0 ? "\(a.spend / Int64(active))" : "",
                          a.purchases > 0 ? "\(a.spend / Int64(a.purchases))" : ""]
            }
            return out
        }

        func cohorts(asOf: Int64) -> [[String]] {
            var groups: [String: [String]] = [:]
            for (m, e) in enrolled where e.at <= asOf { groups[text(e.at, .month), default: []].append(m) }
            return groups.keys.sorted().map { cohort in
                let members = groups[cohort]!
                let base = monthNumber(enrolled[members[0]]!.at)
                let offsets = monthNumber(asOf) - base
                return [cohort, "\(members.count)"] + (0 ..< offsets).map { k in
                    let n = members.filter { m in (purchases[m] ?? []).contains { $0.at <= asOf && monthNumber($0.at) - base == k + 1 } }.count
                    return Self.share(n, members.count)
                }
            }
        }

        func stage(_ m: String, at t: Int64) -> String {
            let mine = (purchases[m] ?? []).filter { $0.at <= t }.map(\.at)
            guard let first = mine.min(), let last = mine.max() else { return "lead" }
            let d: Int64 = 86_400_000_000
            if t - first <= 90 * d { return "new" }
            if t - last <= 90 * d { return "active" }
            if t - last <= 365 * d { return "defecting" }
            return "inactive"
        }

        /// Warnings of the local month `month` ("2026-03") as of `asOf`: member, from, to, last purchase, spend.
        func warnings(month: String, asOf: Int64) -> [[String]] {
            let parts = month.split(separator: "-").map { Int($0)! }
            let start = calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: 1))!
            let next = calendar.date(byAdding: .month, value: 1, to: start)!
            let before = Int64(start.timeIntervalSince1970) * 1_000_000 - 1
            let at = min(Int64(next.timeIntervalSince1970) * 1_000_000 - 1, asOf)
            guard at > before else { return [] }
            var rows: [(Int64, [String])] = []
            for (m, e) in enrolled.sorted(by: { $0.key < $1.key }) where e.at <= at {
                let (was, now) = (stage(m, at: before), stage(m, at: at))
                guard (was, now) == ("active", "defecting") || (was, now) == ("defecting", "inactive") else { continue }
                let last = (purchases[m] ?? []).filter { $0.at <= at }.map(\.at).max()!
                let changed = last + (now == "defecting" ? 90 : 365) * 86_400_000_000 + 1
                let spend = (purchases[m] ?? []).filter { $0.at <= at }.reduce(0) { $0 + $1.amount }
                    - (returns[m] ?? []).filter { $0.at <= at }.reduce(0) { $0 + $1.amount }
                rows.append((changed, [m, was, now, Timestamp(microseconds: last).rfc3339, "\(spend)"]))
            }
            // Newest first; `sorted` by member above keeps ties in member order (a stable sort).
            return rows.enumerated().sorted { $0.element.0 != $1.element.0 ? $0.element.0 > $1.element.0 : $0.offset < $1.offset }.map(\.element.1)
        }
    }

    /// 60 members at three stores and two brands over two years, with purchases, returns and
    /// targets, through the real ledger (time zone +08:00); every report equals the independent one.
    @Test(.timeLimit(.minutes(2)))
    func reportsOfAGeneratedHistoryEqualAnIndependentComputation() async throws {
        let dir = TemporaryDirectory()
        let app = try LedgerApplication.open(path: dir.ledger, options: ApplicationOptions(writable: true, create: true))
        defer { app.close() }
        let (rules, _) = try LedgerApplication.defaultRules(currency: "CNY", zone: "+08:00")
        try await app.ledger.execute(.publishProgram(rules, at: LedgerApplication.defaultRulesEffectiveAt))
        var rng = SplitMix64(seed: 17)
        func below(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
        let start = Self.t("2025-01-01T00:00:00Z").microseconds, end = Self.t("2026-11-30T00:00:00Z").microseconds
        var commands: [Command] = []
        for i in 0 ..< 60 {
            let m = "M\(i)"
            let enrolled = start + Int64(below(Int((end - start) / 1_000_000))) * 1_000_000
            commands.append(.enroll(member: m, store: "S\(below(3))", brand: "b\(below(2))", channel: "store", birthDate: nil, gender: nil,
                                    profile: [:], at: Timestamp(microseconds: enrolled)))
            var at = enrolled
            for j in 0 ..< below(9) {
                at += Int64(below(120 * 24)) * 3_600_000_000 + 1
                guard at < end else { break }
                let id = "P\(i)-\(j)"
                let lines: [(category: String, amount: String)] = below(2) == 0 ? [] : [("food", "1.00"), ("toys", "0.0\(1 + below(9))")]
                commands.append(.purchase(.init(member: m, purchaseId: id, amount: "\(1 + below(200)).\(10 + below(90))", store: "S\(below(3))",
                                                lines: lines, at: Timestamp(microseconds: at))))
                if below(5) == 0 {
                    commands.append(.returnPurchase(purchaseId: id, returnId: "R\(i)-\(j)", amount: "1.00", at: Timestamp(microseconds: at + 3_600_000_000)))
                }
            }
        }
        for (store, period, value) in [("S0", "2026-01", 5), ("S1", "2026-01", 3), ("S0", "2026-01", 2), ("S2", "2025-W10", 1), ("S1", "2030-12", 9)] {
            commands.append(.setTarget(.init(store: store, period: period, metric: "enrollments", value: Int64(value)), at: Self.t("2026-11-30T00:00:00Z")))
        }
        for c in commands.sorted(by: { $0.at < $1.at }) { try await app.ledger.execute(c) }
        _ = try app.catchUp()

        // The independent side reads the log's events.
        var ind = Independent()
        var purchaseCells: [String: String] = [:]  // purchase id -> "month store"
        var totals: [String: [Int64]] = [:]  // "month store" -> [spend, points]
        var lineSpend: [String: Int64] = [:]  // category -> spend
        var position: UInt64 = 0
        while true {
            let batch = try app.log.events(after: position, limit: 1000)
            guard let last = batch.last else { break }
            position = last.position
            for e in batch where DomainEvent.isDomainType(e.type) {
                switch try DomainEvent.decode(type: e.type, schemaVersion: e.schemaVersion, bytes: e.data) {
                case .memberEnrolled(let x): ind.enrolled[x.member] = (e.occurredAt, x.store, x.brand)
                case .purchaseRecorded(let x):
                    ind.purchases[x.member, default: []].append((e.occurredAt, x.store, x.amount))
                    let cell = ind.text(e.occurredAt, .month) + " " + x.store
                    purchaseCells[x.purchaseId] = cell
                    totals[cell, default: [0, 0]][0] += x.amount
                    for line in x.lines { lineSpend[line.category, default: 0] += line.amount }
                case .pointsEarned(let x):
                    if case .purchase(let id) = x.source, let cell = purchaseCells[id] { totals[cell, default: [0, 0]][1] += x.points }
                case .purchaseReturned(let x): ind.returns[x.member, default: []].append((e.occurredAt, x.amount))
                case .targetSet(let x): ind.targets[x.store + "|" + x.period] = x.value
                default: break
                }
            }
        }
        #expect(ind.targets["S0|2026-01"] == 2, "the later target replaced the earlier")

        for asOf in ["2026-11-30T00:00:00Z", "2025-09-15T12:00:00Z"].map(Self.t) {
            for (kind, byStore) in [(ReportPeriod.Kind.month, true), (.week, false), (.day, true), (.month, false)] {
                var q = InsightQuery()
                (q.period, q.by, q.withinDays) = (kind, byStore ? .store : .brand, 30)
                let report = try app.kpis(q, asOf: asOf)
                let expected = ind.kpis(kind, byStore: byStore, asOf: asOf.microseconds, window: 30)
                #expect(report.rows.count == expected.count, "\(kind) \(byStore) as of \(asOf)")
                for cells in report.cells {
                    #expect(expected[cells[0] + " " + cells[1]] == cells, "\(kind) \(byStore) as of \(asOf): \(cells)")
                }
            }
            #expect(try app.cohorts(InsightQuery(), asOf: asOf).cells.map { row in
                Array(row.prefix { !$0.isEmpty })
            } == ind.cohorts(asOf: asOf.microseconds))
        }
        var reported: [String: [Int64]] = [:]
        var reportedLines: [String: Int64] = [:]
        for r in try app.categories(InsightQuery(), asOf: Self.t("2026-11-30T00:00:00Z")).rows {
            reported[r.period.description + " " + r.store, default: [0, 0]][0] += Int64(r.spend)
            reported[r.period.description + " " + r.store, default: [0, 0]][1] += Int64(r.points)
            if r.category != CategoryReport.noCategory { reportedLines[r.category, default: 0] += Int64(r.spend) }
        }
        #expect(reported == totals, "categories add up to the purchases' spend and points per month and store")
        #expect(reportedLines == lineSpend && !lineSpend.isEmpty)
        var warned = 0
        for month in (0 ..< 23).map({ String(format: "%04d-%02d", 2025 + $0 / 12, $0 % 12 + 1) }) {
            var q = InsightQuery()
            q.warningPeriod = ReportPeriod(month)
            let report = try app.warnings(q, asOf: Self.t("2026-11-30T00:00:00Z"))
            let mine = report.rows.map { [$0.member, $0.from, $0.to, $0.lastPurchaseAt.rfc3339, String($0.spend)] }
            #expect(mine == ind.warnings(month: month, asOf: Self.t("2026-11-30T00:00:00Z").microseconds), "\(month)")
            warned += mine.count
        }
        #expect(warned > 5, "the history has warnings to compare (\(warned))")
        // The projection is deterministic, like the others.
        let d = try app.projections().checkDeterminism(MemberActivities.name)
        #expect(d.live == d.rebuilt)
    }
}

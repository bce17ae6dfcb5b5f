public import Projections
public import LoyaltyDomain

/// How `figures` groups its rows.
public enum FiguresGrouping: String, Sendable, CaseIterable {
    case day, store, dayStore = "day-store", none
}

/// What `figures` selects: local dates (`YYYY-MM-DD`, in the program's time zone, inclusive),
/// one store, a grouping.
public struct FiguresQuery: Sendable {
    public var from: String?
    public var to: String?
    public var store: String?
    public var grouping = FiguresGrouping.day

    public init(from: String? = nil, to: String? = nil, store: String? = nil, grouping: FiguresGrouping = .day) {
        (self.from, self.to, self.store, self.grouping) = (from, to, store, grouping)
    }
}

/// One row of program figures: the stored flows and the time-dependent ones, in Int128 (no sum
/// of 64-bit figures over days and stores overflows it).
public struct FiguresRow: Sendable, Equatable {
    /// In `ProgramFigures.Figures.fieldNames` order.
    public var fields = Array(repeating: Int128(0), count: ProgramFigures.Figures.fieldNames.count)
    /// What of the row's lots is not yet available at the evaluation time.
    public var pending: Int128 = 0

    /// Every column: the stored fields, then `pointsPending` and `netPoints`.
    public static let columns = ProgramFigures.Figures.fieldNames + ["pointsPending", "netPoints"]

    mutating func add(_ f: ProgramFigures.Figures) { for (i, v) in f.fields.enumerated() { fields[i] += Int128(v) } }
    mutating func add(_ c: FiguresAtTime.Cell) {
        pending += c.pending
        fields[Self.expired] += c.lapsed
    }
    mutating func add(_ r: FiguresRow) {
        for i in fields.indices { fields[i] += r.fields[i] }
        pending += r.pending
    }

    static let index = Dictionary(uniqueKeysWithValues: ProgramFigures.Figures.fieldNames.enumerated().map { ($1, $0) })
    static let expired = index["pointsExpired"] ?? 0

    /// One field by name (0 for a name that is not a column).
    public subscript(name: String) -> Int128 { Self.index[name].map { fields[$0] } ?? 0 }

    /// issued + transferred in + adjusted - redeemed - expired - clawed back - transferred out.
    public var net: Int128 {
        self["pointsIssued"] + self["pointsTransferredIn"] + self["pointsAdjusted"] - self["pointsRedeemed"] - self["pointsExpired"]
            - self["pointsClawedBack"] - self["pointsTransferredOut"]
    }

    /// In `columns` order.
    public var values: [Int128] { fields + [pending, net] }
}

/// The program figures at a time: rows per group, their total, what is outstanding, rewards.
public struct FiguresReport: Sendable {
    public var grouping: FiguresGrouping
    /// Sorted by key (a local date, a store id, "date store", or "" for `none`: then empty).
    public var rows: [(key: String, figures: FiguresRow)]
    public var total: FiguresRow
    /// Points outstanding now, over every member.
    public var available: Int128, pending: Int128, held: Int128, debt: Int128
    public var members: Int
    public var rewards: [(reward: String, figures: ProgramFigures.RewardFigures)]

    /// available + pending + held: what the program owes its members.
    public var liabilityPoints: Int128 { available + pending + held }
}

extension LedgerApplication {
    /// Program figures per local day and store, evaluated at `at` (pending and expired points
    /// depend on it): see `loyalty figures --help` for what each column counts.
    public func figures(_ query: FiguresQuery, at: Timestamp) throws -> FiguresReport {
        try refuseIfStopped([ProgramFigures.name, Balances.name], member: nil)
        let projections = try projections()
        let timed = try FiguresAtTime.evaluate(projections, at: at)
        // The projection's keys: `day/<local date>/<store key>`, `name/<store key>` (the full id
        // of a store whose key holds its hash, `ProjectionKey`), `reward/<reward key>`.
        var names: [String: String] = [:]
        try projections.store.forEach(ProgramFigures.self, prefix: "name/") { key, value in
            if case .text(let s) = value { names[String(key.dropFirst("name/".count))] = s }
        }
        var cells: [String: FiguresRow] = [:]
        try projections.store.forEach(ProgramFigures.self, prefix: "day/") { key, value in
            if case .figures(let f) = value { cells[key, default: FiguresRow()].add(f) }
        }
        for (key, c) in timed.cells { cells[key, default: FiguresRow()].add(c) }
        var rows: [String: FiguresRow] = [:]
        var selected = FiguresRow()
        let storeKey = query.store.map(ProjectionKey.component)
        for (key, row) in cells {
            let parts = key.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            let (day, sk) = (String(parts[1]), String(parts[2]))
            if let from = query.from, day < from { continue }
            if let to = query.to, day > to { continue }
            if let storeKey, sk != storeKey { continue }
            let store = names[sk] ?? sk
            switch query.grouping {
            case .day: rows[day, default: FiguresRow()].add(row)
            case .store: rows[store, default: FiguresRow()].add(row)
            case .dayStore: rows[day + " " + store, default: FiguresRow()].add(row)
            case .none: break
            }
            selected.add(row)
        }
        var rewards: [(String, ProgramFigures.RewardFigures)] = []
        try projections.store.forEach(ProgramFigures.self, prefix: "reward/") { key, value in
            let id = String(key.dropFirst("reward/".count))
            if case .reward(let r) = value { rewards.append((names[id] ?? id, r)) }
        }
        return FiguresReport(grouping: query.grouping, rows: rows.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, total: selected,
                             available: timed.available, pending: timed.pending, held: timed.held, debt: timed.debt,
                             members: timed.members, rewards: rewards)
    }
}

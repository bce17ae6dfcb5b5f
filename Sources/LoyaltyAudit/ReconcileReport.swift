public import LoyaltyDomain
public import LedgerJSON

/// A figure the log and the balance source disagree on. `expected` is the independent fold of
/// the log; `found` is the source's (nil: the member is missing on that side).
public struct Mismatch: Sendable, Hashable {
    public var member: String
    public var field: String
    public var expected: Points?
    public var found: Points?
}

/// A side whose figures break `earned + transferredIn + adjusted - redeemed - expired - clawedBack
/// - transferredOut = available + pending + held - debt`.
public struct IdentityFailure: Sendable, Hashable {
    /// A member id, or `*` for the program-wide totals.
    public var member: String
    /// `log` (the independent fold) or `source`.
    public var side: String
    public var credits: Int128
    public var holdings: Int128
}

/// What `loyalty reconcile` found. JSON fields: schemas/audit.md.
public struct ReconcileReport: Sendable {
    public var headPosition: UInt64 = 0
    public var headHash = ""
    public var evaluatedAt: Timestamp
    public var eventsFolded = 0
    public var membersChecked = 0
    public var mismatches: [Mismatch] = []
    public var identityFailures: [IdentityFailure] = []
    /// Impossible events in the log (debits from unknown lots, undecodable domain events).
    public var faults: [String] = []
    /// Neutralised positions through the head reconciled, each with the position of its
    /// correcting event: every fold (this one too) skipped them.
    public var neutralisations: [(position: UInt64, by: UInt64)] = []
    /// Program-wide totals of the fold (the liability is `totals.holdings`).
    public var totals = FigureTotals()
    public var liabilityByStore: [String: Int128] = [:]
    public var liabilityByBrand: [String: Int128] = [:]

    public var matched: Bool { mismatches.isEmpty && identityFailures.isEmpty && faults.isEmpty }

    /// The members named by any mismatch or identity failure, sorted.
    public var membersInError: [String] {
        Set(mismatches.map(\.member) + identityFailures.map(\.member).filter { $0 != "*" }).sorted()
    }
}

extension Reconciler {
    func compare(_ fold: [String: SimpleFold.Member], source: any BalanceSource) throws -> ReconcileReport {
        var r = ReconcileReport(evaluatedAt: evaluatedAt)
        let names = Set(fold.keys).union(try source.allMembers()).sorted()
        var sourceTotals = FigureTotals()
        for m in names {
            var expected: MemberFigures?
            do {
                expected = try fold[m].map { try $0.figures(at: evaluatedAt) }
            } catch {
                r.faults.append("member \(m): \(error)")
            }
            let found = try source.figures(member: m, at: evaluatedAt)
            r.membersChecked += 1
            if let f = fold[m] { r.faults += f.faults.map { "member \(m): \($0)" } }
            switch (expected, found) {
            case let (e?, f?):
                for (a, b) in zip(e.fields, f.fields) where a.value != b.value {
                    r.mismatches.append(Mismatch(member: m, field: a.name, expected: a.value, found: b.value))
                }
            case (nil, _?) where fold[m] == nil: r.mismatches.append(Mismatch(member: m, field: "member", expected: nil, found: 1))
            case (nil, _?): break
            case (_?, nil): r.mismatches.append(Mismatch(member: m, field: "member", expected: 1, found: nil))
            case (nil, nil): break
            }
            for (side, figures) in [("log", expected), ("source", found)] {
                guard let figures, figures.credits != figures.holdings else { continue }
                r.identityFailures.append(IdentityFailure(member: m, side: side, credits: figures.credits, holdings: figures.holdings))
            }
            if let e = expected, let f = fold[m] {
                r.totals = r.totals + e
                r.liabilityByStore[f.store, default: 0] += e.holdings
                r.liabilityByBrand[f.brand, default: 0] += e.holdings
            }
            if let found { sourceTotals = sourceTotals + found }
        }
        for (side, t) in [("log", r.totals), ("source", sourceTotals)] where t.credits != t.holdings {
            r.identityFailures.append(IdentityFailure(member: "*", side: side, credits: t.credits, holdings: t.holdings))
        }
        return r
    }
}

extension ReconcileReport {
    public var json: JSONValue {
        .object([
            "matched": .bool(matched), "headPosition": .int(Int64(headPosition)), "headHash": .string(headHash),
            "evaluatedAt": .string(evaluatedAt.rfc3339), "eventsFolded": .int(eventsFolded), "membersChecked": .int(membersChecked),
            "liability": .object([
                "available": .wide(totals.available), "pending": .wide(totals.pending), "held": .wide(totals.held),
                "debt": .wide(totals.debt), "total": .wide(totals.holdings),
                "byStore": .object(liabilityByStore.sorted { $0.key < $1.key }.map { (key: $0.key, value: JSONValue.wide($0.value)) }),
                "byBrand": .object(liabilityByBrand.sorted { $0.key < $1.key }.map { (key: $0.key, value: JSONValue.wide($0.value)) }),
            ]),
            "totals": .object(totals.fields.map { (key: $0.name, value: JSONValue.wide($0.value)) }),
            "mismatches": .array(mismatches.map { m in
                .object(["member": .string(m.member), "field": .string(m.field),
                         "expected": m.expected.map { .int($0) } ?? .null, "found": m.found.map { .int($0) } ?? .null])
            }),
            "identityFailures": .array(identityFailures.map { f in
                .object(["member": .string(f.member), "side": .string(f.side), "credits": .wide(f.credits), "holdings": .wide(f.holdings)])
            }),
            "faults": .array(faults.map { .string($0) }),
            "neutralisations": .array(neutralisations.map { n in .object(["position": .int(Int64(n.position)), "by": .int(Int64(n.by))]) }),
            "membersInError": .array(membersInError.map { .string($0) }),
        ])
    }

    /// A readable summary; at most `linesMax` detail lines (the JSON report has them all).
    public func summary(linesMax: Int = 20) -> [String] {
        var out = [
            "reconciled the log through position \(headPosition) (head hash \(headHash))",
            "\(eventsFolded) member events folded independently, \(membersChecked) members checked at \(evaluatedAt.rfc3339), \(neutralisations.count) neutralised events skipped",
            "liability: available \(totals.available) + pending \(totals.pending) + held \(totals.held) - debt \(totals.debt) = \(totals.holdings) points",
            "lifetime: earned \(totals.earned), redeemed \(totals.redeemed), expired \(totals.expired), adjusted \(totals.adjusted), clawed back \(totals.clawedBack), transferred in \(totals.transferredIn) / out \(totals.transferredOut)",
        ]
        var details: [String] = mismatches.map { m in
            "mismatch: member \(m.member) \(m.field): log \(m.expected.map(String.init) ?? "absent"), source \(m.found.map(String.init) ?? "absent")"
        }
        details += identityFailures.map { "identity broken (\($0.side)) for \($0.member == "*" ? "the program" : "member \($0.member)"): credits \($0.credits) != holdings \($0.holdings)" }
        details += faults.map { "fault: \($0)" }
        details += neutralisations.map { "neutralised: position \($0.position) by position \($0.by) (skipped by every fold)" }
        out += details.prefix(linesMax)
        if details.count > linesMax { out.append("... \(details.count - linesMax) more in the report") }
        out.append(matched ? "OK: every member matches and every identity holds"
                   : "MISMATCH: \(mismatches.count) mismatches, \(identityFailures.count) identity failures, \(faults.count) faults; members: \(membersInError.prefix(50).joined(separator: ", "))")
        return out
    }
}

extension JSONValue {
    /// An integer of any width, as its exact literal.
    static func wide(_ v: Int128) -> JSONValue { .integer(String(v)) }
}

public import LoyaltyDomain
public import LedgerStore

/// `loyalty reconcile purchases --source FILE.csv`: matches an export against the ledger.
public enum PurchaseReconciler {
    /// Compares `source` with the ledger. `badLines` are the export's lines that did not parse
    /// (reported as findings). Ledger purchases count as missing from the source only within
    /// `period` (default: the first to the last business time of the export), so an export of
    /// one day is not flagged for every other day.
    public static func run(source: [SourcePurchase], badLines: [(line: Int, reason: String)], log: EventLog,
                           period: (from: Timestamp, to: Timestamp)? = nil) throws -> PurchaseReconcileReport {
        var r = PurchaseReconcileReport()
        r.findings = badLines.map { PurchaseFinding(kind: .badLine, purchaseId: "", line: $0.line, position: nil, detail: $0.reason) }
        r.sourcePurchases = source.count
        let times = source.map(\.purchase.at)
        r.period = period ?? times.min().map { ($0, times.max()!) }
        let ledger = try LedgerPurchases.read(log)
        var program = LedgerModel()
        for e in try log.stream(member: DomainEvent.programStream) {
            if let event = try AuditEvents.decode(e) { try program.apply(event, at: Timestamp(microseconds: e.occurredAt)) }
        }
        var seen: [String: Int] = [:]
        var toCheck: [String: [String: Int]] = [:]  // member -> purchase id -> source line
        for s in source {
            let p = s.purchase
            if let first = seen[p.purchaseId] {
                r.findings.append(.init(kind: .duplicateInSource, purchaseId: p.purchaseId, line: s.line, position: nil, detail: "also on line \(first)"))
                continue
            }
            seen[p.purchaseId] = s.line
            guard let known = ledger.purchases[p.purchaseId] else {
                r.findings.append(.init(kind: .missingFromLedger, purchaseId: p.purchaseId, line: s.line, position: nil,
                                        detail: "member \(p.member), amount \(p.amount), \(p.at.rfc3339)"))
                continue
            }
            let differences = compare(s, known.event, at: known.at, rules: program.rules(at: p.at))
            r.findings += differences.map { .init(kind: .fieldMismatch, purchaseId: p.purchaseId, line: s.line, position: known.position, detail: $0) }
            if differences.isEmpty { r.matched += 1 }
            toCheck[known.event.member, default: [:]][p.purchaseId] = s.line
        }
        if let period = r.period {
            for (id, known) in ledger.purchases where known.at >= period.from && known.at <= period.to {
                r.ledgerPurchases += 1
                if seen[id] == nil {
                    r.findings.append(.init(kind: .missingFromSource, purchaseId: id, line: nil, position: known.position,
                                            detail: "member \(known.event.member), \(known.event.amount) minor units, \(known.at.rfc3339)"))
                }
            }
            for ret in ledger.returns where ret.at >= period.from && ret.at <= period.to && seen[ret.event.purchaseId] == nil {
                let why = ledger.purchases[ret.event.purchaseId] == nil ? "purchase not in the ledger either" : "purchase not in the source"
                r.findings.append(.init(kind: .returnWithoutPurchase, purchaseId: ret.event.purchaseId, line: nil, position: ret.position,
                                        detail: "return \(ret.event.returnId) of \(ret.event.amount) minor units: \(why)"))
            }
        }
        for (member, ids) in toCheck.sorted(by: { $0.key < $1.key }) {
            try checkPoints(member: member, lines: ids, recorded: ledger.points, log: log, rules: program.publishedRules, report: &r)
        }
        r.findings.sort { ($0.line ?? Int.max, $0.position ?? 0) < ($1.line ?? Int.max, $1.position ?? 0) }
        return r
    }

    /// The source line's fields against the ledger's purchase (amounts in exact minor units).
    static func compare(_ s: SourcePurchase, _ e: DomainEvent.PurchaseRecorded, at: Timestamp, rules: ProgramRules) -> [String] {
        let p = s.purchase
        var out: [String] = []
        if let amount = Decimal10.minorUnits(p.amount, exponent: rules.minorUnitExponent) {
            if amount != e.amount { out.append("amount: source \(amount), ledger \(e.amount) minor units") }
        } else {
            out.append("amount: source '\(p.amount)' is not an amount with at most \(rules.minorUnitExponent) decimals")
        }
        if p.member != e.member { out.append("member: source \(p.member), ledger \(e.member)") }
        if p.store != e.store { out.append("store: source \(p.store), ledger \(e.store)") }
        if let c = p.currency, c != e.currency { out.append("currency: source \(c), ledger \(e.currency)") }
        if p.at != at { out.append("occurred_at: source \(p.at.rfc3339), ledger \(at.rfc3339)") }
        return out
    }
}

extension PurchaseReconciler {
    /// Recomputes the accrual of each listed purchase with the domain's own decision, on the
    /// member's state just before the purchase was recorded (caps, tier multipliers and the
    /// birthday bonus depend on it) and with every rule set the ledger knows now (a rule set
    /// published later with an earlier effective time shows up here), and compares the points
    /// with those recorded.
    static func checkPoints(member: String, lines: [String: Int], recorded: [String: Points], log: EventLog,
                            rules: [(effectiveAt: Timestamp, rules: ProgramRules)], report r: inout PurchaseReconcileReport) throws {
        let (events, program) = try AuditEvents.timeline(member: member, log: log)
        var model = LedgerModel()
        var p = 0
        for e in events {
            while p < program.count, program[p].position < e.position { try model.apply(program[p].event, at: program[p].occurredAt); p += 1 }
            if case .purchaseRecorded(let buy) = e.event, let line = lines[buy.purchaseId] {
                var probe = model
                probe.publishedRules = rules
                let expected = recompute(buy, at: e.occurredAt, in: probe)
                let found = recorded[buy.purchaseId] ?? 0
                r.pointsChecked += 1
                switch expected {
                case .success(let points) where points != found:
                    r.findings.append(.init(kind: .pointsDisagree, purchaseId: buy.purchaseId, line: line, position: e.position,
                                            detail: "rules in force give \(points) points, the ledger recorded \(found)"))
                case .failure(let reason):
                    r.findings.append(.init(kind: .pointsDisagree, purchaseId: buy.purchaseId, line: line, position: e.position,
                                            detail: "cannot recompute: \(reason)"))
                default: break
                }
            }
            try model.apply(e.event, at: e.occurredAt)
        }
    }

    /// The points the domain's decision gives the purchase (0 when it earns none).
    static func recompute(_ buy: DomainEvent.PurchaseRecorded, at: Timestamp, in model: LedgerModel) -> Result<Points, AuditError> {
        let exponent = model.rules(at: at).minorUnitExponent
        let command = Command.Purchase(
            member: buy.member, purchaseId: buy.purchaseId, amount: decimalText(buy.amount, exponent: exponent), currency: buy.currency,
            store: buy.store, lines: buy.lines.map { ($0.category, decimalText($0.amount, exponent: exponent)) },
            paidWithPoints: buy.paidWithPoints == 0 ? nil : decimalText(buy.paidWithPoints, exponent: exponent), at: at)
        do {
            guard case .append(let events) = try model.decide(.purchase(command)) else { return .failure(AuditError("decided as a replay")) }
            let points = events.reduce(Points(0)) { acc, e in
                if case .pointsEarned(let earned) = e { return acc + earned.points } else { return acc }
            }
            return .success(points)
        } catch {
            return .failure(AuditError("\(error)"))
        }
    }

    /// Minor units as the decimal text commands take: 1250 with exponent 2 -> "12.50".
    static func decimalText(_ minor: MinorUnits, exponent: Int) -> String {
        precondition(minor >= 0 && exponent >= 0 && exponent <= 9, "amounts are non-negative, exponents 0 to 9")
        guard exponent > 0 else { return String(minor) }
        let unit = Decimal10.pow10(exponent)
        let fraction = String(minor % unit)
        return "\(minor / unit)." + String(repeating: "0", count: exponent - fraction.count) + fraction
    }
}

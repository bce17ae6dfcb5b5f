public import LoyaltyDomain
import LedgerStore
public import LedgerJSON

/// A purchase line of a till or e-commerce export (the import's purchase CSV), already parsed.
public struct SourcePurchase: Sendable {
    public var line: Int
    public var purchase: Command.Purchase
    public init(line: Int, purchase: Command.Purchase) { self.line = line; self.purchase = purchase }
}

/// One disagreement between the export and the ledger.
public struct PurchaseFinding: Sendable, Hashable {
    public enum Kind: String, Sendable, CaseIterable {
        case badLine = "bad_line", duplicateInSource = "duplicate_in_source", missingFromLedger = "missing_from_ledger"
        case missingFromSource = "missing_from_source", fieldMismatch = "field_mismatch", pointsDisagree = "points_disagree"
        case returnWithoutPurchase = "return_without_purchase"
    }
    public var kind: Kind
    public var purchaseId: String
    /// The source line, when the finding concerns one.
    public var line: Int?
    /// The ledger position, when the finding concerns a ledger event.
    public var position: UInt64?
    public var detail: String
}

public struct PurchaseReconcileReport: Sendable {
    public var sourcePurchases = 0
    /// Ledger purchases whose business time is within the period compared.
    public var ledgerPurchases = 0
    public var matched = 0
    public var pointsChecked = 0
    public var period: (from: Timestamp, to: Timestamp)?
    public var findings: [PurchaseFinding] = []
    public var allMatched: Bool { findings.isEmpty }

    public func count(_ kind: PurchaseFinding.Kind) -> Int { findings.count(where: { $0.kind == kind }) }

    public var json: JSONValue {
        .object([
            "allMatched": .bool(allMatched), "sourcePurchases": .int(sourcePurchases), "ledgerPurchases": .int(ledgerPurchases),
            "matched": .int(matched), "pointsChecked": .int(pointsChecked),
            "period": period.map { .object(["from": .string($0.from.rfc3339), "to": .string($0.to.rfc3339)]) },
            "counts": .object(PurchaseFinding.Kind.allCases.map { (key: $0.rawValue, value: JSONValue.int(count($0))) }),
            "findings": .array(findings.map { f in
                .object(["kind": .string(f.kind.rawValue), "purchaseId": .string(f.purchaseId), "line": f.line.map { .int($0) },
                         "position": f.position.map { .int(Int64($0)) }, "detail": .string(f.detail)])
            }),
        ])
    }
}

/// What the ledger holds about purchases, from one pass over the log.
struct LedgerPurchases {
    var purchases: [String: (event: DomainEvent.PurchaseRecorded, at: Timestamp, position: UInt64)] = [:]
    var points: [String: Points] = [:]
    var returns: [(event: DomainEvent.PurchaseReturned, at: Timestamp, position: UInt64)] = []

    /// Reads the log in bounded batches, decoding only purchases, accruals and returns.
    static func read(_ log: EventLog) throws -> LedgerPurchases {
        var out = LedgerPurchases()
        var position: UInt64 = 0
        let wanted: Set<String> = ["purchase.recorded", "points.earned", "purchase.returned"]
        while true {
            let batch = try log.events(after: position, limit: LogLimits.readBatchEventsMax)
            guard let last = batch.last else { break }
            for e in batch where wanted.contains(e.type) {
                guard let event = try AuditEvents.decode(e) else { continue }
                let at = Timestamp(microseconds: e.occurredAt)
                switch event {
                case .purchaseRecorded(let p): out.purchases[p.purchaseId] = (p, at, e.position)
                case .pointsEarned(let p): if case .purchase(let id) = p.source { out.points[id, default: 0] += p.points }
                case .purchaseReturned(let r): out.returns.append((r, at, e.position))
                default: break
                }
            }
            position = last.position
        }
        return out
    }
}

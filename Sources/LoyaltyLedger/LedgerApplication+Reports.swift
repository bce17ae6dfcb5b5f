import Foundation
import Glibc
public import LedgerStore
public import LoyaltyAudit
public import LoyaltyDomain
public import Projections

/// The balances projection as reconciliation's source: every member's figures at one time, read
/// with the projection's checkpoint in one transaction (a consistent snapshot).
public struct ProjectionBalanceSource: BalanceSource {
    let checkpoint: UInt64
    let evaluatedAt: Timestamp
    let members: [String: MemberFigures]

    public init(_ projections: LedgerProjections, at t: Timestamp) throws {
        var members: [String: MemberFigures] = [:]
        let checkpoint = try projections.store.snapshot(Projections.Balances.self) { member, record in
            members[member] = MemberFigures(record.balance(member, at: t))
        }
        guard let checkpoint else { throw ApplicationError("the balances projection is not built (run `loyalty projections catch-up`)") }
        (self.checkpoint, self.evaluatedAt, self.members) = (checkpoint, t, members)
    }

    public func position() throws -> UInt64 { checkpoint }
    /// Members by id; an id too long to be a key (`ProjectionKey`) is found when the fold asks
    /// for it by its full id.
    public func allMembers() throws -> [String] { members.keys.filter { !ProjectionKey.isHashed($0) } }

    public func figures(member: String, at: Timestamp) throws -> MemberFigures? {
        guard at == evaluatedAt else { throw ApplicationError("the balances snapshot was evaluated at \(evaluatedAt.rfc3339), asked at \(at.rfc3339)") }
        return members[ProjectionKey.component(member)]
    }
}

/// A reconciliation's report and how long its two halves took.
public struct Reconciliation: Sendable {
    public var report: ReconcileReport
    /// Reading the balances snapshot.
    public var sourceMilliseconds: Int64
    /// The independent fold and the comparison.
    public var foldMilliseconds: Int64
    /// The fold's members and lots, kept so that the caller decides when they are freed (a
    /// process that ends right after need not free millions of lots one by one).
    public let fold: Reconciler.Fold
}

extension LedgerApplication {
    /// Replays the whole log with the independent simple fold and compares every member with the
    /// balances projection (caught up first by the caller), evaluated at `at`.
    public func reconcile(at: Timestamp, partitions: Int = 2) throws -> Reconciliation {
        guard (1...64).contains(partitions) else { throw ApplicationError("partitions: \(partitions) is not 1 to 64") }
        let clock = ContinuousClock()
        let start = clock.now
        let projections = try projections()
        let source = try ProjectionBalanceSource(projections, at: at)
        let opened = clock.now
        var result: ReconcileReport
        let fold: Reconciler.Fold
        do {
            (result, fold) = try Reconciler(evaluatedAt: at, partitions: partitions).runKeepingFold(log: log, source: source)
        } catch let e as AuditError { throw ApplicationError(e.description) }
        // The projection stopped before an event it cannot apply: the fold went as far.
        result.faults += try projections.stops().filter { $0.projection == Projections.Balances.name }.map(\.description)
        result.neutralisations = try log.neutralisedPositions().filter { $0.value <= result.headPosition }
            .sorted { $0.key < $1.key }.map { (position: $0.key, by: $0.value) }
        return Reconciliation(report: result, sourceMilliseconds: Self.milliseconds(opened - start),
                              foldMilliseconds: Self.milliseconds(clock.now - opened), fold: fold)
    }

    /// Matches the purchases CSV at `path` (a till's export) against the ledger over the export's
    /// period, or `from`...`to` where given.
    public func reconcilePurchases(exportPath path: String, from: Timestamp?, to: Timestamp?) throws -> PurchaseReconcileReport {
        let (purchases, bad) = try readPurchaseExport(path)
        var period: (from: Timestamp, to: Timestamp)?
        if from != nil || to != nil {
            let times = purchases.map(\.purchase.at)
            period = (from ?? times.min() ?? .init(microseconds: Int64.min), to ?? times.max() ?? .init(microseconds: Int64.max))
        }
        do { return try PurchaseReconciler.run(source: purchases, badLines: bad, log: log, period: period) } catch let e as AuditError {
            throw ApplicationError(e.description)
        }
    }

    /// The export's purchases and its bad lines, with the import's own CSV parsing (a date alone
    /// is local midnight in the program's time zone, as in an import).
    func readPurchaseExport(_ path: String) throws -> ([SourcePurchase], [(line: Int, reason: String)]) {
        let fd = Glibc.open(path, O_RDONLY)
        guard fd >= 0 else { throw ApplicationError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { Glibc.close(fd) }
        var reader = LineReader(fd: fd)
        var purchases: [SourcePurchase] = [], bad: [(line: Int, reason: String)] = []
        var lineNumber = 0
        var midnights: [Int64: Timestamp] = [:]
        while let read = try reader.nextLine() {
            lineNumber += 1
            guard case .bytes(let line) = read else {
                if case .tooLong(let n) = read { bad.append((lineNumber, InputText.tooLongReason(byteCount: n))) }
                continue
            }
            if lineNumber == 1 {
                guard ImportFormat.csvHeader(line) == .purchases else {
                    throw ApplicationError("\(path): line 1: expected the header \(ImportFormat.purchaseHeader.joined(separator: ","))")
                }
                continue
            }
            if InputText.isBlank(line) { continue }
            let local = { (midnight: Timestamp) -> Timestamp in
                if let known = midnights[midnight.microseconds] { return known }
                let resolved = (try? self.resolve(.date(utcMidnight: midnight))) ?? midnight
                if midnights.count < ImportParser.midnightsCachedMax { midnights[midnight.microseconds] = resolved }
                return resolved
            }
            do { purchases.append(SourcePurchase(line: lineNumber, purchase: try ImportFormat.purchase(csvLine: line, localMidnight: local))) } catch {
                bad.append((lineNumber, "\(error)"))
            }
        }
        return (purchases, bad)
    }

    /// Head, counts and sizes of the log.
    public func stats() throws -> LedgerStats { try log.stats() }
}

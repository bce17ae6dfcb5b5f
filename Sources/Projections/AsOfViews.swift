public import LedgerStore
public import LoyaltyDomain

/// Member views and balances as of a business time: a fresh, in-memory fold of the events whose
/// `occurredAt` is at or before `asOf` (the rule of `loyalty balance --as-of`, schemas/domain.md
/// "Disputes: as-of and known-at"), evaluated at `asOf`. An event of the view that takes points
/// from a lot the view does not have (only a backdated debit can) is left out and noted, as
/// `AsOfView` does.
public struct AsOfViews {
    public let asOf: Timestamp
    /// Member id (a `ProjectionKey` component) to its view and balance record.
    public private(set) var views: [String: MemberView] = [:]
    public private(set) var records: [String: Balances.Record] = [:]
    /// Events of the view that could not be applied, with why.
    public private(set) var exclusions: [(position: UInt64, reason: String)] = []

    /// Folds the whole log (every member), or only `member`'s stream.
    public static func fold(_ log: EventLog, asOf: Timestamp, member: String? = nil) throws -> AsOfViews {
        var out = AsOfViews(asOf: asOf)
        let (views, balances) = (FoldState<MemberView>(), FoldState<Balances.Record>())
        let (viewFold, balanceFold) = (MemberViews(), Balances())
        func apply(_ pe: ProjectionEvent) throws {
            guard pe.occurredAt <= asOf, pe.member != DomainEvent.programStream else { return }
            do {
                // Balances first: an event it leaves out is left out of the view too.
                try pe.naming { try balanceFold.apply(pe, to: balances) }
                try pe.naming { try viewFold.apply(pe, to: views) }
            } catch let e as ProjectionError {
                out.exclusions.append((pe.position, "\(e)"))
            }
        }
        if let member {
            for e in try log.stream(member: member) {
                if let pe = try ProjectionEvent.decode(e) { try apply(pe) }
            }
        } else {
            let head = try log.headPosition()
            var position: UInt64 = 0
            while position < head {
                let run = try DecodedEvents.read(log, after: position, through: min(head, position + UInt64(LedgerProjections.runEventsMax)))
                for pe in run.events { try apply(pe) }
                position = run.through
            }
        }
        out.views = Dictionary(uniqueKeysWithValues: views.entries())
        out.records = Dictionary(uniqueKeysWithValues: balances.entries())
        return out
    }

    /// The balance of `member` as of `asOf` (nil: no balance event of it in the view).
    public func balance(_ member: String) -> Balance? {
        records[ProjectionKey.component(member)].map { $0.balance(member, at: asOf) }
    }

    public func view(_ member: String) -> MemberView? { views[ProjectionKey.component(member)] }
}

public import LedgerStore
public import LoyaltyDomain

/// Which of a member's events a view contains. See schemas/domain.md, "Disputes: as-of and
/// known-at": `asOf` keeps events whose business time (occurredAt) is at or before it; `knownAt`
/// keeps events the ledger had recorded (recordedAt) by then. Program events (rules) are filtered
/// by `knownAt` only: a rule set published later with an earlier effective time is part of what
/// the ledger knows now.
public struct ViewFilter: Sendable, Hashable {
    public var asOf: Timestamp?
    public var knownAt: Timestamp?
    public init(asOf: Timestamp? = nil, knownAt: Timestamp? = nil) { self.asOf = asOf; self.knownAt = knownAt }

    func includesMemberEvent(_ e: LoggedEvent) -> Bool {
        (asOf.map { e.occurredAt <= $0 } ?? true) && (knownAt.map { e.recordedAt <= $0 } ?? true)
    }

    func includesProgramEvent(_ e: LoggedEvent) -> Bool { knownAt.map { e.recordedAt <= $0 } ?? true }
}

/// An event of the view that could not be applied: it takes points from a lot the view does not
/// have (or has too few left in), which only a backdated debit or return can cause.
public struct Exclusion: Sendable, Hashable {
    public var position: UInt64
    public var reason: String
}

/// A member's state folded with the domain's own `LedgerModel` from the member's stream and the
/// program stream alone, in log order. Events carry their lot allocations, so a fold of a subset
/// is deterministic; it never re-decides anything.
public struct AsOfView: Sendable {
    public let member: String
    public private(set) var model = LedgerModel()
    public private(set) var exclusions: [Exclusion] = []
    public private(set) var appliedCount = 0

    public var state: MemberState? { model.member(member) }

    init(member: String) { self.member = member }

    /// Folds the events `filter` keeps; `visit` sees each member event the filter keeps, after it
    /// was applied (or excluded), with the member's state then.
    public static func fold(member: String, events: [LoggedEvent], program: [LoggedEvent], filter: ViewFilter = .init(),
                            visit: (LoggedEvent, Exclusion?, MemberState?) -> Void = { _, _, _ in }) -> AsOfView {
        var folder = Folder(member: member, program: program, filter: filter)
        for e in events { folder.feed(e, visit: visit) }
        return folder.finish()
    }

    /// The same fold fed one member event at a time (`history` feeds it chunks decoded on another
    /// thread): program events before each member event are applied first, in log order.
    struct Folder {
        private var view: AsOfView
        private let program: [LoggedEvent]
        private let filter: ViewFilter
        private var p = 0

        init(member: String, program: [LoggedEvent], filter: ViewFilter) {
            (view, self.program, self.filter) = (AsOfView(member: member), program, filter)
        }

        mutating func feed(_ e: LoggedEvent, visit: (LoggedEvent, Exclusion?, MemberState?) -> Void) {
            guard filter.includesMemberEvent(e) else { return }
            assert(e.event.stream == view.member, "a member view folds only the member's own events")
            applyProgram(before: e.position)
            let exclusion = view.apply(e)
            visit(e, exclusion, view.state)
        }

        mutating func finish() -> AsOfView {
            applyProgram(before: UInt64.max)
            return view
        }

        private mutating func applyProgram(before position: UInt64) {
            while p < program.count, program[p].position < position {
                // (A program event the model refuses, past its limits, leaves the view without it.)
                if filter.includesProgramEvent(program[p]) { try? view.model.apply(program[p].event, at: program[p].occurredAt) }
                p += 1
            }
        }
    }

    private mutating func apply(_ e: LoggedEvent) -> Exclusion? {
        let taken = e.event.consumedAllocations
        if !taken.isEmpty, state?.canTake(taken) != true {
            let lots = taken.map(\.lotId).joined(separator: ", ")
            let exclusion = Exclusion(position: e.position, reason: "takes points from lots not in this view (\(lots))")
            exclusions.append(exclusion)
            return exclusion
        }
        do throws(FoldError) {
            try model.apply(e.event, at: e.occurredAt)
        } catch {
            let exclusion = Exclusion(position: e.position, reason: "cannot be applied in this view: \(error.message)")
            exclusions.append(exclusion)
            return exclusion
        }
        appliedCount += 1
        return nil
    }

    /// The balance of the view evaluated at `t` (nil when the view has no event of the member).
    public func balance(at t: Timestamp) -> Balance? { model.balance(member, at: t) }
}

extension AsOfView {
    /// The member's view of `log` under `filter`, read from the member's and the program's
    /// streams only.
    public static func load(member: String, log: EventLog, filter: ViewFilter) throws -> AsOfView {
        let (events, program) = try AuditEvents.timeline(member: member, log: log)
        guard !events.isEmpty else { throw AuditError("unknown member '\(member)' (no events)") }
        return fold(member: member, events: events, program: program, filter: filter)
    }
}

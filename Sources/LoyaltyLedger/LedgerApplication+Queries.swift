import Foundation
public import LedgerJSON
import LedgerStore
public import LoyaltyAudit
public import LoyaltyDomain
public import Projections

/// One member as the read commands show it: the member view, the balance, and when they were
/// evaluated.
public struct MemberRecord: Sendable {
    public var member: String
    public var view: MemberView
    public var balance: Balance?
    public var at: Timestamp
    public var thresholds: LifecycleThresholds

    /// The view's fields (schemas/projections/member-view.schema.json).
    public var json: JSONValue { view.json(member: member, balance: balance, at: at, thresholds: thresholds) }
    public var stage: String { view.stage(at: at, thresholds) }
}

/// An event a fold at a time left out (neutralised, or one it cannot apply), and why.
public struct ExcludedEvent: Sendable, Hashable {
    public var position: UInt64
    public var reason: String
}

/// An answer folded from the log at a time (as of, known at), and the events it left out.
public struct Folded<Value: Sendable>: Sendable {
    public var value: Value
    public var exclusions: [ExcludedEvent]
}

/// Which members `members` lists (all when every field is nil).
public struct MemberFilter: Sendable, Equatable {
    public var stage: String?
    public var store: String?
    public var tier: String?

    public init(stage: String? = nil, store: String? = nil, tier: String? = nil) {
        (self.stage, self.store, self.tier) = (stage, store, tier)
    }

    /// The lifecycle stages a member view has (`MemberView.stage`).
    public static let stages = ["lead", "new", "active", "defecting", "inactive"]

    func admits(_ r: MemberRecord) -> Bool {
        if let store, r.view.enrollmentStore != store { return false }
        if let tier, r.view.tier != tier { return false }
        if let stage, r.stage != stage { return false }
        return true
    }
}

extension LedgerApplication {
    /// A member's current balance, its lots evaluated at `at`, from the decision state: current
    /// at once (its open folds only what was written after its checkpoint), never waiting for a
    /// projection's catch-up. An unknown member is an error. When the log holds an event the
    /// model cannot fold, the balances projection answers (caught up here) for the other members.
    public func balance(member: String, at: Timestamp) throws -> Balance {
        let state: Ledger
        do {
            state = try decisionState()
        } catch is StoredEventError {
            try catchUp([Balances.name, MemberViews.name])
            return try projectedBalance(member: member, at: at)
        }
        guard let balance = try state.balance(member, at: at) else { throw ApplicationError.unknownMember(member) }
        return balance
    }

    /// The balance from the balances projection (caught up by the caller), which stops only for
    /// the members an event it cannot apply names: the answer when the decision state cannot be
    /// folded at all.
    public func projectedBalance(member: String, at: Timestamp) throws -> Balance {
        try refuseIfStopped([Balances.name], member: member)
        let projections = try projections()
        if let balance = try projections.balance(member, at: at) { return balance }
        guard try projections.memberView(member) != nil else { throw ApplicationError.unknownMember(member) }
        return Balance(MemberState(member: member), at: at)
    }

    /// The balance from the member's own stream: only events that occurred by `filter.asOf` and
    /// were recorded by `filter.knownAt`, evaluated at `at` (schemas/domain.md, "Disputes: as-of
    /// and known-at"). A member with no events in the view has a zero balance (`value.1` false).
    public func historicalBalance(member: String, filter: ViewFilter, at: Timestamp) throws -> Folded<(balance: Balance, hasEvents: Bool)> {
        let view: AsOfView
        do { view = try AsOfView.load(member: member, log: log, filter: filter) } catch let e as AuditError { throw ApplicationError(e.description) }
        let balance = view.balance(at: at)
        return Folded(value: (balance ?? Balance(MemberState(member: member), at: at), balance != nil), exclusions: view.exclusions.map { ExcludedEvent(position: $0.position, reason: $0.reason) })
    }

    /// One member's view from the projections now.
    public func member(_ member: String, at: Timestamp, thresholds: LifecycleThresholds = .init()) throws -> MemberRecord {
        try refuseIfStopped([MemberViews.name, Balances.name], member: member)
        let projections = try projections()
        guard let view = try projections.memberView(member) else { throw ApplicationError.unknownMember(member) }
        return MemberRecord(member: member, view: view, balance: try projections.balance(member, at: at), at: at, thresholds: thresholds)
    }

    /// One member's view as of `asOf`: a fold of the member's events that occurred by then.
    public func member(_ member: String, asOf: Timestamp, thresholds: LifecycleThresholds = .init()) throws -> Folded<MemberRecord> {
        let views = try AsOfViews.fold(log, asOf: asOf, member: member)
        guard let view = views.view(member) else { throw ApplicationError.unknownMember(member, " at \(asOf.rfc3339) (no events by then)") }
        return Folded(value: MemberRecord(member: member, view: view, balance: views.balance(member), at: asOf, thresholds: thresholds),
                      exclusions: views.exclusions.map { ExcludedEvent(position: $0.position, reason: $0.reason) })
    }

    /// Checks `filter` against what exists: a stage that is not one of `MemberFilter.stages`, or
    /// a tier that no rules published so far name, is an error listing the valid values.
    public func validate(_ filter: MemberFilter, at: Timestamp) throws {
        if let stage = filter.stage, !MemberFilter.stages.contains(stage) {
            throw ApplicationError("unknown stage '\(stage)' (stages: \(MemberFilter.stages.joined(separator: ", ")))", kind: .invalidParameter("stage"))
        }
        if let tier = filter.tier {
            let tiers = try tierNames()
            guard tiers.contains(tier) else {
                throw ApplicationError("unknown tier '\(tier)' (" + (tiers.isEmpty ? "the program has no tiers" : "tiers: \(tiers.joined(separator: ", "))") + ")",
                                       kind: .invalidParameter("tier"))
            }
        }
    }

    /// Every tier name of every rule set published, in order of first appearance.
    public func tierNames() throws -> [String] {
        var names: [String] = []
        for stored in try log.stream(member: DomainEvent.programStream) {
            guard case .programPublished(let rules)? = try AuditEvents.decode(stored) else { continue }
            for tier in rules.tiers where !names.contains(tier.name) { names.append(tier.name) }
        }
        return names
    }

    /// Calls `body` with every member admitted by `filter`, in member order: from the projections
    /// now, or with `asOf`, from a fold of the events that occurred by then (whose exclusions are
    /// returned). Validates `filter` first.
    @discardableResult
    public func members(_ filter: MemberFilter, at: Timestamp, asOf: Bool = false, thresholds: LifecycleThresholds = .init(),
                        _ body: (MemberRecord) throws -> Void) throws -> [ExcludedEvent] {
        try validate(filter, at: at)
        guard asOf else {
            try refuseIfStopped([MemberViews.name, Balances.name], member: nil)
            try projections().forEachMember(at: at) { member, view, balance in
                let r = MemberRecord(member: member, view: view, balance: balance, at: at, thresholds: thresholds)
                if filter.admits(r) { try body(r) }
            }
            return []
        }
        let views = try AsOfViews.fold(log, asOf: at)
        for (member, view) in views.views.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            let r = MemberRecord(member: member, view: view, balance: views.balance(member), at: at, thresholds: thresholds)
            if filter.admits(r) { try body(r) }
        }
        return views.exclusions.map { ExcludedEvent(position: $0.position, reason: $0.reason) }
    }

    /// Where a member's points came from and went, evaluated at `at`.
    public func explain(member: String, at: Timestamp) throws -> Explanation {
        try requireEvents(member)
        do { return try Explanation.explain(member: member, log: log, at: at) } catch let e as AuditError { throw ApplicationError(e.description) }
    }

    /// Writes every event of `member` in log order as rows (`History.write`: decoding, folding
    /// and `format` on their own threads; `flush` gets about `flushBytes` at a time), then returns
    /// the member's neutralised events and the events that neutralised them (no row shows them).
    public func history(member: String, from: Timestamp?, to: Timestamp?, header: [UInt8], flushBytes: Int = 1 << 20,
                        format: @escaping @Sendable (HistoryRow, inout [UInt8]) -> Void,
                        flush: @escaping @Sendable ([UInt8]) -> Void) throws -> [Neutralised] {
        try requireEvents(member)
        do {
            try History.write(member: member, log: log, from: from, to: to, header: header, flushBytes: flushBytes, format: format, flush: flush)
        } catch let e as AuditError { throw ApplicationError(e.description) }
        var out: [Neutralised] = []
        for (n, m) in try log.neutralisedPositions().sorted(by: { $0.key < $1.key }) {
            guard let correcting = try log.event(at: m), correcting.member == member else { continue }
            out.append(Neutralised(position: n, by: m, data: correcting.data))
        }
        return out
    }
}

extension LedgerApplication {
    /// An error (not found) unless `member` has events in the log.
    public func requireEvents(_ member: String) throws {
        guard try log.memberVersion(member) > 0 else { throw ApplicationError.unknownMember(member, " (no events)") }
    }
}

/// An event neutralised (no fold applies it) and the correcting event that did it.
public struct Neutralised: Sendable, Equatable {
    public var position: UInt64
    public var by: UInt64
    /// The correcting event's data: `operator`, `reason`, `type`, `fault`.
    public var data: [UInt8]

    public init(position: UInt64, by: UInt64, data: [UInt8]) { (self.position, self.by, self.data) = (position, by, data) }

    /// The fields of the correcting event's data that say what was neutralised and why.
    public static let fields = ["operator", "reason", "type", "fault"]

    /// "position N neutralised by M (operator OP, reason TEXT ...)".
    public var line: String {
        let text = texts
        return "position \(position) neutralised by position \(by) (operator \(text["operator"] ?? "?"), reason: \(text["reason"] ?? "?"); type \(text["type"] ?? "?"), fault: \(text["fault"] ?? "?"))"
    }

    /// `{"neutralised": {position, by, operator, reason, type, fault}}`: `line` as JSON
    /// (schemas/audit.md, history).
    public var json: JSONValue {
        let text = texts
        var object: [(key: String, value: JSONValue)] = [("position", .int(Int64(clamping: position))), ("by", .int(Int64(clamping: by)))]
        for key in Self.fields { if let value = text[key] { object.append((key, .string(value))) } }
        return .object([("neutralised", .object(object))])
    }

    private var texts: [String: String] {
        let parsed = try? JSONCanonical.parse(utf8: data)
        var out: [String: String] = [:]
        for key in Self.fields { if case let .string(s)? = parsed?[key] { out[key] = s } }
        return out
    }
}

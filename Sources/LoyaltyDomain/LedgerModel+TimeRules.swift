/// The ledger's clock at a decision, and whether its caller allows business times in the future.
public struct DecisionClock: Hashable, Sendable {
    public var now: Timestamp
    /// Accept a business time beyond the program's `futureToleranceSeconds` (a booking made
    /// ahead on purpose). Never for `expire` and tier evaluation.
    public var allowFuture: Bool

    public init(now: Timestamp, allowFuture: Bool = false) {
        (self.now, self.allowFuture) = (now, allowFuture)
    }
}

/// The time rules every command passes (schemas/domain.md, "Time rules"):
/// - nothing of a member is dated before their enrollment, except a purchase within the
///   program's `retroClaimDays` of it (a return follows its purchase's member, whose purchase
///   passed this rule; a backdated return is the as-of views' concern);
/// - a business time more than `futureToleranceSeconds` after the ledger's clock is refused
///   unless the caller allows future times (`publish-program` names when rules take effect, so
///   it may be in the future);
/// - `expire` and tier evaluation never run as of a time past that tolerance, and `expire` takes
///   only lots whose expiry is not after the clock: an expiry applies at once.
/// A replay is answered before the rules are checked, so a retry always finds its original.
extension LedgerModel {
    /// Decides `command` against the current state. Never mutates; refusals are typed errors.
    /// Without a `clock` (pure tests, folds) the rules that need one are not checked.
    public func decide(_ command: Command, clock: DecisionClock? = nil) throws -> Decision {
        switch command {
        case .expire(let asOf):
            try checkRunTime(asOf, field: "asOf", clock: clock)
            return .append(decideExpiry(asOf: clock.map { min(asOf, $0.now) } ?? asOf))
        case .evaluateTiers(let asOf):
            try checkRunTime(asOf, field: "asOf", clock: clock)
            return try decideCommand(command)
        default:
            let decision = try decideCommand(command)
            guard case .append = decision else { return decision }
            try checkBusinessOrder(command)
            if let clock, !clock.allowFuture, !command.isPublishProgram { try checkNotFuture(command.at, field: "occurredAt", clock: clock) }
            return decision
        }
    }

    private func tolerance(_ clock: DecisionClock) -> Int64 {
        Int64(rules(at: clock.now).futureToleranceSeconds) * 1_000_000
    }

    private func checkNotFuture(_ t: Timestamp, field: String, clock: DecisionClock) throws(DomainError) {
        let limit = clock.now.microseconds.addingReportingOverflow(tolerance(clock))
        guard limit.overflow || t.microseconds <= limit.partialValue else {
            throw .invalid(field: field, value: t.rfc3339, reason: "is more than \(tolerance(clock) / 1_000_000) seconds after the ledger's clock (\(clock.now.rfc3339)); a future business time needs an explicit allowance (--allow-future)")
        }
    }

    private func checkRunTime(_ t: Timestamp, field: String, clock: DecisionClock?) throws(DomainError) {
        guard let clock else { return }
        let limit = clock.now.microseconds.addingReportingOverflow(tolerance(clock))
        guard limit.overflow || t.microseconds <= limit.partialValue else {
            throw .invalid(field: field, value: t.rfc3339, reason: "is more than \(tolerance(clock) / 1_000_000) seconds after the ledger's clock (\(clock.now.rfc3339)): expiry and tier evaluation take effect at once, so they never run as of a future time")
        }
    }

    /// Refuses a command dated before its member's enrollment.
    private func checkBusinessOrder(_ command: Command) throws(DomainError) {
        switch command {
        case .purchase(let p): try checkEnrolled(p.member, by: p.at, retroClaim: true)
        case let .updateProfile(m, _, at), let .closeMember(m, _, at), let .redeem(m, _, _, _, at),
             let .adjust(m, _, _, _, _, at), let .hold(m, _, _, _, at):
            try checkEnrolled(m, by: at)
        case let .transfer(from, to, _, _, at):
            try checkEnrolled(from, by: at)
            try checkEnrolled(to, by: at)
        case let .reverseRedemption(id, at):
            if let m = redemptionOwners[id] { try checkEnrolled(m, by: at) }
        case let .release(id, at):
            if let m = holdOwners[id] { try checkEnrolled(m, by: at) }
        case let .issueCard(m, _, _, at): try checkEnrolled(m, by: at)
        case .setTier(let c): try checkEnrolled(c.member, by: c.at)
        case let .replaceCard(old, _, at): if let m = cards[CardNumber.nfc(old)]?.member { try checkEnrolled(m, by: at) }
        case .publishProgram, .enroll, .defineReward, .expire, .evaluateTiers, .returnPurchase, .blockCard, .setTarget: return
        }
    }

    private func checkEnrolled(_ m: String, by t: Timestamp, retroClaim: Bool = false) throws(DomainError) {
        guard let enrolledAt = members[m]?.enrolledAt, t < enrolledAt else { return }
        if retroClaim {
            let days = rules(at: enrolledAt).retroClaimDays
            let earliest = enrolledAt.microseconds.subtractingReportingOverflow(Int64(days) * Timestamp.microsecondsPerDay)
            if earliest.overflow || t.microseconds >= earliest.partialValue { return }
            throw .invalid(field: "occurredAt", value: t.rfc3339,
                           reason: "is before member '\(m)' enrolled (\(enrolledAt.rfc3339)) by more than the program's retroClaimDays (\(days))")
        }
        throw .invalid(field: "occurredAt", value: t.rfc3339, reason: "is before member '\(m)' enrolled (\(enrolledAt.rfc3339))")
    }
}

extension Command {
    var isPublishProgram: Bool {
        if case .publishProgram = self { return true }
        return false
    }
}

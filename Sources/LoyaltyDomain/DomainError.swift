/// Why a command was refused. Nothing is written for a refused command.
public enum DomainError: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownMember(String)
    case memberExists(String)
    case memberClosed(String)
    case unknownPurchase(String)
    case unknownRedemption(String)
    case redemptionAlreadyReversed(String)
    case unknownReward(String)
    case rewardOutOfStock(String)
    case rewardOverBudget(reward: String, budgetLeft: Points, cost: Points)
    case unknownHold(String)
    case insufficientPoints(member: String, requested: Points, spendable: Points)
    case overReturn(purchase: String, requested: MinorUnits, returnable: MinorUnits)
    case invalid(field: String, value: String, reason: String)
    case overflow(String)
    /// The same idempotency key was used for a different command.
    case idempotencyConflict(key: String)
    case sameMember(String)
    /// The command's events contradict the state or would pass a limit (`FoldError`): refused,
    /// nothing applied, nothing written.
    case cannotApply(FoldError)
    case unknownCard(String)
    /// The card number is issued already (to `member`): numbers are unique in the program.
    case cardInUse(number: String, member: String)
    /// The card was blocked (or replaced by `replacedBy`): it names no member for new commands.
    case cardBlocked(number: String, replacedBy: String?)

    public var description: String {
        switch self {
        case .unknownMember(let m): return "unknown member '\(m)'"
        case .memberExists(let m): return "member '\(m)' is already enrolled"
        case .memberClosed(let m): return "member '\(m)' is closed"
        case .unknownPurchase(let p): return "unknown purchase '\(p)'"
        case .unknownRedemption(let r): return "unknown redemption '\(r)'"
        case .redemptionAlreadyReversed(let r): return "redemption '\(r)' was already reversed"
        case .unknownReward(let r): return "unknown reward '\(r)'"
        case .rewardOutOfStock(let r): return "reward '\(r)' is out of stock"
        case let .rewardOverBudget(r, left, cost): return "reward '\(r)' is over budget: \(left) points left, it costs \(cost)"
        case .unknownHold(let h): return "unknown hold '\(h)'"
        case let .insufficientPoints(m, requested, spendable):
            return "member '\(m)' has \(spendable) spendable points, \(requested) requested"
        case let .overReturn(p, requested, returnable):
            return "purchase '\(p)': return of \(requested) minor units exceeds the \(returnable) still returnable"
        case let .invalid(field, value, reason): return "field '\(field)': '\(value)' \(reason)"
        case .overflow(let what): return "arithmetic overflow in \(what)"
        case .idempotencyConflict(let key): return "key '\(key)' was already used for a different command"
        case .sameMember(let m): return "cannot transfer from member '\(m)' to itself"
        case .cannotApply(let error): return "its events cannot be applied: \(error.message)"
        case .unknownCard(let n): return "unknown card '\(n)'"
        case let .cardInUse(n, m): return "card '\(n)' is already issued (to member '\(m)'); card numbers are unique in the program"
        case let .cardBlocked(n, replacedBy?): return "card '\(n)' was replaced by card '\(replacedBy)' and is refused"
        case let .cardBlocked(n, nil): return "card '\(n)' is blocked"
        }
    }
}

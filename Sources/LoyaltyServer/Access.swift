import LoyaltyDomain

/// What a request does, for the role check.
enum Action: Sendable {
    /// A command (its role and, for a till, its store are checked).
    case command(Command)
    /// Any query or report.
    case read
    /// Following the log (`/v1/events`, `/v1/events/stream`).
    case tail
}

/// What each role may do (see `Role`). With no caller (a server run without keys, in tests),
/// everything is allowed.
enum Access {
    static func check(_ caller: Caller?, _ action: Action) throws {
        guard caller != nil else { return }
        // The API-key middleware and the role table come with `loyalty api-keys`.
    }
}

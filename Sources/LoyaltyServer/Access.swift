import LoyaltyDomain

/// What each role may do (see `Role`). With no caller (a server run without keys, in tests),
/// everything is allowed.
enum Access {
    static func check(_ caller: Caller?, command: Command) throws {
        guard caller != nil else { return }
        // The API-key middleware and the role table are added with `loyalty api-keys`.
    }
}

extension Access {
    static func checkRead(_ caller: Caller?) throws {}
}

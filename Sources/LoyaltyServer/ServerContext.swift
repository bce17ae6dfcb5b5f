public import Hummingbird

/// The request context of every route: who is calling (set by the API-key middleware).
public struct ServerContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The caller, once the API key was checked; nil on the open routes (`/health`, `/ready`).
    public var caller: Caller?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }

    /// Bodies are read by the routes themselves (`JSONBody.read`), each with its own limit.
    public var maxUploadSize: Int { ServerConfiguration.commandBodyBytesMaxDefault }
}

/// What an API key may do.
public enum Role: String, Sendable, CaseIterable {
    /// Records enrollments, purchases and returns, for its stores only.
    case till
    /// Adjusts, transfers, manages rewards and rules; reads.
    case `operator`
    /// Reads everything, writes nothing.
    case auditor
    /// Tails the log, nothing else.
    case consumer
}

/// The caller of a request: the API key's name (recorded as the actor of what it writes), its
/// role and, for a till, its stores.
public struct Caller: Sendable, Equatable {
    public var name: String
    public var role: Role
    /// The stores a till key may record for; nil: all.
    public var stores: Set<String>?

    public init(name: String, role: Role, stores: Set<String>? = nil) {
        (self.name, self.role, self.stores) = (name, role, stores)
    }
}

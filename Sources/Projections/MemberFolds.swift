import LoyaltyDomain

/// The member views and balances folds (`MemberViews`, `Balances`) run outside a projection
/// store, for a consumer that keeps the folded values elsewhere (the PostgreSQL sink). The
/// events go through the same `apply` the projections run, so a member's view and balance here
/// equal the projections' for the same events; the values are kept in their value form
/// (`MemberViews.encode`, `Balances.encode`) by the caller.
///
/// A cache of the members seen: `preload` hands in the stored values of members not cached yet
/// before `apply` needs them; `commit` marks what was applied as stored; `discard` forgets
/// everything (after a failed write: the cache may hold what was not stored).
/// Not thread-safe: one task uses it.
public final class MemberFolds {
    private let views = FoldState<MemberView>()
    private let balances = FoldState<Balances.Record>()
    /// The stored values handed in by `preload`, by projection key, read once by the loaders.
    private var stored: [String: (view: MemberView?, balance: Balances.Record?)] = [:]
    /// Every member cached (loaded, preloaded or created).
    private var known: Set<String> = []

    public init() {
        views.loader = { [unowned self] key in stored[key]?.view }
        balances.loader = { [unowned self] key in stored[key]?.balance }
    }

    /// How many members are cached.
    public var count: Int { known.count }

    /// The members of `members` not cached: their stored values must be preloaded before an
    /// event of theirs is applied.
    public func missing(_ members: some Sequence<String>) -> Set<String> {
        Set(members).subtracting(known)
    }

    /// The stored value forms of members not cached (nil: nothing stored); members of the list
    /// without an entry here have nothing stored either.
    public func preload(_ members: Set<String>, values: [String: (view: [UInt8]?, balance: [UInt8]?)]) throws(ProjectionError) {
        for member in members {
            let value = values[member]
            let view = try value?.view.map { (b: [UInt8]) throws(ProjectionError) in try MemberViews.decodedValue(b) }
            let balance = try value?.balance.map { (b: [UInt8]) throws(ProjectionError) in try Balances.decodedValue(b) }
            stored[ProjectionKey.component(member)] = (view, balance)
            known.insert(member)
        }
    }

    /// Applies one event to its member's view and balance, as the projections do. A fault names
    /// the event (`ProjectionError.unappliable`); the caller then discards the cache.
    public func apply(_ event: ProjectionEvent) throws {
        known.insert(event.member)
        try event.naming {
            try MemberViews().apply(event, to: views)
            try Balances().apply(event, to: balances)
        }
    }

    /// The member's folded view and balance (nil: none yet).
    public func values(_ member: String) throws -> (view: MemberView?, balance: Balances.Record?) {
        let key = ProjectionKey.component(member)
        return (try views.value(key), try balances.value(key))
    }

    /// The value forms of the member's view and balance, as `preload` reads them back.
    public func encoded(_ member: String) throws -> (view: [UInt8]?, balance: [UInt8]?) {
        let (view, balance) = try values(member)
        return (view.map(MemberViews.encoded), balance.map(Balances.encoded))
    }

    /// What was applied is stored now.
    public func commit() {
        views.markClean()
        balances.markClean()
        stored.removeAll(keepingCapacity: true)
    }

    /// Forgets every cached member (the next events' members are preloaded again).
    public func discard() {
        views.discard()
        balances.discard()
        stored.removeAll()
        known.removeAll()
    }

    /// The version of the folds' value forms: stored values of another version cannot be read.
    public static var version: String { "\(MemberViews.name)-\(MemberViews.version)/\(Balances.name)-\(Balances.version)" }
}

extension ProjectionFold {
    /// A value form read back whole (no bytes left over).
    static func decodedValue(_ bytes: [UInt8]) throws(ProjectionError) -> Value {
        let result = bytes.withUnsafeBytes { b in Result { () throws(ProjectionError) -> Value in try decoded(b) } }
        return try result.get()
    }
}

import LedgerStore
import LoyaltyDomain

/// The keys of the decision state changed since the last flush: the members and owner-table
/// entries the applied events touched (the program-wide state is written with every flush).
struct DirtyKeys {
    struct Owner: Hashable {
        var kind: DecisionStore.OwnerKind
        var id: String
    }

    var members = Set<String>()
    /// In the order noted. Not a set: an owner entry is made by one event (its id's first use),
    /// so a key is noted twice only when an event names an id again (an event appended raw, or
    /// one a fold refused); a flush then writes that key's value twice, in one transaction.
    var owners: [Owner] = []

    var count: Int { members.count + owners.count }
    var isEmpty: Bool { members.isEmpty && owners.isEmpty }

    /// Notes what `event` changes when the model applies it (`LedgerModel.apply`).
    mutating func note(_ event: DomainEvent) {
        guard !event.isProgramWide else { return }
        if let owner = event.ownerKey { owners.append(owner) }
        owners.append(contentsOf: event.cardOwnerKeys)
        members.insert(event.stream)
    }

    /// Notes what the events of one command change (`note(_:)` for each; a member is hashed
    /// once for a run of its events). The events are read in place (`events[i].property`): a
    /// `switch` over each would copy it first.
    mutating func note(contentsOf events: [DomainEvent]) {
        var previous: String?
        for i in events.indices where !events[i].isProgramWide {
            if let owner = events[i].ownerKey { owners.append(owner) }
            owners.append(contentsOf: events[i].cardOwnerKeys)
            let stream = events[i].stream
            if stream != previous { members.insert(stream) }
            previous = stream
        }
    }
}

extension DomainEvent {
    /// The owner-table entry the event makes, if any (`LedgerModel.apply`).
    fileprivate var ownerKey: DirtyKeys.Owner? {
        switch self {
        case .purchaseRecorded(let p): return DirtyKeys.Owner(kind: .purchase, id: p.purchaseId)
        case .pointsRedeemed(let r): return DirtyKeys.Owner(kind: .redemption, id: r.redemptionId)
        case let .pointsHeld(_, holdId, _, _): return DirtyKeys.Owner(kind: .hold, id: holdId)
        case .purchaseReturned(let r): return DirtyKeys.Owner(kind: .returned, id: r.returnId)
        case .pointsAdjusted(let a): return DirtyKeys.Owner(kind: .adjustment, id: a.key)
        default: return nil
        }
    }

    /// The card entries the event changes (a replacement changes the old card too).
    fileprivate var cardOwnerKeys: [DirtyKeys.Owner] {
        switch self {
        case .cardIssued(let c):
            var out = [DirtyKeys.Owner(kind: .card, id: c.number)]
            if let old = c.replaces { out.append(DirtyKeys.Owner(kind: .card, id: old)) }
            if let key = c.key { out.append(DirtyKeys.Owner(kind: .cardKey, id: key)) }
            return out
        case let .cardBlocked(_, number, _): return [DirtyKeys.Owner(kind: .card, id: number)]
        case .tierSet(let t): return [DirtyKeys.Owner(kind: .tierSet, id: t.key)]
        default: return []
        }
    }
}

/// A reader found the stored state flushed past the checkpoint it started from: it starts again.
struct DecisionStateMoved: Error {}

/// A stored value of the decision state that does not decode: the state is folded anew from the
/// log (`loyalty decisions rebuild`, or deleting `decisions/`).
struct DecisionStateDamaged: Error, CustomStringConvertible {
    let description: String
}

/// What decisions read: the domain model holding the program-wide state and the members and
/// owner-table entries loaded so far (resident), the keys changed since the last flush, and the
/// store the rest is loaded from. A decision first loads what its command reads
/// (`prefetch(_:)`), so the model answers it exactly as a model holding everything would.
///
/// Invariant: every key changed by an event after the store's checkpoint is resident (dirty), so
/// a key that is not resident is as the store has it. Only clean keys are evicted.
struct DecisionState {
    var model = LedgerModel()
    var dirty = DirtyKeys()
    /// nil: the model holds everything (a reader of a ledger without a usable store).
    var store: DecisionStore?
    /// Every member and owner entry is resident (after `loadEverything`, or without a store).
    var complete = false
    /// For a reader (another process may flush meanwhile): the checkpoint position the loaded
    /// entries must come from. A load that finds the store moved on throws
    /// `DecisionStateMoved` (the reader starts again from the new checkpoint). A writer's store
    /// only moves by its own flushes, which leave nothing resident stale: nil.
    var pinnedCheckpoint: UInt64?

    init(store: DecisionStore?) {
        self.store = store
        complete = store == nil
    }

    /// Resident members past which a flush evicts every clean entry.
    static let residentMembersMax = 250_000

    // MARK: Loading

    /// Loads what deciding `command` reads: its members, and the owner entries its ids name
    /// (with the members they name). `expire` and tier evaluation read every member.
    mutating func prefetch(_ command: Command) throws {
        guard let store, !complete else { return }
        if Self.readsEveryone(command) { return try loadEverything() }
        try store.read { r in
            try checkPinned(r)
            try load(command, r)
        }
    }

    /// Loads what deciding each of `commands` reads, as `prefetch(_:)` does, in one read
    /// transaction (a batch of an import reads once, not once per command). Loading is the same
    /// in any order: a key is read only when it is not resident, and then the store has it as
    /// the model would. Returns the error of each command whose load failed, by its index; the
    /// others are loaded.
    mutating func prefetch(_ commands: [Command]) -> [Int: any Error] {
        guard let store, !complete else { return [:] }
        var failed: [Int: any Error] = [:]
        var everyone: [Int] = []
        do {
            try store.read { r in
                try checkPinned(r)
                for i in commands.indices {
                    if Self.readsEveryone(commands[i]) { everyone.append(i); continue }
                    do { try load(commands[i], r) } catch { failed[i] = error }
                }
            }
        } catch {
            for i in commands.indices { failed[i] = error }
            return failed
        }
        if !everyone.isEmpty {
            do { try loadEverything() } catch { for i in everyone { failed[i] = error } }
        }
        return failed
    }

    /// `expire` and tier evaluation read every member.
    private static func readsEveryone(_ command: Command) -> Bool {
        switch command {
        case .expire, .evaluateTiers: return true
        default: return false
        }
    }

    /// Loads the members and owner entries `command` reads, within `r`'s transaction.
    private mutating func load(_ command: Command, _ r: DecisionStore.Reader) throws {
        switch command {
        case .publishProgram, .defineReward, .expire, .evaluateTiers, .setTarget: break
        case let .enroll(m, _, _, _, _, _, _, _), let .updateProfile(m, _, _), let .closeMember(m, _, _):
            try load(member: m, r)
        case .purchase(let p):
            try load(member: p.member, r)
            if let owner = try owner(.purchase, p.purchaseId, r) { try load(member: owner, r) }
        case let .returnPurchase(purchaseId, returnId, _, _):
            _ = try owner(.returned, returnId, r)
            if let owner = try owner(.purchase, purchaseId, r) { try load(member: owner, r) }
        case let .redeem(m, _, id, _, _):
            try load(member: m, r)
            if let owner = try owner(.redemption, id, r) { try load(member: owner, r) }
        case let .reverseRedemption(id, _):
            if let owner = try owner(.redemption, id, r) { try load(member: owner, r) }
        case let .adjust(m, _, _, _, key, _):
            try load(member: m, r)
            _ = try owner(.adjustment, key, r)
        case let .transfer(from, to, _, _, _):
            try load(member: from, r)
            try load(member: to, r)
        case let .hold(m, _, id, _, _):
            try load(member: m, r)
            if let owner = try owner(.hold, id, r) { try load(member: owner, r) }
        case let .release(id, _):
            if let owner = try owner(.hold, id, r) { try load(member: owner, r) }
        case let .issueCard(m, number, key, _):
            try load(member: m, r)
            if let number = try owner(.cardKey, key, r) { try loadCard(number, r) }
            try loadCard(CardNumber.nfc(number), r)
        case let .blockCard(number, _, _):
            try loadCard(CardNumber.nfc(number), r)
        case let .replaceCard(old, new, _):
            try loadCard(CardNumber.nfc(old), r)
            try loadCard(CardNumber.nfc(new), r)
        case .setTier(let c):
            try load(member: c.member, r)
            _ = try owner(.tierSet, c.key, r)
        }
    }

    /// Loads card `number` and its member, unless resident.
    private mutating func loadCard(_ number: String, _ r: DecisionStore.Reader) throws {
        if let member = try owner(.card, number, r) { try load(member: member, r) }
    }

    /// Loads card `number` and its member (a lookup by card), unless resident.
    mutating func prefetch(card number: String) throws {
        guard let store, !complete else { return }
        try store.read { r in
            try checkPinned(r)
            try loadCard(number, r)
        }
    }

    /// Loads the owner of purchase `id` and that member, unless resident.
    mutating func prefetch(purchase id: String) throws {
        guard let store, !complete else { return }
        try store.read { r in
            try checkPinned(r)
            if let owner = try owner(.purchase, id, r) { try load(member: owner, r) }
        }
    }

    /// Loads the member an event of the log changes (applying it reads only that member and
    /// the program-wide state).
    mutating func prefetch(_ event: DomainEvent) throws {
        guard let store, !complete, !event.isProgramWide, !isResident(member: event.stream) else { return }
        try store.read { r in
            try checkPinned(r)
            try load(member: event.stream, r)
        }
    }

    /// Loads member `id` unless resident (or absent from the store too).
    mutating func prefetch(member id: String) throws {
        guard let store, !complete, !isResident(member: id) else { return }
        try store.read { r in
            try checkPinned(r)
            try load(member: id, r)
        }
    }

    /// (By index: `members[id] == nil` would copy the member's state to compare it.)
    private func isResident(member id: String) -> Bool { model.members.index(forKey: id) != nil }

    private func checkPinned(_ r: DecisionStore.Reader) throws {
        guard let pinnedCheckpoint else { return }
        guard try r.checkpoint()?.position == pinnedCheckpoint else { throw DecisionStateMoved() }
    }

    private mutating func load(member id: String, _ r: DecisionStore.Reader) throws {
        guard !isResident(member: id), let bytes = try r.member(id) else { return }
        do {
            model.members[id] = try MemberState(stateBytes: bytes)
        } catch {
            throw DecisionStateDamaged(description: "the stored decision state of member '\(id)' does not decode (\(error)); run `loyalty decisions rebuild`")
        }
    }

    /// The owner entry `kind`/`id`, loaded unless resident; for the member-valued tables, the member.
    private mutating func owner(_ kind: DecisionStore.OwnerKind, _ id: String, _ r: DecisionStore.Reader) throws -> String? {
        if let resident = residentOwner(kind, id) { return resident }
        guard let bytes = try r.owner(kind, id) else { return nil }
        try insertOwner(kind, id, bytes)
        return residentOwner(kind, id)
    }

    private func residentOwner(_ kind: DecisionStore.OwnerKind, _ id: String) -> String? {
        switch kind {
        case .purchase: return model.purchaseOwners[id]
        case .redemption: return model.redemptionOwners[id]
        case .hold: return model.holdOwners[id]
        case .adjustment: return model.adjustmentOwners[id]
        case .returned: return model.returns[id]?.purchaseId
        case .card: return model.cards[id]?.member
        case .cardKey: return model.cardKeys[id]
        case .tierSet: return model.tierSets[id]?.member
        }
    }

    private mutating func insertOwner(_ kind: DecisionStore.OwnerKind, _ id: String, _ bytes: [UInt8]) throws {
        func member() throws -> String {
            guard let m = String(validating: bytes, as: UTF8.self) else {
                throw DecisionStateDamaged(description: "a stored owner entry of '\(id)' is not UTF-8; run `loyalty decisions rebuild`")
            }
            return m
        }
        switch kind {
        case .purchase: model.purchaseOwners[id] = try member()
        case .redemption: model.redemptionOwners[id] = try member()
        case .hold: model.holdOwners[id] = try member()
        case .adjustment: model.adjustmentOwners[id] = try member()
        case .cardKey: model.cardKeys[id] = try member()
        case .tierSet:
            do { model.tierSets[id] = try LedgerModel.tierSetEntry(bytes) } catch {
                throw DecisionStateDamaged(description: "the stored tier set '\(id)' does not decode (\(error)); run `loyalty decisions rebuild`")
            }
        case .card:
            do { model.cards[id] = try LedgerModel.cardEntry(bytes) } catch {
                throw DecisionStateDamaged(description: "the stored card '\(id)' does not decode (\(error)); run `loyalty decisions rebuild`")
            }
        case .returned:
            do { model.returns[id] = try LedgerModel.returnEntry(bytes) } catch {
                throw DecisionStateDamaged(description: "the stored return '\(id)' does not decode (\(error)); run `loyalty decisions rebuild`")
            }
        }
    }

    /// Loads every member and owner entry the store holds (resident ones stay as they are).
    mutating func loadEverything() throws {
        guard let store, !complete else { return }
        try store.read { r in try checkPinned(r) }
        try store.forEachMember { key, bytes in
            guard let id = String(validating: key, as: UTF8.self) else {
                throw DecisionStateDamaged(description: "a stored member id is not UTF-8; run `loyalty decisions rebuild`")
            }
            guard !isResident(member: id) else { return }
            do { model.members[id] = try MemberState(stateBytes: bytes) } catch {
                throw DecisionStateDamaged(description: "the stored decision state of member '\(id)' does not decode (\(error)); run `loyalty decisions rebuild`")
            }
        }
        try store.forEachOwner { key, value in
            guard let first = key.first, let kind = DecisionStore.OwnerKind(rawValue: first),
                  let id = String(validating: key.dropFirst(), as: UTF8.self) else {
                throw DecisionStateDamaged(description: "a stored owner key is damaged; run `loyalty decisions rebuild`")
            }
            guard residentOwner(kind, id) == nil else { return }
            try insertOwner(kind, id, value)
        }
        // Scans read a batch per transaction: a reader checks that no flush came between them.
        try store.read { r in try checkPinned(r) }
        complete = true
    }

    // MARK: Applying

    /// Applies a stored event (see `ModelKeeper.apply`), loading the member it changes first.
    mutating func apply(_ e: RecordedEvent, book: inout ModelKeeper.Book) throws {
        guard let event = try ModelKeeper.decode(e) else {
            book.through = max(book.through, e.position)
            return
        }
        try prefetch(event)
        try ModelKeeper.apply(event, of: e, to: &model)
        dirty.note(event)
        book.through = max(book.through, e.position)
    }

    // MARK: Flushing

    /// The flush of the dirty keys and the program-wide state, checkpointed at `checkpoint`.
    func flush(_ checkpoint: DecisionStore.Checkpoint) -> DecisionStore.Flush {
        var out = DecisionStore.Flush(program: model.programStateBytes, checkpoint: checkpoint)
        out.members.reserveCapacity(dirty.members.count)
        for id in dirty.members {
            if let s = model.members[id] { out.members.append((id, s.stateBytes)) }
        }
        out.owners.reserveCapacity(dirty.owners.count)
        for o in dirty.owners { out.owners.append((o.kind, o.id, Self.ownerValue(o.kind, o.id, in: model))) }
        return out
    }

    /// The stored value of owner entry `kind`/`id` of `model` (nil: it has none).
    static func ownerValue(_ kind: DecisionStore.OwnerKind, _ id: String, in model: LedgerModel) -> [UInt8]? {
        switch kind {
        case .purchase: return model.purchaseOwners[id].map { Array($0.utf8) }
        case .redemption: return model.redemptionOwners[id].map { Array($0.utf8) }
        case .hold: return model.holdOwners[id].map { Array($0.utf8) }
        case .adjustment: return model.adjustmentOwners[id].map { Array($0.utf8) }
        case .returned: return model.returns[id].map(LedgerModel.returnBytes)
        case .card: return model.cards[id].map(LedgerModel.cardBytes)
        case .cardKey: return model.cardKeys[id].map { Array($0.utf8) }
        case .tierSet: return model.tierSets[id].map(LedgerModel.tierSetBytes)
        }
    }

    /// Every owner entry of `model` as the store keys it, in the store's key order.
    static func ownerEntries(of model: LedgerModel) -> [(key: [UInt8], value: [UInt8])] {
        var out: [(key: [UInt8], value: [UInt8])] = []
        func add(_ kind: DecisionStore.OwnerKind, _ ids: some Sequence<String>) {
            for id in ids { if let value = ownerValue(kind, id, in: model) { out.append(([kind.rawValue] + Array(id.utf8), value)) } }
        }
        add(.purchase, model.purchaseOwners.keys)
        add(.redemption, model.redemptionOwners.keys)
        add(.hold, model.holdOwners.keys)
        add(.adjustment, model.adjustmentOwners.keys)
        add(.returned, model.returns.keys)
        add(.card, model.cards.keys)
        add(.cardKey, model.cardKeys.keys)
        add(.tierSet, model.tierSets.keys)
        return out.sorted { $0.key.lexicographicallyPrecedes($1.key) }
    }

    /// After a flush: nothing is dirty; past `residentMembersMax` members, every entry is
    /// dropped (all are clean, so the store has them).
    mutating func flushed() {
        dirty = DirtyKeys()
        guard store != nil, model.members.count > Self.residentMembersMax else { return }
        model.members = [:]
        model.purchaseOwners = [:]
        model.redemptionOwners = [:]
        model.holdOwners = [:]
        model.adjustmentOwners = [:]
        model.returns = [:]
        model.cards = [:]
        model.cardKeys = [:]
        model.tierSets = [:]
        complete = false
    }
}

extension DomainEvent {
    /// Rules and rewards: program-wide, not a member's.
    var isProgramWide: Bool {
        switch self {
        case .programPublished, .rewardDefined, .targetSet: return true
        default: return false
        }
    }
}

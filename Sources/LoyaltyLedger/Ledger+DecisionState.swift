import Crypto
import LedgerProofs
import LedgerStore
import LoyaltyDomain

/// The result of comparing the stored decision state with a fresh fold of the log.
public struct DecisionStateCheck: Sendable {
    /// The log position both reflect (the store's checkpoint).
    public var position: UInt64
    public var members: Int
    public var ownerEntries: Int
    /// SHA-256 over the program-wide state, then each member's state and each owner entry in key
    /// order, as stored and as folded from position 0.
    public var storedDigest: String
    public var foldedDigest: String
    /// The first keys whose values differ (members by id, owner entries as `kind:id`, `program`).
    public var differences: [String]
    public var ok: Bool { storedDigest == foldedDigest && differences.isEmpty }
}

extension Ledger {
    /// Flushes the decision state (a writer, when idle), then compares what is stored, digest for
    /// digest, with a fold of the log from position 0 through the stored checkpoint. Memory grows
    /// with the program (the fold holds every member), like `reconcile`.
    public func checkDecisionState() throws -> DecisionStateCheck {
        keeper.flushIfDue(force: true)
        guard let store = keeper.store, let checkpoint = try store.checkpoint() else {
            throw DecisionStateDamaged(description: "the ledger has no stored decision state yet (a writer makes it at its next open)")
        }
        // The fold, through the checkpoint exactly.
        var model = LedgerModel(), book = ModelKeeper.Book()
        var after: UInt64 = 0
        while after < checkpoint.position {
            let batch = try log.events(after: after, limit: Int(min(checkpoint.position - after, 4_096)))
            guard let last = batch.last else { break }
            for e in batch { try ModelKeeper.apply(e, model: &model, book: &book) }
            after = last.position
        }
        var differences: [String] = []
        func differ(_ key: String) { if differences.count < Self.differencesShownMax { differences.append(key) } }

        var stored = SHA256(), folded = SHA256()
        let storedProgram = try store.read { try $0.program() } ?? []
        stored.update(data: storedProgram)
        folded.update(data: model.programStateBytes)
        if storedProgram != model.programStateBytes { differ("program") }

        // Members, in the store's key order (UTF-8 bytes).
        let ids = model.members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var next = 0, storedMembers = 0
        try store.forEachMember { key, bytes in
            storedMembers += 1
            stored.update(data: key); stored.update(data: bytes)
            // Folded members before this key are missing from the store.
            while next < ids.count, Array(ids[next].utf8).lexicographicallyPrecedes(key) {
                differ(ids[next]); next += 1
            }
            if next < ids.count, Array(ids[next].utf8) == key {
                if model.members[ids[next]]?.stateBytes != bytes { differ(ids[next]) }
                next += 1
            } else {
                differ(String(decoding: key, as: UTF8.self))
            }
        }
        while next < ids.count { differ(ids[next]); next += 1 }
        for id in ids {
            folded.update(data: Array(id.utf8))
            folded.update(data: model.members[id]?.stateBytes ?? [])
        }

        // Owner entries, keyed and ordered as the store keys them.
        let owners = DecisionState.ownerEntries(of: model)
        for (k, v) in owners { folded.update(data: k); folded.update(data: v) }
        var storedOwners = 0
        try store.forEachOwner { key, value in
            stored.update(data: key); stored.update(data: value)
            if storedOwners >= owners.count || owners[storedOwners] != (key, value) {
                differ(Self.ownerName(key))
            }
            storedOwners += 1
        }
        if storedOwners != owners.count { differ("owner entries: \(storedOwners) stored, \(owners.count) folded") }

        func hex(_ d: SHA256.Digest) -> String { Hex.encode(Array(d)) }
        return DecisionStateCheck(position: checkpoint.position, members: storedMembers, ownerEntries: storedOwners,
                                  storedDigest: hex(stored.finalize()), foldedDigest: hex(folded.finalize()), differences: differences)
    }

    static let differencesShownMax = 20

    private static func ownerName(_ key: [UInt8]) -> String {
        guard let first = key.first, let kind = DecisionStore.OwnerKind(rawValue: first) else { return "owner entry" }
        return "\(kind):" + String(decoding: key.dropFirst(), as: UTF8.self)
    }

    /// Empties the stored decision state and folds it anew from position 0 (a writer, when idle).
    public func rebuildDecisionState() throws {
        try keeper.rebuildStore()
    }

    /// Where the stored decision state stands: its checkpoint position and the log's head.
    public func decisionStatePosition() throws -> (checkpoint: UInt64?, head: UInt64) {
        (try keeper.store?.checkpoint()?.position, try log.headPosition())
    }
}

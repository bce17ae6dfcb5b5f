import LoyaltyDomain

/// What a request does, for the role check.
enum Action: Sendable {
    /// A command (its role and, for a till, its store are checked).
    case command(Command)
    /// A bulk import (`POST /v1/imports`): for the roles that may write at all; each line's
    /// command is then checked as `.command`.
    case bulkImport
    /// One member's record or balance (`GET /v1/members/{id}`, `/v1/members/{id}/balance`): the
    /// lookups a till makes at the counter.
    case memberLookup
    /// Any other query or report, `/metrics` included.
    case read
    /// Following the log (`/v1/events`, `/v1/events/stream`).
    case tail
}

/// What each role may do:
///
/// | role | may |
/// | --- | --- |
/// | `till` | enroll, purchase, return: for its own stores only (a return: the purchase's store); look up one member and their balance |
/// | `operator` | every command and import; every read; tail |
/// | `auditor` | every read; tail; no writes |
/// | `consumer` | tail only |
///
/// With no caller (a server run with `--insecure-no-auth`), everything is allowed.
enum Access {
    /// Throws `forbidden` (403) naming what was refused. `storeOfPurchase` gives the store of a
    /// recorded purchase (nil: no such purchase), for a till's return.
    static func check(_ caller: Caller?, _ action: Action,
                      storeOfPurchase: (String) throws -> String? = { _ in nil }) throws {
        guard let caller else { return }
        switch (caller.role, action) {
        case (.operator, _):
            return
        case (.auditor, .read), (.auditor, .memberLookup), (.auditor, .tail):
            return
        case (.consumer, .tail):
            return
        case (.till, .memberLookup), (.till, .bulkImport):
            return
        case (.till, .command(let command)):
            switch command {
            case .enroll(_, let store, _, _, _, _, _, _):
                try tillStore(caller, store, "enroll a member")
            case .purchase(let purchase):
                try tillStore(caller, purchase.store, "record a purchase")
            case .returnPurchase(let purchaseId, _, _, _):
                // An unknown purchase is the domain's refusal (422), not a question of store.
                if let store = try storeOfPurchase(purchaseId) { try tillStore(caller, store, "record a return of purchase '\(purchaseId)'") }
            default:
                throw forbidden(caller, "may not \(describe(action))")
            }
        default:
            throw forbidden(caller, "may not \(describe(action))")
        }
    }

    private static func tillStore(_ caller: Caller, _ store: String, _ what: String) throws {
        guard let stores = caller.stores, !stores.contains(store) else { return }
        throw forbidden(caller, "may not \(what) at store '\(store)' (its stores: \(stores.sorted().joined(separator: ", ")))")
    }

    static func forbidden(_ caller: Caller, _ what: String) -> Problem {
        Problem(.forbidden, "forbidden", "The API key may not do this", detail: "key '\(caller.name)' (role \(caller.role.rawValue)) \(what)")
    }

    /// The refused action in words.
    static func describe(_ action: Action) -> String {
        switch action {
        case .command(let command): return "run '\(command.name)' commands"
        case .bulkImport: return "import"
        case .memberLookup, .read: return "read the ledger"
        case .tail: return "tail the log"
        }
    }
}

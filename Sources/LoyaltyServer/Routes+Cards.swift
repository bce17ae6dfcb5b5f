import Hummingbird
import LedgerJSON
import LoyaltyDomain
import LoyaltyLedger

extension LedgerServer {
    /// Membership cards: issue (`POST /v1/cards`), block, replace, and the lookup a till makes
    /// at the counter (`GET /v1/cards/{number}`: the card's member and status); and an
    /// operator's tier for a member (`POST /v1/members/{id}/tier`).
    func addCardRoutes(to router: Router<ServerContext>) {
        router.post("/v1/cards") { request, context in try await self.command("issue-card", request, context) }
        router.post("/v1/cards/{number}/block") { request, context in
            try await self.command("block-card", request, context, path: ["number": try context.parameters.require("number")], bodyOptional: true)
        }
        router.post("/v1/cards/{number}/replacement") { request, context in
            try await self.command("replace-card", request, context, path: ["card": try context.parameters.require("number")])
        }
        router.post("/v1/members/{id}/tier") { request, context in
            try await self.command("set-tier", request, context, path: ["member": try context.parameters.require("id")])
        }
        router.get("/v1/cards/{number}") { request, context in
            try Access.check(context.caller, .memberLookup)
            let number = try context.parameters.require("number")
            _ = try QueryParameters(request, allowed: [])
            guard let found = try self.app.card(number) else { throw DomainError.unknownCard(CardNumber.nfc(number)) }
            return JSONBody.response(Self.cardJSON(found.number, found.card))
        }
    }

    static func cardJSON(_ number: String, _ c: Card) -> JSONValue {
        .object(["number": .string(number), "member": .string(c.member),
                 "status": .string(c.replacedBy != nil ? "replaced" : c.blocked ? "blocked" : "active"),
                 "replacedBy": c.replacedBy.map { .string($0) }, "replaces": c.replaces.map { .string($0) }])
    }
}

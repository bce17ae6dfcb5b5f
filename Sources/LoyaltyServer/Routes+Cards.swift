import Foundation
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
            try await self.command("block-card", request, context, path: ["number": try Self.cardNumber(context)], bodyOptional: true)
        }
        router.post("/v1/cards/{number}/replacement") { request, context in
            try await self.command("replace-card", request, context, path: ["card": try Self.cardNumber(context)])
        }
        router.post("/v1/members/{id}/tier") { request, context in
            try await self.command("set-tier", request, context, path: ["member": try context.parameters.require("id")])
        }
        router.get("/v1/cards/{number}") { request, context in
            try Access.check(context.caller, .memberLookup)
            let number = try Self.cardNumber(context)
            _ = try QueryParameters(request, allowed: [])
            guard let found = try self.app.card(number) else { throw DomainError.unknownCard(CardNumber.nfc(number)) }
            return JSONBody.response(Self.cardJSON(found.number, found.card))
        }
    }

    /// The `{number}` path parameter, percent-decoded (card numbers may be in any script); a
    /// malformed escape or one that is not UTF-8 is a 400 naming the parameter.
    static func cardNumber(_ context: ServerContext) throws -> String {
        let raw = try context.parameters.require("number")
        guard let decoded = raw.removingPercentEncoding else {
            throw Problem.invalidParameter("number", "path parameter 'number': '\(raw)' is not percent-encoded UTF-8")
        }
        return decoded
    }

    static func cardJSON(_ number: String, _ c: Card) -> JSONValue {
        .object(["number": .string(number), "member": .string(c.member),
                 "status": .string(c.replacedBy != nil ? "replaced" : c.blocked ? "blocked" : "active"),
                 "replacedBy": c.replacedBy.map { .string($0) }, "replaces": c.replaces.map { .string($0) }])
    }
}

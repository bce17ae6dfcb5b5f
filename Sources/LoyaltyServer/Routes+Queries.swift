import Hummingbird
import LedgerJSON
import LoyaltyAudit
import LoyaltyDomain
import LoyaltyLedger

extension LedgerServer {
    /// The query routes.
    func addQueryRoutes(to router: Router<ServerContext>) {
        router.get("/v1/members/{id}") { request, context in
            try Access.check(context.caller, .memberLookup)
            let member = try context.parameters.require("id")
            let record = try self.app.member(member, at: self.now)
            return JSONBody.response(record.json)
        }
        router.get("/v1/members/{id}/balance") { request, context in
            try Access.check(context.caller, .memberLookup)
            let member = try context.parameters.require("id")
            let asOf = try self.time(request, "asOf")
            let knownAt = try self.time(request, "knownAt")
            if asOf == nil && knownAt == nil {
                return JSONBody.response(try self.app.balance(member: member, at: self.now).json)
            }
            let filter = ViewFilter(asOf: asOf, knownAt: knownAt)
            let folded = try self.app.historicalBalance(member: member, filter: filter, at: asOf ?? self.now)
            guard folded.value.hasEvents else { throw Problem.notFound("member '\(member)' has no events in this view") }
            return JSONBody.response(folded.value.balance.json)
        }
    }

    /// Query parameter `name` as a time (RFC 3339, or a date: local midnight in the program's zone).
    func time(_ request: Request, _ name: String) throws -> Timestamp? {
        guard let text = request.uri.queryParameters[Substring(name)].map(String.init) else { return nil }
        guard let requested = RequestedTime(text) else {
            throw Problem.invalidParameter(name, "'\(text)' is not an RFC 3339 time or a YYYY-MM-DD date")
        }
        return try app.resolve(requested)
    }
}

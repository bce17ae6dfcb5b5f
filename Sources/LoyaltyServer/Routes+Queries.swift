import Hummingbird
import LedgerJSON
import LoyaltyAudit
import LoyaltyDomain
import LoyaltyLedger
import Projections

extension LedgerServer {
    /// The query routes: each answers what the CLI command of the same name prints as JSON.
    /// Reads of the projections first catch them up when they are near (`catchUpIfNear`), so
    /// that a client reads what it just wrote.
    func addQueryRoutes(to router: Router<ServerContext>) {
        router.get("/v1/members/{id}") { request, context in
            try Access.check(context.caller, .memberLookup)
            let member = try context.parameters.require("id")
            _ = try QueryParameters(request, allowed: [])
            _ = try self.app.catchUpIfNear([MemberViews.name, Balances.name])
            let record = try self.app.member(member, at: self.now)
            return JSONBody.response(record.json)
        }
        router.get("/v1/members/{id}/balance") { request, context in
            try Access.check(context.caller, .memberLookup)
            let member = try context.parameters.require("id")
            let query = try QueryParameters(request, allowed: ["asOf", "knownAt"])
            let asOf = try query.time("asOf", self.app)
            let knownAt = try query.time("knownAt", self.app)
            if asOf == nil && knownAt == nil {
                return JSONBody.response(try self.app.balance(member: member, at: self.now).json)
            }
            let filter = ViewFilter(asOf: asOf, knownAt: knownAt)
            let folded = try self.app.historicalBalance(member: member, filter: filter, at: asOf ?? self.now)
            guard folded.value.hasEvents else { throw Problem.notFound("member '\(member)' has no events in this view") }
            return JSONBody.response(folded.value.balance.json)
        }
        router.get("/v1/members/{id}/history") { request, context in
            try Access.check(context.caller, .read)
            let member = try context.parameters.require("id")
            let query = try QueryParameters(request, allowed: ["from", "to"])
            let (from, to) = (try query.time("from", self.app), try query.time("to", self.app))
            let format = try ListingFormat(accept: request.headers[.accept])
            try self.app.requireEvents(member)
            let app = self.app
            return StreamedBody.response(contentType: format.contentType, logger: context.logger) { channel in
                let header = format == .csv ? Array((HistoryRow.csvColumns.joined(separator: ",") + "\n").utf8) : []
                // (A client gone away drops the rest; the final send below then throws.)
                let neutralised = try app.history(member: member, from: from, to: to, header: header, flushBytes: 64 << 10, format: { row, out in
                    if format == .csv { row.writeCSV(into: &out) } else { row.writeJSON(into: &out); out.append(0x0A) }
                }, flush: { bytes in _ = try? channel.send(bytes) })
                // The member's neutralised events, after the rows (JSON Lines only: CSV has no column for them).
                var out: [UInt8] = []
                if format == .jsonLines {
                    for n in neutralised { out += JSONCanonical.encode(n.json); out.append(0x0A) }
                }
                try channel.send(out)
            }
        }
        router.get("/v1/members/{id}/explain") { request, context in
            try Access.check(context.caller, .read)
            let member = try context.parameters.require("id")
            let query = try QueryParameters(request, allowed: ["at"])
            let at = try query.time("at", self.app) ?? self.now
            let app = self.app
            return JSONBody.response(try await StreamedBody.onThread { try app.explain(member: member, at: at).json })
        }
        router.get("/v1/members") { request, context in
            try Access.check(context.caller, .read)
            let query = try QueryParameters(request, allowed: ["stage", "store", "tier"])
            let filter = MemberFilter(stage: try query.string("stage"), store: try query.string("store"), tier: try query.string("tier"))
            let format = try ListingFormat(accept: request.headers[.accept])
            let (app, at) = (self.app, self.now)
            try app.validate(filter, at: at)
            _ = try app.catchUpIfNear([MemberViews.name, Balances.name])
            try app.refuseIfStopped([MemberViews.name, Balances.name], member: nil)
            return StreamedBody.response(contentType: format.contentType, logger: context.logger) { channel in
                var out: [UInt8] = format == .csv ? Array((MemberColumns.csv.joined(separator: ",") + "\n").utf8) : []
                try app.members(filter, at: at) { record in
                    if format == .csv {
                        out += MemberColumns.csvRow(record.json).utf8
                    } else {
                        out += JSONCanonical.encode(record.json)
                    }
                    out.append(0x0A)
                    if out.count >= 64 << 10 {
                        try channel.send(out)
                        out.removeAll(keepingCapacity: true)
                    }
                }
                try channel.send(out)
            }
        }
        router.get("/v1/figures") { request, context in
            try Access.check(context.caller, .read)
            let query = try QueryParameters(request, allowed: ["by", "from", "to", "store", "at"])
            let figures = FiguresQuery(from: try query.date("from"), to: try query.date("to"), store: try query.string("store"),
                                       grouping: try query.choice("by", FiguresGrouping.self) ?? .day)
            let at = try query.time("at", self.app) ?? self.now
            let app = self.app
            return JSONBody.response(try await StreamedBody.onThread {
                _ = try app.catchUpIfNear([ProgramFigures.name, Balances.name])
                return try app.figures(figures, at: at).json
            })
        }
        router.get("/v1/projections") { request, context in
            try Access.check(context.caller, .read)
            _ = try QueryParameters(request, allowed: [])
            return JSONBody.response(.object(["projections": .array(try self.app.projections().status().map(\.json))]))
        }
        router.get("/v1/reconciliation") { request, context in
            try Access.check(context.caller, .read)
            _ = try QueryParameters(request, allowed: [])
            return JSONBody.response(try await self.reconciliations.latest(app: self.app, now: { self.now }))
        }
        router.get("/v1/stats") { request, context in
            try Access.check(context.caller, .read)
            _ = try QueryParameters(request, allowed: [])
            let app = self.app
            return JSONBody.response(try await StreamedBody.onThread { try app.stats().json })
        }
    }
}

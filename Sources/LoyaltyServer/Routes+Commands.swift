import Hummingbird
import LedgerJSON
import LedgerStore
import LoyaltyDomain
import LoyaltyLedger

extension LedgerServer {
    /// The command routes: each names one command of `schemas/commands/`; its body is that
    /// command's JSON object without the `command` field, and path parameters fill the fields
    /// they name.
    func addCommandRoutes(to router: Router<ServerContext>) {
        router.post("/v1/members") { request, context in try await self.command("enroll", request, context) }
        router.post("/v1/purchases") { request, context in try await self.command("purchase", request, context) }
        router.post("/v1/returns") { request, context in try await self.command("return", request, context) }
        router.post("/v1/redemptions") { request, context in try await self.command("redeem", request, context) }
        router.post("/v1/redemptions/{id}/reversal") { request, context in
            try await self.command("reverse-redemption", request, context, path: ["redemptionId": try context.parameters.require("id")])
        }
        router.post("/v1/adjustments") { request, context in try await self.command("adjust", request, context) }
        router.post("/v1/transfers") { request, context in try await self.command("transfer", request, context) }
        router.post("/v1/holds") { request, context in try await self.command("hold", request, context) }
        router.delete("/v1/holds/{id}") { request, context in
            try await self.command("release", request, context, path: ["holdId": try context.parameters.require("id")], bodyOptional: true)
        }
        router.put("/v1/rewards/{id}") { request, context in
            try await self.command("define-reward", request, context, path: ["rewardId": try context.parameters.require("id")])
        }
        router.post("/v1/program/rules") { request, context in try await self.publishRules(request, context) }
    }

    /// Reads the body as the JSON of command `name`, carries it out and answers `201` with the
    /// events written (through `idempotent`).
    func command(_ name: String, _ request: Request, _ context: ServerContext, path: [String: String] = [:],
                 bodyOptional: Bool = false) async throws -> Response {
        let bytes = try await JSONBody.bytes(request, limit: configuration.commandBodyBytesMax)
        return try await idempotent(request, context, body: bytes) {
            var fields: [(key: String, value: JSONValue)] = []
            if !(bodyOptional && bytes.isEmpty), case .object(let pairs) = try JSONBody.object(bytes, contentType: request.headers[.contentType]) {
                fields = pairs
            }
            if fields.contains(where: { $0.key == "command" }) {
                throw Problem(.badRequest, "unknown-field", "The body has a field this request does not take",
                              detail: "field 'command': the route names the command", field: "command")
            }
            for (key, value) in path.sorted(by: { $0.key < $1.key }) {
                if let given = fields.first(where: { $0.key == key }) {
                    guard given.value == .string(value) else {
                        throw Problem.invalidField(key, "field '\(key)': \(given.value) differs from the path's '\(value)'")
                    }
                } else {
                    fields.append((key: key, value: .string(value)))
                }
            }
            fields.append((key: "command", value: .string(name)))
            return try await self.carryOut(try Command(json: .object(fields), now: self.now), context)
        }
    }

    /// `POST /v1/program/rules?at=T`: the body is a rules document (schemas/program-rules.schema.json,
    /// as `loyalty program publish` reads it), in force from `at` (default: now). The answer has
    /// the events written and, when a time zone name was recorded as its offset, a `note`.
    func publishRules(_ request: Request, _ context: ServerContext) async throws -> Response {
        let query = try QueryParameters(request, allowed: ["at"])
        let bytes = try await JSONBody.bytes(request, limit: configuration.commandBodyBytesMax)
        return try await idempotent(request, context, body: bytes) {
            _ = try JSONBody.object(bytes, contentType: request.headers[.contentType])
            let at = try query.time("at", self.app) ?? self.now
            let (rules, note) = try LedgerApplication.rules(document: bytes, effectiveAt: at)
            var answer = try await self.carryOut(.publishProgram(rules, at: at), context)
            if let note, case .object(var fields) = answer.body {
                fields.append((key: "note", value: .string(note)))
                answer.body = .object(fields)
            }
            return answer
        }
    }

    /// Carries `command` out: `201` with the events written. A retry of a command already
    /// carried out (its own idempotency key) is answered with the same body, read back from
    /// the log; nothing is written.
    func carryOut(_ command: Command, _ context: ServerContext) async throws -> (status: HTTPResponse.Status, body: JSONValue) {
        try Access.check(context.caller, .command(command), storeOfPurchase: { try self.ledger.purchase($0)?.store })
        let outcome = try await ledger.execute(command, actor: context.caller?.name)
        if outcome.replayed, let key = command.idempotencyKey {
            return (.created, try originalAnswer(key: key))
        }
        let events: [JSONValue] = outcome.events.map { position, event in
            .object(["position": .int(Int64(position)), "type": .string(event.type), "member": .string(event.stream), "data": event.json])
        }
        return (.created, .object(["events": .array(events)]))
    }

    /// The answer a command with idempotency key `key` got when it was carried out: its events,
    /// read back from the log (`key#0`, `key#1`, ... are consecutive).
    func originalAnswer(key: String) throws -> JSONValue {
        guard let first = try app.log.position(ofKey: key + "#0") else { return .object(["events": .array([])]) }
        var events: [JSONValue] = []
        var position = first
        while let stored = try app.log.event(at: position), stored.idempotencyKey == key + "#\(events.count)" {
            let data = (try? JSONCanonical.parse(utf8: stored.data)) ?? .null
            events.append(.object(["position": .int(Int64(position)), "type": .string(stored.type), "member": .string(stored.member), "data": data]))
            position += 1
        }
        return .object(["events": .array(events)])
    }
}

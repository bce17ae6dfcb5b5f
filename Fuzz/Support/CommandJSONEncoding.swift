import LedgerJSON
import LoyaltyDomain

/// A command as the JSON object `Command(json:now:)` reads (schemas/commands/), written for the
/// round trip of the fuzz targets: `Command(json: json(c)) == c`. Every field is written out,
/// defaults included, so a field the parser drops or mis-reads shows as a difference.
enum CommandJSONEncoding {
    static func json(_ command: Command) -> JSONValue {
        func time(_ t: Timestamp) -> JSONValue { .string(t.rfc3339) }
        func strings(_ m: [String: String]) -> JSONValue { .object(m.sorted { $0.key < $1.key }.map { (key: $0.key, value: .string($0.value)) }) }
        switch command {
        case let .publishProgram(rules, at):
            return .object(["command": .string("publish-program"), "rules": rules.json, "occurredAt": time(at)])
        case let .enroll(member, store, brand, channel, birthDate, gender, profile, at):
            return .object(["command": .string("enroll"), "member": .string(member), "store": .string(store), "brand": .string(brand),
                            "channel": .string(channel), "birthDate": birthDate.map { .string($0) }, "gender": gender.map { .string($0) },
                            "profile": strings(profile), "occurredAt": time(at)])
        case let .updateProfile(member, changes, at):
            return .object(["command": .string("update-profile"), "member": .string(member), "changes": strings(changes), "occurredAt": time(at)])
        case let .closeMember(member, reason, at):
            return .object(["command": .string("close-member"), "member": .string(member), "reason": .string(reason), "occurredAt": time(at)])
        case .purchase(let p):
            return .object(["command": .string("purchase"), "member": .string(p.member), "purchaseId": .string(p.purchaseId),
                            "amount": .string(p.amount), "currency": p.currency.map { .string($0) }, "store": .string(p.store),
                            "lines": .array(p.lines.map { .object(["category": .string($0.category), "amount": .string($0.amount)]) }),
                            "paidWithPoints": p.paidWithPoints.map { .string($0) }, "occurredAt": time(p.at)])
        case let .returnPurchase(purchaseId, returnId, amount, at):
            return .object(["command": .string("return"), "purchaseId": .string(purchaseId), "returnId": .string(returnId),
                            "amount": amount.map { .string($0) }, "occurredAt": time(at)])
        case let .redeem(member, points, redemptionId, reward, at):
            return .object(["command": .string("redeem"), "member": .string(member), "points": points.map { .int($0) },
                            "redemptionId": .string(redemptionId), "reward": reward.map { .string($0) }, "occurredAt": time(at)])
        case let .reverseRedemption(redemptionId, at):
            return .object(["command": .string("reverse-redemption"), "redemptionId": .string(redemptionId), "occurredAt": time(at)])
        case let .adjust(member, points, reason, operatorId, key, at):
            return .object(["command": .string("adjust"), "member": .string(member), "points": .int(points), "reason": .string(reason),
                            "operator": .string(operatorId), "key": .string(key), "occurredAt": time(at)])
        case let .transfer(from, to, points, key, at):
            return .object(["command": .string("transfer"), "from": .string(from), "to": .string(to), "points": .int(points),
                            "key": .string(key), "occurredAt": time(at)])
        case let .hold(member, points, holdId, expiresAt, at):
            return .object(["command": .string("hold"), "member": .string(member), "points": .int(points), "holdId": .string(holdId),
                            "expiresAt": time(expiresAt), "occurredAt": time(at)])
        case let .release(holdId, at):
            return .object(["command": .string("release"), "holdId": .string(holdId), "occurredAt": time(at)])
        case let .defineReward(rewardId, name, cost, stock, budget, at):
            return .object(["command": .string("define-reward"), "rewardId": .string(rewardId), "name": .string(name), "cost": .int(cost),
                            "stock": stock.map { .int($0) }, "budget": budget.map { .int($0) }, "occurredAt": time(at)])
        case .expire(let asOf):
            return .object(["command": .string("expire"), "asOf": time(asOf)])
        case .evaluateTiers(let asOf):
            return .object(["command": .string("evaluate-tiers"), "asOf": time(asOf)])
        case let .issueCard(member, number, key, at):
            return .object(["command": .string("issue-card"), "member": .string(member), "number": .string(number), "key": .string(key),
                            "occurredAt": time(at)])
        case let .blockCard(number, reason, at):
            return .object(["command": .string("block-card"), "number": .string(number), "reason": .string(reason), "occurredAt": time(at)])
        case let .replaceCard(old, new, at):
            return .object(["command": .string("replace-card"), "card": .string(old), "number": .string(new), "occurredAt": time(at)])
        case .setTier(let c):
            return .object(["command": .string("set-tier"), "member": .string(c.member), "tier": .string(c.tier), "reason": .string(c.reason),
                            "operator": .string(c.operatorId), "key": .string(c.key), "until": c.until.map(time), "floor": .bool(c.floor),
                            "occurredAt": time(c.at)])
        case let .setTarget(t, at):
            return .object(["command": .string("set-target"), "store": .string(t.store), "period": .string(t.period),
                            "metric": .string(t.metric), "value": .int(t.value), "occurredAt": time(at)])
        }
    }

    /// The properties every parsed command must have: its JSON form reads back as the same
    /// command, and the canonical bytes of that form parse back to the same JSON value.
    static func checkRoundTrip(_ command: Command, origin: String) {
        let encoded = json(command)
        let bytes = JSONCanonical.encode(encoded)
        let text = String(decoding: bytes, as: UTF8.self)
        let reparsedJSON: JSONValue
        do { reparsedJSON = try JSONCanonical.parse(text) } catch {
            FuzzCheck.require(false, "\(origin): canonical JSON of a command does not parse (\(error)): \(text)")
            return
        }
        FuzzCheck.require(JSONCanonical.encode(reparsedJSON) == bytes, "\(origin): canonical JSON is not a fixed point: \(text)")
        do {
            let again = try Command(json: reparsedJSON, now: FuzzCheck.now)
            FuzzCheck.require(again == command, "\(origin): command re-read differently:\n  \(command)\n  \(again)")
        } catch {
            FuzzCheck.require(false, "\(origin): the JSON form of a parsed command is refused (\(error)): \(text)")
        }
    }

    /// The JSON parser's own round trip: what it parsed, encoded canonically, parses back to a
    /// value with the same canonical bytes (objects keep their members' order, so compare bytes).
    static func checkJSONRoundTrip(_ value: JSONValue, origin: String) {
        let bytes = JSONCanonical.encode(value)
        let text = String(decoding: bytes, as: UTF8.self)
        do {
            let again = try JSONCanonical.parse(text)
            FuzzCheck.require(JSONCanonical.encode(again) == bytes, "\(origin): canonical JSON re-parsed to a different value: \(text)")
        } catch {
            FuzzCheck.require(false, "\(origin): canonical JSON of a parsed value does not parse (\(error)): \(text)")
        }
    }
}

public import LedgerJSON

extension LotAllocation {
    var json: JSONValue { .object(["lotId": .string(lotId), "points": .int(points)]) }
    init(_ r: JSONObjectReader) throws { self.init(lotId: try r.string("lotId"), points: try r.int("points")) }
}

extension LotSource {
    var json: JSONValue {
        switch self {
        case .purchase(let id): return .object(["id": .string(id), "kind": .string("purchase")])
        case .adjustment(let id): return .object(["id": .string(id), "kind": .string("adjustment")])
        case .transfer(let id): return .object(["id": .string(id), "kind": .string("transfer")])
        case .bonus(let id): return .object(["id": .string(id), "kind": .string("bonus")])
        }
    }

    init(_ r: JSONObjectReader) throws {
        let id = try r.string("id")
        switch try r.string("kind") {
        case "purchase": self = .purchase(id)
        case "adjustment": self = .adjustment(id)
        case "transfer": self = .transfer(id)
        case "bonus": self = .bonus(id)
        case let other: throw JSONFieldError(field: "\(r.path).kind", reason: "unknown lot source '\(other)'")
        }
    }
}

private func time(_ t: Timestamp) -> JSONValue { .string(t.rfc3339) }
private func optionalTime(_ t: Timestamp?) -> JSONValue? { t.map { .string($0.rfc3339) } }
private func strings(_ d: [String: String]) -> JSONValue { .object(d.map { (key: $0.key, value: .string($0.value)) }) }

private func readTime(_ r: JSONObjectReader, _ key: String) throws -> Timestamp {
    guard let t = try readOptionalTime(r, key) else { throw JSONFieldError(field: key, reason: "missing") }
    return t
}

private func readOptionalTime(_ r: JSONObjectReader, _ key: String) throws -> Timestamp? {
    guard let text = try r.optionalString(key) else { return nil }
    guard let t = Timestamp(rfc3339: text) else { throw JSONFieldError(field: key, reason: "'\(text)' is not an RFC 3339 time") }
    return t
}

private func readStrings(_ r: JSONObjectReader, _ key: String) throws -> [String: String] {
    guard let o = try r.optionalObject(key) else { return [:] }
    var out: [String: String] = [:]
    for k in o.keys.sorted() { out[k] = try o.string(k) }
    return out
}

extension DomainEvent {
    /// The event's payload as canonical JSON (the log's `data`).
    public var json: JSONValue {
        switch self {
        case .memberEnrolled(let e):
            return .object(["member": .string(e.member), "brand": .string(e.brand), "store": .string(e.store),
                            "channel": .string(e.channel), "birthDate": e.birthDate.map { .string($0) },
                            "gender": e.gender.map { .string($0) }, "profile": e.profile.isEmpty ? nil : strings(e.profile)])
        case let .profileUpdated(m, changes):
            return .object(["member": .string(m), "changes": strings(changes)])
        case let .memberClosed(m, reason):
            return .object(["member": .string(m), "reason": .string(reason)])
        case .purchaseRecorded(let e):
            // Keys in canonical (sorted) order: the encoder then skips sorting.
            return .object(["amount": .int(e.amount), "currency": .string(e.currency),
                            "lines": e.lines.isEmpty ? nil : .array(e.lines.map { .object(["amount": .int($0.amount), "category": .string($0.category)]) }),
                            "member": .string(e.member), "paidWithPoints": e.paidWithPoints == 0 ? nil : .int(e.paidWithPoints),
                            "purchaseId": .string(e.purchaseId), "store": .string(e.store)])
        case .purchaseReturned(let e):
            return .object(["amount": .int(e.amount), "clawedBack": .array(e.clawedBack.map(\.json)), "debt": .int(e.debt),
                            "forgiven": .int(e.forgiven), "member": .string(e.member), "purchaseId": .string(e.purchaseId),
                            "returnId": .string(e.returnId)])
        case .pointsEarned(let e):
            return .object(["availableAt": time(e.availableAt), "birthdayBonus": e.birthdayBonus.map { .int($0) },
                            "capCounted": e.capCounted.map { .int($0) }, "debtPaid": e.debtPaid == 0 ? nil : .int(e.debtPaid),
                            "expiresAt": optionalTime(e.expiresAt), "lotId": .string(e.lotId), "member": .string(e.member),
                            "points": .int(e.points), "rule": .string(e.rule), "ruleVersion": .int(e.ruleVersion), "source": e.source.json])
        case .pointsRedeemed(let e):
            return .object(["member": .string(e.member), "redemptionId": .string(e.redemptionId), "points": .int(e.points),
                            "reward": e.reward.map { .string($0) }, "allocations": .array(e.allocations.map(\.json))])
        case .redemptionReversed(let e):
            return .object(["member": .string(e.member), "redemptionId": .string(e.redemptionId),
                            "restored": .array(e.restored.map(\.json)), "expired": .array(e.expired.map(\.json)),
                            "debtPaid": e.debtPaid == 0 ? nil : .int(e.debtPaid)])
        case .pointsAdjusted(let e):
            return .object(["member": .string(e.member), "key": .string(e.key), "points": .int(e.points),
                            "reason": .string(e.reason), "operator": .string(e.operatorId), "lotId": e.lotId.map { .string($0) },
                            "expiresAt": optionalTime(e.expiresAt), "allocations": e.allocations.isEmpty ? nil : .array(e.allocations.map(\.json))])
        case let .pointsExpired(m, lot, points):
            return .object(["member": .string(m), "lotId": .string(lot), "points": .int(points)])
        case let .pointsHeld(m, hold, points, expiresAt):
            return .object(["member": .string(m), "holdId": .string(hold), "points": .int(points), "expiresAt": time(expiresAt)])
        case let .holdReleased(m, hold):
            return .object(["member": .string(m), "holdId": .string(hold)])
        case .pointsTransferredOut(let e), .pointsTransferredIn(let e):
            return .object(["from": .string(e.from), "to": .string(e.to), "transferId": .string(e.transferId),
                            "points": .int(e.points), "allocations": .array(zip(e.allocations, e.expiries).map { a, x in
                                .object(["lotId": .string(a.lotId), "points": .int(a.points), "expiresAt": optionalTime(x)])
                            })])
        case .tierChanged(let e):
            return .object(["member": .string(e.member), "from": e.from.map { .string($0) }, "to": e.to.map { .string($0) },
                            "reason": .string(e.reason), "qualifyingValue": .int(e.qualifyingValue),
                            "windowFrom": time(e.windowFrom), "windowTo": time(e.windowTo), "floorUntil": optionalTime(e.floorUntil)])
        case .rewardDefined(let e):
            return .object(["rewardId": .string(e.rewardId), "name": .string(e.name), "cost": .int(e.cost),
                            "stock": e.stock.map { .int($0) }, "budget": e.budget.map { .int($0) }])
        case .programPublished(let rules):
            return rules.json
        case .cardIssued(let e):
            return .object(["member": .string(e.member), "number": .string(e.number), "key": e.key.map { .string($0) },
                            "replaces": e.replaces.map { .string($0) }])
        case let .cardBlocked(m, number, reason):
            return .object(["member": .string(m), "number": .string(number), "reason": .string(reason)])
        case .tierSet(let e):
            return .object(["member": .string(e.member), "key": .string(e.key), "tier": .string(e.tier), "from": e.from.map { .string($0) },
                            "reason": .string(e.reason), "operator": .string(e.operatorId), "floor": e.floor ? .bool(true) : nil,
                            "until": optionalTime(e.until)])
        case .targetSet(let e):
            return .object(["metric": .string(e.metric), "period": .string(e.period), "store": .string(e.store), "value": .int(e.value)])
        }
    }

    /// Decodes a stored event. Older schema versions would be upcast here (v1 is the only one).
    public static func decode(type: String, schemaVersion: UInt32, json: JSONValue) throws -> DomainEvent {
        guard schemaVersion == 1 else {
            throw JSONFieldError(field: "schemaVersion", reason: "\(type) v\(schemaVersion) is newer than this build (v1)")
        }
        let r = try JSONObjectReader(json)
        switch type {
        case "member.enrolled":
            return .memberEnrolled(.init(member: try r.string("member"), brand: try r.string("brand"), store: try r.string("store"),
                                         channel: try r.string("channel"), birthDate: try r.optionalString("birthDate"),
                                         gender: try r.optionalString("gender"), profile: try readStrings(r, "profile")))
        case "member.profile_updated":
            return .profileUpdated(member: try r.string("member"), changes: try readStrings(r, "changes"))
        case "member.closed":
            return .memberClosed(member: try r.string("member"), reason: try r.string("reason"))
        case "purchase.recorded":
            return .purchaseRecorded(.init(member: try r.string("member"), purchaseId: try r.string("purchaseId"),
                                           store: try r.string("store"), amount: try r.int("amount"), currency: try r.string("currency"),
                                           lines: try r.objects("lines").map { .init(category: try $0.string("category"), amount: try $0.int("amount")) },
                                           paidWithPoints: try r.optionalInt("paidWithPoints") ?? 0))
        case "purchase.returned":
            return .purchaseReturned(.init(member: try r.string("member"), purchaseId: try r.string("purchaseId"),
                                           returnId: try r.string("returnId"), amount: try r.int("amount"),
                                           clawedBack: try r.objects("clawedBack").map(LotAllocation.init),
                                           debt: try r.int("debt"), forgiven: try r.int("forgiven")))
        case "points.earned":
            return .pointsEarned(.init(member: try r.string("member"), lotId: try r.string("lotId"), points: try r.int("points"),
                                       source: try LotSource(try r.object("source")), ruleVersion: try r.int("ruleVersion"),
                                       rule: try r.string("rule"), availableAt: try readTime(r, "availableAt"),
                                       expiresAt: try readOptionalTime(r, "expiresAt"), debtPaid: try r.optionalInt("debtPaid") ?? 0,
                                       capCounted: try r.optionalInt("capCounted"), birthdayBonus: try r.optionalInt("birthdayBonus")))
        case "points.redeemed":
            return .pointsRedeemed(.init(member: try r.string("member"), redemptionId: try r.string("redemptionId"),
                                         points: try r.int("points"), reward: try r.optionalString("reward"),
                                         allocations: try r.objects("allocations").map(LotAllocation.init)))
        case "redemption.reversed":
            return .redemptionReversed(.init(member: try r.string("member"), redemptionId: try r.string("redemptionId"),
                                             restored: try r.objects("restored").map(LotAllocation.init),
                                             expired: try r.objects("expired").map(LotAllocation.init),
                                             debtPaid: try r.optionalInt("debtPaid") ?? 0))
        case "points.adjusted":
            return .pointsAdjusted(.init(member: try r.string("member"), key: try r.string("key"), points: try r.int("points"),
                                         reason: try r.string("reason"), operatorId: try r.string("operator"),
                                         lotId: try r.optionalString("lotId"), expiresAt: try readOptionalTime(r, "expiresAt"),
                                         allocations: try r.objects("allocations").map(LotAllocation.init)))
        case "points.expired":
            return .pointsExpired(member: try r.string("member"), lotId: try r.string("lotId"), points: try r.int("points"))
        case "points.held":
            return .pointsHeld(member: try r.string("member"), holdId: try r.string("holdId"), points: try r.int("points"),
                               expiresAt: try readTime(r, "expiresAt"))
        case "points.hold_released":
            return .holdReleased(member: try r.string("member"), holdId: try r.string("holdId"))
        case "points.transferred_out", "points.transferred_in":
            let allocations = try r.objects("allocations")
            let transfer = PointsTransfer(from: try r.string("from"), to: try r.string("to"), transferId: try r.string("transferId"),
                                          points: try r.int("points"), allocations: try allocations.map(LotAllocation.init),
                                          expiries: try allocations.map { try readOptionalTime($0, "expiresAt") })
            return type == "points.transferred_out" ? .pointsTransferredOut(transfer) : .pointsTransferredIn(transfer)
        case "tier.changed":
            return .tierChanged(.init(member: try r.string("member"), from: try r.optionalString("from"), to: try r.optionalString("to"),
                                      reason: try r.string("reason"), qualifyingValue: try r.int("qualifyingValue"),
                                      windowFrom: try readTime(r, "windowFrom"), windowTo: try readTime(r, "windowTo"),
                                      floorUntil: try readOptionalTime(r, "floorUntil")))
        case "reward.defined":
            return .rewardDefined(.init(rewardId: try r.string("rewardId"), name: try r.string("name"), cost: try r.int("cost"),
                                        stock: try r.optionalInt("stock"), budget: try r.optionalInt("budget")))
        case "program.published":
            return .programPublished(try ProgramRules(json: json))
        case "card.issued":
            return .cardIssued(.init(member: try r.string("member"), number: try r.string("number"), key: try r.optionalString("key"),
                                     replaces: try r.optionalString("replaces")))
        case "card.blocked":
            return .cardBlocked(member: try r.string("member"), number: try r.string("number"), reason: try r.string("reason"))
        case "tier.set":
            return .tierSet(.init(member: try r.string("member"), key: try r.string("key"), tier: try r.string("tier"),
                                  from: try r.optionalString("from"), reason: try r.string("reason"), operatorId: try r.string("operator"),
                                  floor: try r.bool("floor", default: false), until: try readOptionalTime(r, "until")))
        case "target.set":
            return .targetSet(.init(store: try r.string("store"), period: try r.string("period"), metric: try r.string("metric"),
                                    value: try r.int("value")))
        default:
            throw JSONFieldError(field: "type", reason: "unknown event type '\(type)'")
        }
    }
}

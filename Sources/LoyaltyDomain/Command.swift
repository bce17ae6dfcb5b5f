public import LedgerJSON

/// A request to the program. JSON form: an object with a `command` field naming it, camelCase
/// fields, money as decimal strings ("12.50"), times as RFC 3339 (schemas/commands/).
public enum Command: Hashable, Sendable {
    case publishProgram(ProgramRules, at: Timestamp)
    case enroll(member: String, store: String, brand: String, channel: String, birthDate: String?, gender: String?,
                profile: [String: String], at: Timestamp)
    case updateProfile(member: String, changes: [String: String], at: Timestamp)
    case closeMember(member: String, reason: String, at: Timestamp)
    case purchase(Purchase)
    case returnPurchase(purchaseId: String, returnId: String, amount: String?, at: Timestamp)
    case redeem(member: String, points: Points?, redemptionId: String, reward: String?, at: Timestamp)
    case reverseRedemption(redemptionId: String, at: Timestamp)
    case adjust(member: String, points: Points, reason: String, operatorId: String, key: String, at: Timestamp)
    case transfer(from: String, to: String, points: Points, key: String, at: Timestamp)
    case hold(member: String, points: Points, holdId: String, expiresAt: Timestamp, at: Timestamp)
    case release(holdId: String, at: Timestamp)
    case defineReward(rewardId: String, name: String, cost: Points, stock: Int64?, budget: Points?, at: Timestamp)
    case expire(asOf: Timestamp)
    case evaluateTiers(asOf: Timestamp)
    case issueCard(member: String, number: String, key: String, at: Timestamp)
    case blockCard(number: String, reason: String, at: Timestamp)
    case replaceCard(old: String, new: String, at: Timestamp)
    case setTier(SetTier)

    /// An operator's tier for a member (`tier.set`); `until` goes with `floor` (the floor's end).
    public struct SetTier: Hashable, Sendable {
        public var member: String
        public var tier: String
        public var reason: String
        public var operatorId: String
        public var key: String
        public var until: Timestamp?
        public var floor: Bool
        public var at: Timestamp
        public init(member: String, tier: String, reason: String, operatorId: String, key: String, until: Timestamp?, floor: Bool, at: Timestamp) {
            (self.member, self.tier, self.reason, self.operatorId, self.key, self.until, self.floor, self.at) =
                (member, tier, reason, operatorId, key, until, floor, at)
        }
    }
    case setTarget(DomainEvent.TargetSet, at: Timestamp)

    public struct Purchase: Hashable, Sendable {
        public var member: String
        public var purchaseId: String
        /// Decimal string in the program currency ("12.50").
        public var amount: String
        public var currency: String?
        public var store: String
        public var lines: [(category: String, amount: String)] = []
        public var paidWithPoints: String?
        public var at: Timestamp

        public init(member: String, purchaseId: String, amount: String, currency: String? = nil, store: String,
                    lines: [(category: String, amount: String)] = [], paidWithPoints: String? = nil, at: Timestamp) {
            (self.member, self.purchaseId, self.amount, self.currency, self.store) = (member, purchaseId, amount, currency, store)
            (self.lines, self.paidWithPoints, self.at) = (lines, paidWithPoints, at)
        }

        public static func == (a: Purchase, b: Purchase) -> Bool {
            a.member == b.member && a.purchaseId == b.purchaseId && a.amount == b.amount && a.currency == b.currency
                && a.store == b.store && a.paidWithPoints == b.paidWithPoints && a.at == b.at
                && a.lines.map(\.category) == b.lines.map(\.category) && a.lines.map(\.amount) == b.lines.map(\.amount)
        }
        public func hash(into h: inout Hasher) { h.combine(purchaseId) }
    }

    /// The permanent idempotency key: a retry with the same key is answered with the original
    /// outcome; the same key with a different command is a conflict. Nil: naturally idempotent.
    public var idempotencyKey: String? {
        switch self {
        case .publishProgram(let rules, _): return "program:v\(rules.version)"
        case .enroll(let m, _, _, _, _, _, _, _): return "enroll:\(m)"
        case .updateProfile, .closeMember, .expire, .evaluateTiers: return nil
        case .purchase(let p): return "purchase:" + p.purchaseId  // (concatenation: one per purchase imported)
        case .returnPurchase(_, let id, _, _): return "return:\(id)"
        case .redeem(_, _, let id, _, _): return "redeem:\(id)"
        case .reverseRedemption(let id, _): return "reverse:\(id)"
        case .adjust(_, _, _, _, let key, _): return "adjust:\(key)"
        case .transfer(_, _, _, let key, _): return "transfer:\(key)"
        case .hold(_, _, let id, _, _): return "hold:\(id)"
        case .release(let id, _): return "release:\(id)"
        case .defineReward, .setTarget: return nil
        case .issueCard(_, _, let key, _): return "card:\(key)"
        // (By number, in NFC as the events store it: a card is blocked once, replaced once.)
        case .blockCard(let number, _, _): return "card-block:" + CardNumber.nfc(number)
        case .replaceCard(let old, _, _): return "card-replace:" + CardNumber.nfc(old)
        case .setTier(let c): return "tier:\(c.key)"
        }
    }

    public var at: Timestamp {
        switch self {
        case .publishProgram(_, let at), .updateProfile(_, _, let at), .closeMember(_, _, let at),
             .returnPurchase(_, _, _, let at), .redeem(_, _, _, _, let at), .reverseRedemption(_, let at),
             .adjust(_, _, _, _, _, let at), .transfer(_, _, _, _, let at), .hold(_, _, _, _, let at), .release(_, let at),
             .defineReward(_, _, _, _, _, let at), .issueCard(_, _, _, let at), .blockCard(_, _, let at), .replaceCard(_, _, let at), .setTarget(_, let at): return at
        case .setTier(let c): return c.at
        case .enroll(_, _, _, _, _, _, _, let at): return at
        case .purchase(let p): return p.at
        case .expire(let at), .evaluateTiers(let at): return at
        }
    }
}

extension Command {
    public static let names = ["publish-program", "enroll", "update-profile", "close-member", "purchase", "return", "redeem",
                               "reverse-redemption", "adjust", "transfer", "hold", "release", "define-reward", "expire",
                               "evaluate-tiers", "issue-card", "block-card", "replace-card", "set-tier", "set-target"]

    /// The command's name in JSON (`command`), one of `names`.
    public var name: String {
        switch self {
        case .publishProgram: return "publish-program"
        case .enroll: return "enroll"
        case .updateProfile: return "update-profile"
        case .closeMember: return "close-member"
        case .purchase: return "purchase"
        case .returnPurchase: return "return"
        case .redeem: return "redeem"
        case .reverseRedemption: return "reverse-redemption"
        case .adjust: return "adjust"
        case .transfer: return "transfer"
        case .hold: return "hold"
        case .release: return "release"
        case .defineReward: return "define-reward"
        case .expire: return "expire"
        case .evaluateTiers: return "evaluate-tiers"
        case .issueCard: return "issue-card"
        case .blockCard: return "block-card"
        case .replaceCard: return "replace-card"
        case .setTier: return "set-tier"
        case .setTarget: return "set-target"
        }
    }

    /// Reads a JSON command object. `now` fills an absent `occurredAt` (or `asOf`).
    public init(json: JSONValue, now: Timestamp) throws {
        let r = try JSONObjectReader(json)
        let name = try r.string("command")
        func time(_ key: String) throws -> Timestamp {
            guard let text = try r.optionalString(key) else { return now }
            guard let t = Timestamp(rfc3339: text) else {
                throw DomainError.invalid(field: key, value: text, reason: "is not an RFC 3339 time or YYYY-MM-DD date")
            }
            return t
        }
        func fields(_ names: Set<String>) throws { try r.rejectUnknown(names.union(["command", "occurredAt"])) }
        let at = try time("occurredAt")
        switch name {
        case "publish-program":
            try fields(["rules"])
            guard let rules = r.value("rules") else { throw JSONFieldError(field: "rules", reason: "missing") }
            self = .publishProgram(try ProgramRules(json: rules), at: at)
        case "enroll":
            try fields(["member", "store", "brand", "channel", "birthDate", "gender", "profile"])
            var profile: [String: String] = [:]
            if let p = try r.optionalObject("profile") { for k in p.keys.sorted() { profile[k] = try p.string(k) } }
            self = .enroll(member: try r.string("member"), store: try r.string("store"), brand: try r.optionalString("brand") ?? "main",
                           channel: try r.optionalString("channel") ?? "store", birthDate: try r.optionalString("birthDate"),
                           gender: try r.optionalString("gender"), profile: profile, at: at)
        case "update-profile":
            try fields(["member", "changes"])
            var changes: [String: String] = [:]
            let c = try r.object("changes")
            for k in c.keys.sorted() { changes[k] = try c.string(k) }
            self = .updateProfile(member: try r.string("member"), changes: changes, at: at)
        case "close-member":
            try fields(["member", "reason"])
            self = .closeMember(member: try r.string("member"), reason: try r.string("reason"), at: at)
        case "purchase":
            try fields(["member", "purchaseId", "amount", "currency", "store", "lines", "paidWithPoints"])
            self = .purchase(Purchase(member: try r.string("member"), purchaseId: try r.string("purchaseId"), amount: try r.string("amount"),
                                      currency: try r.optionalString("currency"), store: try r.string("store"),
                                      lines: try r.objects("lines").map { (try $0.string("category"), try $0.string("amount")) },
                                      paidWithPoints: try r.optionalString("paidWithPoints"), at: at))
        case "return":
            try fields(["purchaseId", "returnId", "amount"])
            self = .returnPurchase(purchaseId: try r.string("purchaseId"), returnId: try r.string("returnId"),
                                   amount: try r.optionalString("amount"), at: at)
        case "redeem":
            try fields(["member", "points", "redemptionId", "reward"])
            self = .redeem(member: try r.string("member"), points: try r.optionalInt("points"), redemptionId: try r.string("redemptionId"),
                           reward: try r.optionalString("reward"), at: at)
        case "reverse-redemption":
            try fields(["redemptionId"])
            self = .reverseRedemption(redemptionId: try r.string("redemptionId"), at: at)
        case "adjust":
            try fields(["member", "points", "reason", "operator", "key"])
            self = .adjust(member: try r.string("member"), points: try r.int("points"), reason: try r.string("reason"),
                           operatorId: try r.optionalString("operator") ?? "unknown", key: try r.string("key"), at: at)
        case "transfer":
            try fields(["from", "to", "points", "key"])
            self = .transfer(from: try r.string("from"), to: try r.string("to"), points: try r.int("points"), key: try r.string("key"), at: at)
        case "hold":
            try fields(["member", "points", "holdId", "expiresAt"])
            self = .hold(member: try r.string("member"), points: try r.int("points"), holdId: try r.string("holdId"),
                         expiresAt: try time("expiresAt"), at: at)
        case "release":
            try fields(["holdId"])
            self = .release(holdId: try r.string("holdId"), at: at)
        case "define-reward":
            try fields(["rewardId", "name", "cost", "stock", "budget"])
            self = .defineReward(rewardId: try r.string("rewardId"), name: try r.optionalString("name") ?? (try r.string("rewardId")),
                                 cost: try r.int("cost"), stock: try r.optionalInt("stock"), budget: try r.optionalInt("budget"), at: at)
        case "expire":
            try fields(["asOf"])
            self = .expire(asOf: try time("asOf"))
        case "evaluate-tiers":
            try fields(["asOf"])
            self = .evaluateTiers(asOf: try time("asOf"))
        case "issue-card":
            try fields(["member", "number", "key"])
            self = .issueCard(member: try r.string("member"), number: try r.string("number"), key: try r.string("key"), at: at)
        case "block-card":
            try fields(["number", "reason"])
            self = .blockCard(number: try r.string("number"), reason: try r.optionalString("reason") ?? "blocked", at: at)
        case "replace-card":
            try fields(["card", "number"])
            self = .replaceCard(old: try r.string("card"), new: try r.string("number"), at: at)
        case "set-tier":
            try fields(["member", "tier", "reason", "operator", "key", "until", "floor"])
            let until: Timestamp? = try r.optionalString("until") == nil ? nil : time("until")
            self = .setTier(.init(member: try r.string("member"), tier: try r.string("tier"), reason: try r.string("reason"),
                                  operatorId: try r.optionalString("operator") ?? "unknown", key: try r.string("key"), until: until,
                                  floor: try r.bool("floor", default: false), at: at))
        case "set-target":
            try fields(["store", "period", "metric", "value"])
            self = .setTarget(.init(store: try r.string("store"), period: try r.string("period"), metric: try r.string("metric"),
                                    value: try r.int("value")), at: at)
        default:
            throw JSONFieldError(field: "command", reason: "unknown command '\(name)' (one of \(Command.names.joined(separator: ", ")))")
        }
    }
}

extension Command {
    /// Checks every field against `DomainLimits` (ids, texts, times, points, counts); a refusal
    /// names the field and the value. Money strings are checked where the program's currency
    /// exponent is known (`LedgerModel.money`).
    public func validate() throws(DomainError) {
        try Check.time(at, self.timeField)
        switch self {
        case let .publishProgram(rules, _): try rules.validate()
        case let .enroll(m, store, brand, channel, birthDate, gender, profile, _):
            try Check.id(m, "member"); try Check.id(store, "store"); try Check.id(brand, "brand"); try Check.id(channel, "channel")
            if let b = birthDate { try Self.checkDate(b, "birthDate") }
            if let g = gender { try Check.text(g, "gender") }
            try Self.checkProfile(profile, "profile")
        case let .updateProfile(m, changes, _):
            try Check.id(m, "member")
            try Self.checkProfile(changes, "changes")
        case let .closeMember(m, reason, _): try Check.id(m, "member"); try Check.text(reason, "reason")
        case .purchase(let p):
            try Check.id(p.member, "member"); try Check.id(p.purchaseId, "purchaseId"); try Check.id(p.store, "store")
            if let c = p.currency { try Self.checkCurrency(c, "currency") }
            try Check.count(p.lines.count, max: DomainLimits.purchaseLinesMax, "lines")
            for (i, line) in p.lines.enumerated() { try Check.id(line.category, "lines[\(i)].category") }
        case let .returnPurchase(purchaseId, returnId, _, _): try Check.id(purchaseId, "purchaseId"); try Check.id(returnId, "returnId")
        case let .redeem(m, points, id, reward, _):
            try Check.id(m, "member"); try Check.id(id, "redemptionId")
            if let points { try Check.points(points, "points") }
            if let reward { try Check.id(reward, "reward") }
        case let .reverseRedemption(id, _): try Check.id(id, "redemptionId")
        case let .adjust(m, points, reason, op, key, _):
            try Check.id(m, "member"); try Check.id(key, "key"); try Check.id(op, "operator")
            try Check.range(points, -DomainLimits.pointsMax...DomainLimits.pointsMax, "points")
            try Check.text(reason, "reason", allowEmpty: false)
        case let .transfer(from, to, points, key, _):
            try Check.id(from, "from"); try Check.id(to, "to"); try Check.id(key, "key"); try Check.points(points, "points")
        case let .hold(m, points, id, expiresAt, _):
            try Check.id(m, "member"); try Check.id(id, "holdId"); try Check.points(points, "points")
            try Check.time(expiresAt, "expiresAt")
        case let .release(id, _): try Check.id(id, "holdId")
        case let .defineReward(id, name, cost, stock, budget, _):
            try Check.id(id, "rewardId"); try Check.text(name, "name", allowEmpty: false); try Check.points(cost, "cost")
            if let stock { try Check.range(stock, 0...DomainLimits.stockMax, "stock") }
            if let budget { try Check.pointsOrZero(budget, "budget") }
        case .expire, .evaluateTiers: break
        case let .issueCard(m, number, key, _):
            try Check.id(m, "member"); _ = try CardNumber.normalized(number, "number"); try Check.id(key, "key")
        case let .blockCard(number, reason, _):
            _ = try CardNumber.normalized(number, "number"); try Check.text(reason, "reason", allowEmpty: false)
        case let .replaceCard(old, new, _):
            _ = try CardNumber.normalized(old, "card"); _ = try CardNumber.normalized(new, "number")
        case .setTier(let c):
            try Check.id(c.member, "member"); try Check.id(c.tier, "tier"); try Check.id(c.operatorId, "operator"); try Check.id(c.key, "key")
            try Check.text(c.reason, "reason", allowEmpty: false)
            if let u = c.until { try Check.time(u, "until") }
        case .setTarget(let t, _): try DomainEvent.target(t)
        }
    }

    /// The name of the field `at` comes from.
    var timeField: String {
        switch self {
        case .expire, .evaluateTiers: return "asOf"
        default: return "occurredAt"
        }
    }

    static func checkProfile(_ entries: [String: String], _ field: String) throws(DomainError) {
        try Check.count(entries.count, max: DomainLimits.profileEntriesMax, field)
        for (key, value) in entries.sorted(by: { $0.key < $1.key }) {
            try Check.text(key, "\(field) key", allowEmpty: false)
            try Check.text(value, "\(field).\(key)")
        }
    }

    /// A date `YYYY-MM-DD` from 1900-01-01 to 9999-12-31.
    static func checkDate(_ text: String, _ field: String) throws(DomainError) {
        guard text.utf8.count == 10, let t = Timestamp(rfc3339: text) else {
            throw .invalid(field: field, value: DomainLimits.shown(text), reason: "is not a date (YYYY-MM-DD)")
        }
        try Check.time(t, field)
    }

    /// Three uppercase ASCII letters (ISO 4217).
    static func checkCurrency(_ text: String, _ field: String) throws(DomainError) {
        guard text.utf8.count == 3, text.utf8.allSatisfy({ (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }) else {
            throw .invalid(field: field, value: DomainLimits.shown(text), reason: "must be three uppercase ASCII letters (ISO 4217)")
        }
    }
}

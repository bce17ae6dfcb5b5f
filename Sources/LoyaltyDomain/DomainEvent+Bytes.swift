import LedgerJSON
#if canImport(Glibc)
import Glibc
#endif

/// Decoding stored events straight from their canonical JSON bytes (the log's `data`): one
/// hand-written reader per event type on `CanonicalScanner`, no `JSONValue` tree, no dictionary
/// of members. Anything outside the canonical subset (white space, escapes, nulls, unknown or
/// repeated keys, missing fields, wrong types, other schema versions, `program.published`) is
/// decoded by the general path instead, `JSONCanonical.parse` + `decode(type:schemaVersion:json:)`,
/// so both accept and reject exactly the same inputs with the same results and errors.
extension DomainEvent {
    /// Decodes a stored event from its `data` bytes.
    public static func decode(type: String, schemaVersion: UInt32, bytes: [UInt8]) throws -> DomainEvent {
        try bytes.withUnsafeBufferPointer { try decode(type: type, schemaVersion: schemaVersion, bytes: $0) }
    }

    /// Decodes a stored event from its `data` bytes, in place (for readers of LMDB pages).
    package static func decode(type: String, schemaVersion: UInt32, bytes: UnsafeBufferPointer<UInt8>) throws -> DomainEvent {
        if schemaVersion == 1, let kind = FastKind(type: type), let event = try? fastDecode(kind, bytes) { return event }
        return try decodeGeneral(type: type, schemaVersion: schemaVersion, bytes: bytes)
    }

    /// Decodes a stored event read in place, type and data as bytes; nil when the type is not a
    /// domain type (`isDomainType`). The common types are told by their bytes, with no `String`
    /// made of the type (a projection rebuild decodes every event); the rest take
    /// `decode(type:schemaVersion:bytes:)`. Same results and errors as that.
    package static func decode(typeBytes: UnsafeRawBufferPointer, schemaVersion: UInt32,
                              bytes: UnsafeBufferPointer<UInt8>) throws -> DomainEvent? {
        if let kind = FastKind(typeBytes: typeBytes) {
            if schemaVersion == 1, let event = try? fastDecode(kind, bytes) { return event }
            return try decodeGeneral(type: String(decoding: typeBytes, as: UTF8.self), schemaVersion: schemaVersion, bytes: bytes)
        }
        // Invalid UTF-8 cannot spell a domain type: repaired, it is not one either.
        let type = String(decoding: typeBytes, as: UTF8.self)
        guard isDomainType(type) else { return nil }
        return try decode(type: type, schemaVersion: schemaVersion, bytes: bytes)
    }

    /// The general path: the canonical JSON parsed into a `JSONValue`, then decoded field by
    /// field; the authority the fast decoders must agree with.
    static func decodeGeneral(type: String, schemaVersion: UInt32, bytes: UnsafeBufferPointer<UInt8>) throws -> DomainEvent {
        let json = try JSONCanonical.parse(String(decoding: bytes, as: UTF8.self))
        return try decode(type: type, schemaVersion: schemaVersion, json: json)
    }

    /// True for the types in `allTypes` (a switch, not a linear search of strings per event).
    public static func isDomainType(_ type: String) -> Bool {
        FastKind(type: type) != nil || type == "program.published" || type == "card.issued" || type == "card.blocked" || type == "tier.set" || type == "target.set"
    }

    /// The event types the fast decoder reads (all but the rare ones: `program.published`, the
    /// card events, `tier.set`, `target.set`).
    enum FastKind {
        case memberEnrolled, profileUpdated, memberClosed, purchaseRecorded, purchaseReturned, pointsEarned, pointsRedeemed
        case redemptionReversed, pointsAdjusted, pointsExpired, pointsHeld, holdReleased, transferredOut, transferredIn
        case tierChanged, rewardDefined

        /// The kind whose type name is exactly these bytes (the names are ASCII), or nil.
        init?(typeBytes b: UnsafeRawBufferPointer) {
            guard b.count > 0 else { return nil }
            // By length first, then the bytes: one comparison for nearly every event.
            for kind in Self.byLength[min(b.count, Self.byLength.count - 1)] {
                if kind.name.utf8CodeUnitCount == b.count, memcmp(kind.name.utf8Start, b.baseAddress!, b.count) == 0 {
                    self = kind.kind
                    return
                }
            }
            return nil
        }

        /// The names by length (index: byte count; the last bucket is empty: longer than any).
        private static let byLength: [[(name: StaticString, kind: FastKind)]] = {
            let all: [(StaticString, FastKind)] = [
                ("purchase.recorded", .purchaseRecorded), ("points.earned", .pointsEarned), ("member.enrolled", .memberEnrolled),
                ("points.redeemed", .pointsRedeemed), ("purchase.returned", .purchaseReturned), ("points.expired", .pointsExpired),
                ("member.profile_updated", .profileUpdated), ("member.closed", .memberClosed),
                ("redemption.reversed", .redemptionReversed), ("points.adjusted", .pointsAdjusted), ("points.held", .pointsHeld),
                ("points.hold_released", .holdReleased), ("points.transferred_out", .transferredOut),
                ("points.transferred_in", .transferredIn), ("tier.changed", .tierChanged), ("reward.defined", .rewardDefined),
            ]
            let longest = all.map { $0.0.utf8CodeUnitCount }.max() ?? 0
            var out = Array(repeating: [(name: StaticString, kind: FastKind)](), count: longest + 2)
            for (name, kind) in all { out[name.utf8CodeUnitCount].append((name, kind)) }
            return out
        }()

        init?(type: String) {
            switch type {
            case "purchase.recorded": self = .purchaseRecorded
            case "points.earned": self = .pointsEarned
            case "member.enrolled": self = .memberEnrolled
            case "points.redeemed": self = .pointsRedeemed
            case "purchase.returned": self = .purchaseReturned
            case "points.expired": self = .pointsExpired
            case "member.profile_updated": self = .profileUpdated
            case "member.closed": self = .memberClosed
            case "redemption.reversed": self = .redemptionReversed
            case "points.adjusted": self = .pointsAdjusted
            case "points.held": self = .pointsHeld
            case "points.hold_released": self = .holdReleased
            case "points.transferred_out": self = .transferredOut
            case "points.transferred_in": self = .transferredIn
            case "tier.changed": self = .tierChanged
            case "reward.defined": self = .rewardDefined
            default: return nil
            }
        }
    }

    static func fastDecode(_ kind: FastKind, _ bytes: UnsafeBufferPointer<UInt8>) throws(NotCanonical) -> DomainEvent {
        var s = try CanonicalScanner(bytes)
        let event: DomainEvent
        switch kind {
        case .memberEnrolled: event = try FastDecoders.memberEnrolled(&s)
        case .profileUpdated: event = try FastDecoders.profileUpdated(&s)
        case .memberClosed: event = try FastDecoders.memberClosed(&s)
        case .purchaseRecorded: event = try FastDecoders.purchaseRecorded(&s)
        case .purchaseReturned: event = try FastDecoders.purchaseReturned(&s)
        case .pointsEarned: event = try FastDecoders.pointsEarned(&s)
        case .pointsRedeemed: event = try FastDecoders.pointsRedeemed(&s)
        case .redemptionReversed: event = try FastDecoders.redemptionReversed(&s)
        case .pointsAdjusted: event = try FastDecoders.pointsAdjusted(&s)
        case .pointsExpired: event = try FastDecoders.pointsExpired(&s)
        case .pointsHeld: event = try FastDecoders.pointsHeld(&s)
        case .holdReleased: event = try FastDecoders.holdReleased(&s)
        case .transferredOut: event = .pointsTransferredOut(try FastDecoders.pointsTransfer(&s))
        case .transferredIn: event = .pointsTransferredIn(try FastDecoders.pointsTransfer(&s))
        case .tierChanged: event = try FastDecoders.tierChanged(&s)
        case .rewardDefined: event = try FastDecoders.rewardDefined(&s)
        }
        guard s.atEnd else { throw NotCanonical() }  // the general parser reports trailing text
        return event
    }
}

/// One reader per event type: fields in any order, each at most once, unknown keys refused (the
/// general decoder ignores them: it gets those inputs).
private enum FastDecoders {
    typealias PurchaseRecorded = DomainEvent.PurchaseRecorded
    typealias PointsTransfer = DomainEvent.PointsTransfer

    struct TransferLots {
        var lots: [LotAllocation] = []
        var expiries: [Timestamp?] = []
    }

    static func allocation(_ s: inout CanonicalScanner) throws(NotCanonical) -> LotAllocation {
        var lotId: String?, points: Int64?
        var seen: UInt32 = 0, first = true
        try s.beginObject()
        while let k = try s.nextKey(first: &first) {
            if k.is("lotId") {
                try CanonicalScanner.once(&seen, 0); lotId = try s.string()
            } else if k.is("points") {
                try CanonicalScanner.once(&seen, 1); points = try s.int()
            } else {
                throw NotCanonical()
            }
        }
        guard let lotId, let points else { throw NotCanonical() }
        return LotAllocation(lotId: lotId, points: points)
    }

    static func allocations(_ s: inout CanonicalScanner) throws(NotCanonical) -> [LotAllocation] {
        var out: [LotAllocation] = []
        try s.array { (s: inout CanonicalScanner) throws(NotCanonical) in out.append(try allocation(&s)) }
        return out
    }

    static func transferLots(_ s: inout CanonicalScanner) throws(NotCanonical) -> TransferLots {
        var out = TransferLots()
        try s.array { (s: inout CanonicalScanner) throws(NotCanonical) in
            var lotId: String?, points: Int64?, expiresAt: Timestamp?
            var seen: UInt32 = 0, first = true
            try s.beginObject()
            while let k = try s.nextKey(first: &first) {
                if k.is("expiresAt") {
                    try CanonicalScanner.once(&seen, 0); expiresAt = try s.time()
                } else if k.is("lotId") {
                    try CanonicalScanner.once(&seen, 1); lotId = try s.string()
                } else if k.is("points") {
                    try CanonicalScanner.once(&seen, 2); points = try s.int()
                } else {
                    throw NotCanonical()
                }
            }
            guard let lotId, let points else { throw NotCanonical() }
            out.lots.append(LotAllocation(lotId: lotId, points: points))
            out.expiries.append(expiresAt)
        }
        return out
    }

    static func lines(_ s: inout CanonicalScanner) throws(NotCanonical) -> [PurchaseRecorded.Line] {
        var out: [PurchaseRecorded.Line] = []
        try s.array { (s: inout CanonicalScanner) throws(NotCanonical) in
            var category: String?, amount: Int64?
            var seen: UInt32 = 0, first = true
            try s.beginObject()
            while let k = try s.nextKey(first: &first) {
                if k.is("amount") {
                    try CanonicalScanner.once(&seen, 0); amount = try s.int()
                } else if k.is("category") {
                    try CanonicalScanner.once(&seen, 1); category = try s.string()
                } else {
                    throw NotCanonical()
                }
            }
            guard let category, let amount else { throw NotCanonical() }
            out.append(.init(category: category, amount: amount))
        }
        return out
    }

    static func source(_ s: inout CanonicalScanner) throws(NotCanonical) -> LotSource {
        var id: String?, kind: LotSourceKind?
        var seen: UInt32 = 0, first = true
        try s.beginObject()
        while let k = try s.nextKey(first: &first) {
            if k.is("id") {
                try CanonicalScanner.once(&seen, 0); id = try s.string()
            } else if k.is("kind") {
                try CanonicalScanner.once(&seen, 1)
                let (start, count, _) = try s.rawString()
                kind = LotSourceKind(ScannedKey(start: s.base + start, count: count))
            } else {
                throw NotCanonical()
            }
        }
        guard let id, let kind else { throw NotCanonical() }  // an unknown kind: the general path names it
        switch kind {
        case .purchase: return .purchase(id)
        case .adjustment: return .adjustment(id)
        case .transfer: return .transfer(id)
        case .bonus: return .bonus(id)
        }
    }

    enum LotSourceKind {
        case purchase, adjustment, transfer, bonus
        init?(_ k: ScannedKey) {
            if k.is("purchase") { self = .purchase } else if k.is("adjustment") { self = .adjustment }
            else if k.is("transfer") { self = .transfer } else if k.is("bonus") { self = .bonus } else { return nil }
        }
    }

    /// An object of string values (profiles, profile changes).
    static func stringMap(_ s: inout CanonicalScanner) throws(NotCanonical) -> [String: String] {
        var out: [String: String] = [:]
        var first = true
        try s.beginObject()
        while let k = try s.nextKey(first: &first) {
            let bytes = UnsafeBufferPointer(start: k.start, count: k.count)
            guard let key = String(validating: bytes, as: UTF8.self) else { throw NotCanonical() }
            let value = try s.string()
            guard out.updateValue(value, forKey: key) == nil else { throw NotCanonical() }  // duplicate key
        }
        return out
    }

    static func memberEnrolled(_ s: inout CanonicalScanner) throws(NotCanonical) -> DomainEvent {
        var member: String?; var brand: String?; var store: String?; var channel: String?; var birthDate: String?; var gender: String?; var profile: [String: String] = [:]
        var seen: UInt32 = 0, first = true
        try s.beginObject()
        while let k = try s.nextKey(first: &first) {
            if k.is("member") {
                try CanonicalScanner.once(&seen, 0); member = try s.string()
            } else if k.is("brand") {
                try CanonicalScanner.once(&seen, 1); brand = try s.string()
            } else if k.is("store") {
                try CanonicalScanner.once(&seen, 2); store = try s.string()
            } else if k.is("channel") {
                try CanonicalScanner.once(&seen, 3); channel = try s.string()
            } else if k.is("birthDate") {
                try CanonicalScanner.once(&seen, 4); birthDate = try s.string()
            } else if k.is("gender") {
                try CanonicalScanner.once(&seen, 5); gender = try s.string()
            } else if k.is("profile") {
                try CanonicalScanner.once(&seen, 6); profile = try Self.stringMap(&s)
            } else {
                throw NotCanonical()
            }
        }
        guard let member, let brand, let store, let channel else { throw NotCanonical() }
        return .memberEnrolled(.init(member: member, brand: brand, store: store, channel: channel, birthDate: birthDate, gender: gender, profile: profile))
    }

    static func profileUpdated(_ s: inout CanonicalScanner) throws(NotCanonical) -> DomainEvent {
        var member: String?; var changes: [String: String] = [:]
        var seen: UInt32 = 0, first = true
        try s.beginObject()
        while let k = try s.nextKey(first: &first) {
            if k.is("member") {
                try CanonicalScanner.once(&seen, 0); member = try s.string()
            } else if k.is("changes") {
                try CanonicalScanner.once(&seen, 1); changes = try Self.stringMap(&s)
            } else {
                throw NotCanonical()
            }
        }
        guard let member else { throw NotCanonical() }
        return .profileUpdated(member: member, changes: changes)
    }

    static func memberClosed(_ s: inout CanonicalScanner) throws(NotCanonical) -> DomainEvent {
        var member: String?; var reason: String?
        var seen: UInt32 = 0, first = true
        try s.beginObject()
        while let k = try s.nextKey(first: &first) {
            if k.is("member") {
                try CanonicalScanner.once(&seen, 0); member = try s.string()
            } else if k.is("reason") {
                try CanonicalScanner.once(&seen, 1); reason = try s.string()
            } else {
                throw NotCanonical()
            }
        }
        guard let member, let reason else { throw NotCanonical() }
        return .memberClosed(member: member, reason: reason)
    }

    static func purchaseRecorded(_ s: inout CanonicalScanner) throws(NotCanonical) -> DomainEvent {
        var amount: Int64?; var currency: String?; var lines: [PurchaseRecorded.Line] = []; var member: String?; var paidWithPoints: Int64?; var purchaseId: String?; var store: String?
        var seen: UInt32 = 0, first = true
        try s.beginObject()
        while let k = try s.nextKey(first: &first) {
            if k.is("amount") {
                try CanonicalScanner.once(&seen, 0); amount = try s.int()
            } else if k.is("currency") {
                try CanonicalScanner.once(&seen, 1); currency = try s.string()
            } else if k.is("lines") {
                try CanonicalScanner.once(&seen, 2); lines = try Self.lines(&s)
            } else if k.is("member") {
                try CanonicalScanner.once(&seen, 3); member = try s.string()
            } else if k.is("paidWithPoints") {
                try CanonicalScanner.once(&seen, 4); paidWithPoints = try s.int()
            } else if k.is("purchaseId") {
                try CanonicalScanner.once(&seen, 5); purchaseId = try s.string()
            } else if k.is("store") {
                try CanonicalScanner.once(&seen, 6); store = try s.string()
            } else {
                throw NotCanonical()
            }
        }
        guard let amount, let currency, let member, let purchaseId, let store else { throw NotCanonical() }
        return .purchaseRecorded(.init(member: member, purchaseId: purchaseId, store: store, amount: amount, currency: currency, lines: lines, paidWithPoints: paidWithPoints ?? 0))
    }

    static func purchaseReturned(_ s: inout CanonicalScanner) throws(NotCanonical) -> DomainEvent {
        var amount: Int64?; var clawedBack: [LotAllocation] = []; var debt: Int64?; var forgiven: Int64?; var member: String?; var purchaseId: String?; var returnId: String?
        var seen: UInt32 = 0, first = true
        try s.beginObject()
        while let k = try s.nextKey(first: &first) {
            if k.is("amount") {
                try CanonicalScanner.once(&seen, 0); amount = try s.int()
            } else if k.is("clawedBack") {
                try CanonicalScanner.once(&seen, 1); clawedBack = try Self.allocations(&s)
            } else if k.is("debt") {
                try CanonicalScanner.once(&seen, 2); debt = try s.int()
            } else if k.is("forgiven") {
                try CanonicalScanner.once(&seen, 3); forgiven = try s.int()
            } else if k.is("member") {
                try CanonicalScanner.once(&seen, 4); member = try s.string()
            } else if k.is("purchaseId") {
                try CanonicalScanner.once(&seen, 5); purchaseId = try s.string()
            } else if k.is("returnId") {
                try CanonicalScanner.once(&seen, 6); returnId = try s.string()
            } else {
                throw NotCanonical()
            }
        }
        guard let amount, let debt, let forgiven, let member, let purchaseId, let returnId else { throw NotCanonical() }
        return .purchaseReturned(.init(member: member, purchaseId: purchaseId, returnId: returnId, amount: amount, clawedBack: clawedBack, debt: debt, forgiven: forgiven))
    }

    static func pointsEarned(_ s: inout CanonicalScanner) throws(NotCanonical) -> DomainEvent {
        var availableAt: Timestamp?; var birthdayBonus: Int64?; var capCounted: Int64?; var debtPaid: Int64?; var expiresAt: Timestamp?; var lotId: String?; var member: String?; var points: Int64?; var rule: String?; var ruleVersion: Int64?; var source: LotSource?
        var seen: UInt32 = 0, first = true
        try s.beginObject()
        while let k = try s.nextKey(first: &first) {
            if k.is("availableAt") {
                try CanonicalScanner.once(&seen, 0); availableAt = try s.time()
            } else if k.is("birthdayBonus") {
                try CanonicalScanner.once(&seen, 1); birthdayBonus = try s.int()
            } else if k.is("capCounted") {
                try CanonicalScanner.once(&seen, 2); capCounted = try s.int()
            } else if k.is("debtPaid") {
                try CanonicalScanner.once(&seen, 3); debtPaid = try s.int()
            } else if k.is("expiresAt") {
                try CanonicalScanner.once(&seen, 4); expiresAt = try s.time()
            } else if k.is("lotId") {
                try CanonicalScanner.once(&seen, 5); lotId = try s.string()
            } else if k.is("member") {
                try CanonicalScanner.once(&seen, 6); member = try s.string()
            } else if k.is("points") {
                try CanonicalScanner.once(&seen, 7); points = try s.int()
            } else if k.is("rule") {
                try CanonicalScanner.once(&seen, 8); rule = try s.string()
            } else if k.is("ruleVersion") {
                try CanonicalScanner.once(&seen, 9); ruleVersion = try s.int()
            } else if k.is("source") {
                try CanonicalScanner.once(&seen, 10); source = try Self.source(&s)
            } else {
                throw NotCanonical()
            }
        }
        guard let availableAt, let lotId, let member, let points, let rule, let ruleVersion, let source else { throw NotCanonical() }
        return .pointsEarned(.init(member: member, lotId: lotId, points: points, source: source, ruleVersion: ruleVersion, rule: rule, availableAt: availableAt,
                                   expiresAt: expiresAt, debtPaid: debtPaid ?? 0, capCounted: capCounted, birthdayBonus: birthdayBonus))
    }

    static func pointsRedeemed(_ s: inout CanonicalScanner) throws(NotCanonical) -> DomainEvent {
        var allocations: [LotAllocation] = []; var member: String?; var points: Int64?; var redemptionId: String?; var reward: String?
        var seen: UInt32 = 0, first = true
        try s.beginObject()
        while let k = try s.nextKey(first: &first) {
            if k.is("allocations") {
                try CanonicalScanner.once(&seen, 0); allocations = try Self.allocations(&s)
            } else if k.is("member") {
                try CanonicalScanner.once(&seen, 1); member = try s.string()
            } else if k.is("points") {
                try CanonicalScanner.once(&seen, 2); points = try s.int()
            } else if k.is("redemptionId") {
                try CanonicalScanner.once(&seen, 3); redemptionId = try s.string()
            } else if k.is("reward") {
                try CanonicalScanner.once(&seen, 4); reward = try s.string()
            } else {
                throw NotCanonical()
            }
        }
        guard let member, let points, let redemptionId else { throw NotCanonical() }
        return .pointsRedeemed(.init(member: member, redemptionId: redemptionId, points: points, reward: reward, allocations: allocations))
    }

    static func redemptionReversed(_ s: inout CanonicalScanner) throws(NotCanonical) -> DomainEvent {
        var debtPaid: Int64 = 0; var expired: [LotAllocation] = []; var member: String?; var redemptionId: String?; var restored: [LotAllocation] = []
        var seen: UInt32 = 0, first = true
        try s.beginObject()
        while let k = try s.nextKey(first: &first) {
            if k.is("debtPaid") {
                try CanonicalScanner.once(&seen, 4); debtPaid = try s.int()
            } else if k.is("expired") {
                try CanonicalScanner.once(&seen, 0); expired = try Self.allocations(&s)
            } else if k.is("member") {
                try CanonicalScanner.once(&seen, 1); member = try s.string()
            } else if k.is("redemptionId") {
                try CanonicalScanner.once(&seen, 2); redemptionId = try s.string()
            } else if k.is("restored") {
                try CanonicalScanner.once(&seen, 3); restored = try Self.allocations(&s)
            } else {
                throw NotCanonical()
            }
        }
        guard let member, let redemptionId else { throw NotCanonical() }
        return .redemptionReversed(.init(member: member, redemptionId: redemptionId, restored: restored, expired: expired, debtPaid: debtPaid))
    }

    static func pointsAdjusted(_ s: inout CanonicalScanner) throws(NotCanonical) -> DomainEvent {
        var allocations: [LotAllocation] = []; var expiresAt: Timestamp?; var key: String?; var lotId: String?; var member: String?; var `operator`: String?; var points: Int64?; var reason: String?
        var seen: UInt32 = 0, first = true
        try s.beginObject()
        while let k = try s.nextKey(first: &first) {
            if k.is("allocations") {
                try CanonicalScanner.once(&seen, 0); allocations = try Self.allocations(&s)
            } else if k.is("expiresAt") {
                try CanonicalScanner.once(&seen, 1); expiresAt = try s.time()
            } else if k.is("key") {
                try CanonicalScanner.once(&seen, 2); key = try s.string()
            } else if k.is("lotId") {
                try CanonicalScanner.once(&seen, 3); lotId = try s.string()
            } else if k.is("member") {
                try CanonicalScanner.once(&seen, 4); member = try s.string()
            } else if k.is("operator") {
                try CanonicalScanner.once(&seen, 5); `operator` = try s.string()
            } else if k.is("points") {
                try CanonicalScanner.once(&seen, 6); points = try s.int()
            } else if k.is("reason") {
                try CanonicalScanner.once(&seen, 7); reason = try s.string()
            } else {
                throw NotCanonical()
            }
        }
        guard let key, let member, let `operator`, let points, let reason else { throw NotCanonical() }
        return .pointsAdjusted(.init(member: member, key: key, points: points, reason: reason, operatorId: `operator`, lotId: lotId, expiresAt: expiresAt,
                                     allocations: allocations))
    }

    static func pointsExpired(_ s: inout CanonicalScanner) throws(NotCanonical) -> DomainEvent {
        var lotId: String?; var member: String?; var points: Int64?
        var seen: UInt32 = 0, first = true
        try s.beginObject()
        while let k = try s.nextKey(first: &first) {
            if k.is("lotId") {
                try CanonicalScanner.once(&seen, 0); lotId = try s.string()
            } else if k.is("member") {
                try CanonicalScanner.once(&seen, 1); member = try s.string()
            } else if k.is("points") {
                try CanonicalScanner.once(&seen, 2); points = try s.int()
            } else {
                throw NotCanonical()
            }
        }
        guard let lotId, let member, let points else { throw NotCanonical() }
        return .pointsExpired(member: member, lotId: lotId, points: points)
    }

    static func pointsHeld(_ s: inout CanonicalScanner) throws(NotCanonical) -> DomainEvent {
        var expiresAt: Timestamp?; var holdId: String?; var member: String?; var points: Int64?
        var seen: UInt32 = 0, first = true
        try s.beginObject()
        while let k = try s.nextKey(first: &first) {
            if k.is("expiresAt") {
                try CanonicalScanner.once(&seen, 0); expiresAt = try s.time()
            } else if k.is("holdId") {
                try CanonicalScanner.once(&seen, 1); holdId = try s.string()
            } else if k.is("member") {
                try CanonicalScanner.once(&seen, 2); member = try s.string()
            } else if k.is("points") {
                try CanonicalScanner.once(&seen, 3); points = try s.int()
            } else {
                throw NotCanonical()
            }
        }
        guard let expiresAt, let holdId, let member, let points else { throw NotCanonical() }
        return .pointsHeld(member: member, holdId: holdId, points: points, expiresAt: expiresAt)
    }

    static func holdReleased(_ s: inout CanonicalScanner) throws(NotCanonical) -> DomainEvent {
        var holdId: String?; var member: String?
        var seen: UInt32 = 0, first = true
        try s.beginObject()
        while let k = try s.nextKey(first: &first) {
            if k.is("holdId") {
                try CanonicalScanner.once(&seen, 0); holdId = try s.string()
            } else if k.is("member") {
                try CanonicalScanner.once(&seen, 1); member = try s.string()
            } else {
                throw NotCanonical()
            }
        }
        guard let holdId, let member else { throw NotCanonical() }
        return .holdReleased(member: member, holdId: holdId)
    }

    static func pointsTransfer(_ s: inout CanonicalScanner) throws(NotCanonical) -> PointsTransfer {
        var allocations: TransferLots = TransferLots(); var from: String?; var points: Int64?; var to: String?; var transferId: String?
        var seen: UInt32 = 0, first = true
        try s.beginObject()
        while let k = try s.nextKey(first: &first) {
            if k.is("allocations") {
                try CanonicalScanner.once(&seen, 0); allocations = try Self.transferLots(&s)
            } else if k.is("from") {
                try CanonicalScanner.once(&seen, 1); from = try s.string()
            } else if k.is("points") {
                try CanonicalScanner.once(&seen, 2); points = try s.int()
            } else if k.is("to") {
                try CanonicalScanner.once(&seen, 3); to = try s.string()
            } else if k.is("transferId") {
                try CanonicalScanner.once(&seen, 4); transferId = try s.string()
            } else {
                throw NotCanonical()
            }
        }
        guard let from, let points, let to, let transferId else { throw NotCanonical() }
        return PointsTransfer(from: from, to: to, transferId: transferId, points: points, allocations: allocations.lots, expiries: allocations.expiries)
    }

    static func tierChanged(_ s: inout CanonicalScanner) throws(NotCanonical) -> DomainEvent {
        var floorUntil: Timestamp?; var from: String?; var member: String?; var qualifyingValue: Int64?; var reason: String?; var to: String?; var windowFrom: Timestamp?; var windowTo: Timestamp?
        var seen: UInt32 = 0, first = true
        try s.beginObject()
        while let k = try s.nextKey(first: &first) {
            if k.is("floorUntil") {
                try CanonicalScanner.once(&seen, 0); floorUntil = try s.time()
            } else if k.is("from") {
                try CanonicalScanner.once(&seen, 1); from = try s.string()
            } else if k.is("member") {
                try CanonicalScanner.once(&seen, 2); member = try s.string()
            } else if k.is("qualifyingValue") {
                try CanonicalScanner.once(&seen, 3); qualifyingValue = try s.int()
            } else if k.is("reason") {
                try CanonicalScanner.once(&seen, 4); reason = try s.string()
            } else if k.is("to") {
                try CanonicalScanner.once(&seen, 5); to = try s.string()
            } else if k.is("windowFrom") {
                try CanonicalScanner.once(&seen, 6); windowFrom = try s.time()
            } else if k.is("windowTo") {
                try CanonicalScanner.once(&seen, 7); windowTo = try s.time()
            } else {
                throw NotCanonical()
            }
        }
        guard let member, let qualifyingValue, let reason, let windowFrom, let windowTo else { throw NotCanonical() }
        return .tierChanged(.init(member: member, from: from, to: to, reason: reason, qualifyingValue: qualifyingValue, windowFrom: windowFrom,
                                  windowTo: windowTo, floorUntil: floorUntil))
    }

    static func rewardDefined(_ s: inout CanonicalScanner) throws(NotCanonical) -> DomainEvent {
        var budget: Int64?; var cost: Int64?; var name: String?; var rewardId: String?; var stock: Int64?
        var seen: UInt32 = 0, first = true
        try s.beginObject()
        while let k = try s.nextKey(first: &first) {
            if k.is("budget") {
                try CanonicalScanner.once(&seen, 0); budget = try s.int()
            } else if k.is("cost") {
                try CanonicalScanner.once(&seen, 1); cost = try s.int()
            } else if k.is("name") {
                try CanonicalScanner.once(&seen, 2); name = try s.string()
            } else if k.is("rewardId") {
                try CanonicalScanner.once(&seen, 3); rewardId = try s.string()
            } else if k.is("stock") {
                try CanonicalScanner.once(&seen, 4); stock = try s.int()
            } else {
                throw NotCanonical()
            }
        }
        guard let cost, let name, let rewardId else { throw NotCanonical() }
        return .rewardDefined(.init(rewardId: rewardId, name: name, cost: cost, stock: stock, budget: budget))
    }

}

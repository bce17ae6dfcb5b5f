/// Membership cards: numbers issued to members, unique in the whole program, blocked or replaced
/// (a replacement carries on the same member; the old number is refused from then on).
public struct Card: Hashable, Sendable {
    public var member: String
    /// The issue's idempotency key (nil for a card issued as a replacement).
    public var key: String?
    public var blocked: Bool = false
    /// The card that replaced this one (it is then blocked too).
    public var replacedBy: String?
    public var replaces: String?

    public init(member: String, key: String?, blocked: Bool = false, replacedBy: String? = nil, replaces: String? = nil) {
        (self.member, self.key, self.blocked, self.replacedBy, self.replaces) = (member, key, blocked, replacedBy, replaces)
    }
}

/// Card numbers: what is printed on a card or typed at a till, in any script. Stored in Unicode
/// NFC (the log and the decision state compare bytes, Swift compares strings by canonical
/// equivalence: NFC makes the two agree), 1 to `DomainLimits.cardNumberBytesMax` bytes, no
/// control characters, no white space.
public enum CardNumber {
    /// `text` in NFC, checked; the error names `field` and the value.
    public static func normalized(_ text: String, _ field: String) throws(DomainError) -> String {
        // The standard library's own NFC (the one its string comparison relies on).
        let nfc = String(decoding: text._nfcCodeUnits, as: UTF8.self)
        try check(nfc, field)
        return nfc
    }

    /// `text` as commands may carry it (any normalisation form), in NFC; unchecked text (a
    /// command not validated yet) comes back as it is.
    public static func nfc(_ text: String) -> String {
        var copy = text
        let ascii = copy.withUTF8 { $0.allSatisfy { $0 < 0x80 } }
        return ascii ? text : String(decoding: text._nfcCodeUnits, as: UTF8.self)
    }

    /// A number as events store it: checked, and already in NFC.
    static func checkStored(_ text: String, _ field: String) throws(DomainError) {
        try check(text, field)
        guard nfc(text).utf8.elementsEqual(text.utf8) else {
            throw .invalid(field: field, value: DomainLimits.shown(text), reason: "is not in Unicode normalization form C (NFC)")
        }
    }

    private static func check(_ text: String, _ field: String) throws(DomainError) {
        let count = text.utf8.count
        guard count > 0 else { throw .invalid(field: field, value: "", reason: "must not be empty") }
        guard count <= DomainLimits.cardNumberBytesMax else {
            throw .invalid(field: field, value: DomainLimits.shown(text),
                           reason: "is \(count) bytes long (UTF-8); card numbers are at most \(DomainLimits.cardNumberBytesMax) bytes")
        }
        for scalar in text.unicodeScalars {
            let v = scalar.value
            if v <= 0x20 || (0x7F...0xA0).contains(v) || scalar.properties.isWhitespace || v == 0xFFFD
                || scalar.properties.generalCategory == .format {
                throw .invalid(field: field, value: DomainLimits.shown(text),
                               reason: "contains U+\(String(v, radix: 16, uppercase: true)): card numbers have no white space, control or format characters")
            }
        }
    }
}

extension LedgerModel {
    /// The member card `number` names for a new command: unknown and blocked cards are refused.
    public func memberForCard(_ number: String) throws(DomainError) -> String {
        let n = CardNumber.nfc(number)
        guard let card = cards[n] else { throw .unknownCard(n) }
        guard !card.blocked else { throw .cardBlocked(number: n, replacedBy: card.replacedBy) }
        return card.member
    }

    func decideIssueCard(member m: String, number raw: String, key: String) throws -> Decision {
        let number = try CardNumber.normalized(raw, "number")
        if let earlier = cardKeys[key] {
            guard earlier == number, cards[number]?.member == m else { throw DomainError.idempotencyConflict(key: "card:\(key)") }
            return .replay(key: "card:\(key)")
        }
        try checkId(key, field: "key")
        if let card = cards[number] { throw DomainError.cardInUse(number: number, member: card.member) }
        _ = try activeMember(m)
        return .append([.cardIssued(.init(member: m, number: number, key: key, replaces: nil))])
    }

    func decideBlockCard(number raw: String, reason: String) throws -> Decision {
        let number = try CardNumber.normalized(raw, "number")
        guard let card = cards[number] else { throw DomainError.unknownCard(number) }
        if card.blocked {
            if card.replacedBy != nil { throw DomainError.cardBlocked(number: number, replacedBy: card.replacedBy) }
            return .replay(key: "card-block:\(number)")
        }
        return .append([.cardBlocked(member: card.member, number: number, reason: reason)])
    }

    func decideReplaceCard(old rawOld: String, new rawNew: String) throws -> Decision {
        let old = try CardNumber.normalized(rawOld, "card")
        let new = try CardNumber.normalized(rawNew, "number")
        guard let card = cards[old] else { throw DomainError.unknownCard(old) }
        if let replacement = card.replacedBy {
            guard replacement == new else { throw DomainError.cardBlocked(number: old, replacedBy: replacement) }
            return .replay(key: "card-replace:\(old)")
        }
        guard old != new else { throw DomainError.invalid(field: "number", value: new, reason: "is the card being replaced") }
        if let other = cards[new] { throw DomainError.cardInUse(number: new, member: other.member) }
        _ = try activeMember(card.member)
        return .append([.cardIssued(.init(member: card.member, number: new, key: nil, replaces: old))])
    }

    /// Applies `card.issued` (checked first: nothing changes when it throws).
    mutating func applyCardIssued(_ e: DomainEvent.CardIssued) throws(FoldError) {
        func what() -> String { "member '\(e.member)': card '\(e.number)'" }
        if let other = cards[e.number] { throw FoldError(.inconsistent, "\(what()) is already issued to member '\(other.member)'") }
        if let key = e.key, let earlier = cardKeys[key] {
            throw FoldError(.inconsistent, "\(what()): key '\(key)' already issued card '\(earlier)'")
        }
        if let old = e.replaces {
            guard let card = cards[old], card.member == e.member, card.replacedBy == nil else {
                throw FoldError(.inconsistent, "\(what()) replaces card '\(old)', which is not a card of this member still unreplaced")
            }
            cards[old]?.blocked = true
            cards[old]?.replacedBy = e.number
        }
        cards[e.number] = Card(member: e.member, key: e.key, replaces: e.replaces)
        if let key = e.key { cardKeys[key] = e.number }
    }

    /// Applies `card.blocked` (checked first).
    mutating func applyCardBlocked(member: String, number: String) throws(FoldError) {
        guard let card = cards[number], card.member == member, !card.blocked else {
            throw FoldError(.inconsistent, "member '\(member)': card '\(number)' is not an unblocked card of this member")
        }
        cards[number]?.blocked = true
    }

    /// A card's stored form in the decision state (an owner-table value).
    public static func cardBytes(_ c: Card) -> [UInt8] {
        var w = StateWriter(capacity: 32)
        w.string(c.member); w.bool(c.blocked)
        w.optional(c.key) { $0.string($1) }
        w.optional(c.replacedBy) { $0.string($1) }
        w.optional(c.replaces) { $0.string($1) }
        return w.bytes
    }

    public static func cardEntry(_ bytes: [UInt8]) throws(StateBytesError) -> Card {
        try StateReader.read(bytes, "card entry") { (r: inout StateReader) throws(StateBytesError) -> Card in
            let member = try r.string(), blocked = try r.bool()
            let key = try r.optional { (r: inout StateReader) throws(StateBytesError) in try r.string() }
            let replacedBy = try r.optional { (r: inout StateReader) throws(StateBytesError) in try r.string() }
            let replaces = try r.optional { (r: inout StateReader) throws(StateBytesError) in try r.string() }
            return Card(member: member, key: key, blocked: blocked, replacedBy: replacedBy, replaces: replaces)
        }
    }
}

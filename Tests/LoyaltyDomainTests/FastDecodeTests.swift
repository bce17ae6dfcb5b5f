import Foundation
import LedgerJSON
import Testing
@testable import LoyaltyDomain

/// The byte-level decoder (`DomainEvent.decode(type:schemaVersion:bytes:)`) against the general one
/// (`JSONCanonical.parse` + `decode(type:schemaVersion:json:)`, `decodeGeneral`): the same event for
/// every input both accept, the same error for every input either rejects, and the fast path
/// really taken for canonical bytes (a fallback-only decoder would pass the first two).
@Suite struct FastDecodeTests {
    /// The outcome of a decoder as something comparable: the event, or the error's type and text.
    enum Outcome: Equatable {
        case event(DomainEvent)
        case error(String)
    }

    static func outcome(_ body: () throws -> DomainEvent) -> Outcome {
        do { return .event(try body()) } catch { return .error("\(Swift.type(of: error)): \(error)") }
    }

    static func compare(type: String, version: UInt32 = 1, _ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        let fast = outcome { try DomainEvent.decode(type: type, schemaVersion: version, bytes: bytes) }
        let general = outcome { try bytes.withUnsafeBufferPointer { try DomainEvent.decodeGeneral(type: type, schemaVersion: version, bytes: $0) } }
        #expect(fast == general, "\(type) \(String(decoding: bytes, as: UTF8.self))", sourceLocation: sourceLocation)
        // The type given as bytes (how projections read the log) decides the same, or says nil
        // for what is not a domain type.
        var typeText = type
        let byBytes: Outcome? = typeText.withUTF8 { t in
            bytes.withUnsafeBufferPointer { data in
                do {
                    return try DomainEvent.decode(typeBytes: UnsafeRawBufferPointer(t), schemaVersion: version, bytes: data).map(Outcome.event)
                } catch {
                    return .error("\(Swift.type(of: error)): \(error)")
                }
            }
        }
        #expect(byBytes == (DomainEvent.isDomainType(type) ? fast : nil), "\(type) by its bytes", sourceLocation: sourceLocation)
    }

    static func fixture(_ type: String) throws -> [UInt8] {
        Array(try Data(contentsOf: GoldenTests.fixtures.appendingPathComponent("\(type).json")).dropLast())  // newline
    }

    @Test(arguments: DomainEvent.allTypes)
    func everyFixtureDecodesTheSameAndFast(_ type: String) throws {
        let bytes = try Self.fixture(type)
        let expected = try #require(Samples.events.first { $0.type == type })
        #expect(try DomainEvent.decode(type: type, schemaVersion: 1, bytes: bytes) == expected)
        Self.compare(type: type, bytes)
        #expect(expected.canonicalJSON == bytes)
        if let kind = DomainEvent.FastKind(type: type) {
            #expect(try bytes.withUnsafeBufferPointer { try DomainEvent.fastDecode(kind, $0) } == expected)
        } else {
            // The rare types (rules, cards, operators' tiers, targets) take the general path.
            #expect(["program.published", "card.issued", "card.blocked", "tier.set", "target.set"].contains(type))
        }
        #expect(DomainEvent.isDomainType(type))
    }

    @Test func otherTypesAndVersionsGoToTheGeneralPath() throws {
        #expect(!DomainEvent.isDomainType("purchase.recorde") && !DomainEvent.isDomainType(""))
        for type in DomainEvent.allTypes + ["", "x", "purchase.recorde", "purchase.recordedx", "points.earneD", "tier.changes"] {
            var text = type
            let kind = text.withUTF8 { DomainEvent.FastKind(typeBytes: UnsafeRawBufferPointer($0)) }
            #expect(kind == DomainEvent.FastKind(type: type), "\(type)")
        }
        Self.compare(type: "", try Self.fixture("purchase.recorded"))
        let bytes = try Self.fixture("purchase.recorded")
        for version: UInt32 in [0, 2, .max] { Self.compare(type: "purchase.recorded", version: version, bytes) }
        Self.compare(type: "purchase.unknown", bytes)
        Self.compare(type: "points.earned", bytes)  // a purchase's payload read as another type
    }

    /// Hand-picked departures from canonical form: each must be accepted or refused exactly as
    /// the general decoder does.
    @Test(arguments: DomainEvent.allTypes)
    func malformedFixturesAreJudgedTheSame(_ type: String) throws {
        let text = String(decoding: try Self.fixture(type), as: UTF8.self)
        let firstColon = text.firstIndex(of: ":")!
        let firstComma = text.firstIndex(of: ",") ?? text.index(before: text.endIndex)
        let firstMember = String(text[text.index(after: text.startIndex)..<firstComma])
        let head = String(text[...firstColon]), tail = String(text[firstComma...]), rest = String(text.dropFirst())
        var variants: [String] = ["", " ", "{}", "[]", "null", "{"]
        variants += [text + " ", " " + text, text + "x", text + "{}", "{ " + rest]
        variants.append(text.replacingOccurrences(of: ",", with: ", "))
        variants.append("{" + firstMember + "," + rest)        // duplicate key
        variants.append("{\"zz\":1," + rest)                  // unknown key
        variants.append("{\"member\":null," + rest)           // null (and a duplicate)
        for value in ["null", "7", "\"7\"", "[]", "{}"] { variants.append(head + value + tail) }
        for literal in ["0", "-0", "01", "-01", "1.5", "1e3", "-", "9223372036854775807", "9223372036854775808",
                        "-9223372036854775808", "-9223372036854775809", "99999999999999999999", "true"] {
            variants.append(text.replacingOccurrences(of: #"(":)(-?[0-9]+)"#, with: "$1" + literal, options: .regularExpression))
        }
        for string in [#"\u0041"#, #"\""#, "é", "e\u{301}", "\u{1}", #"\/"#, "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z",
                       "2024-02-29", "2026-03-15T10:30:00+01:00", "2026-03-15T10:30:60Z", "2026-03-15T10:30:00.1234567Z"] {
            variants.append(text.replacingOccurrences(of: #"(":")[^"]*"#, with: "$1" + string, options: .regularExpression))
        }
        for v in variants { Self.compare(type: type, Array(v.utf8)) }
        for cut in 0..<text.utf8.count { Self.compare(type: type, Array(text.utf8.prefix(cut))) }
        Self.compare(type: type, Array(text.utf8) + [0xFF])
        Self.compare(type: type, Array(text.utf8).map { $0 == UInt8(ascii: "M") ? 0xC3 : $0 })  // invalid UTF-8
    }

    @Test func randomEventsAndRandomCorruptionsAreJudgedTheSame() throws {
        var random = SplitMix64(seed: 0x5EED_FA57)
        var fastTaken = 0
        for round in 0..<2_000 {
            let plain = round % 2 == 0
            let event = RandomEvents.event(&random, plain: plain)
            let bytes = JSONCanonical.encode(event.json)
            #expect(event.canonicalJSON == bytes, "direct encoder: \(event.type)")
            #expect(try DomainEvent.decode(type: event.type, schemaVersion: 1, bytes: bytes) == event)
            Self.compare(type: event.type, bytes)
            if plain, let kind = DomainEvent.FastKind(type: event.type) {
                // Canonical bytes without escapes are read by the fast path, not the fallback.
                #expect(try bytes.withUnsafeBufferPointer { try DomainEvent.fastDecode(kind, $0) } == event)
                fastTaken += 1
            }
            for _ in 0..<8 { Self.compare(type: event.type, RandomEvents.corrupt(bytes, &random)) }
        }
        #expect(fastTaken > 700)
    }
}

/// Random events of every type (strings with or without characters that need escapes).
enum RandomEvents {
    static let plainPieces = ["a", "Z", "0", "9", "-", ":", " ", "é", "€", "😀", "M0001", "P-", "x"]
    static let oddPieces = ["\"", "\\", "\n", "\u{1}", "/", "\u{7F}", "e\u{301}"]

    static func string(_ r: inout SplitMix64, plain: Bool) -> String {
        let n = r.next(in: 0...6)
        return (0..<max(n, 1)).map { _ in
            !plain && r.next(in: 0...3) == 0 ? oddPieces[r.next(in: 0...(oddPieces.count - 1))] : plainPieces[r.next(in: 0...(plainPieces.count - 1))]
        }.joined()
    }

    static func int(_ r: inout SplitMix64) -> Int64 {
        switch r.next(in: 0...5) {
        case 0: return 0
        case 1: return .max
        case 2: return .min
        case 3: return -Int64(r.next(in: 1...1_000_000))
        default: return Int64(r.next(in: 1...10_000_000))
        }
    }

    static func time(_ r: inout SplitMix64) -> Timestamp {
        let seconds = Int64(r.next(in: 0...4_000_000_000))
        return Timestamp(microseconds: seconds * 1_000_000 + (r.next(in: 0...1) == 0 ? 0 : Int64(r.next(in: 0...999_999))))
    }

    static func allocations(_ r: inout SplitMix64, plain: Bool) -> [LotAllocation] {
        (0..<r.next(in: 0...3)).map { _ in LotAllocation(lotId: string(&r, plain: plain), points: int(&r)) }
    }

    static func event(_ r: inout SplitMix64, plain p: Bool) -> DomainEvent {
        func s() -> String { string(&r, plain: p) }
        func i() -> Int64 { int(&r) }
        func t() -> Timestamp { time(&r) }
        func absent() -> Bool { r.next(in: 0...2) == 0 }
        func optS() -> String? { absent() ? nil : s() }
        func optI() -> Int64? { absent() ? nil : i() }
        func optT() -> Timestamp? { absent() ? nil : t() }
        func map() -> [String: String] { Dictionary((0..<r.next(in: 0...2)).map { _ in (s(), s()) }, uniquingKeysWith: { a, _ in a }) }
        switch r.next(in: 0...15) {
        case 0: return .memberEnrolled(.init(member: s(), brand: s(), store: s(), channel: s(), birthDate: optS(), gender: optS(), profile: map()))
        case 1: return .profileUpdated(member: s(), changes: map())
        case 2: return .memberClosed(member: s(), reason: s())
        case 3: return .purchaseRecorded(.init(member: s(), purchaseId: s(), store: s(), amount: i(), currency: s(),
                                               lines: (0..<r.next(in: 0...2)).map { _ in .init(category: s(), amount: i()) },
                                               paidWithPoints: r.next(in: 0...1) == 0 ? 0 : i()))
        case 4: return .purchaseReturned(.init(member: s(), purchaseId: s(), returnId: s(), amount: i(), clawedBack: allocations(&r, plain: p), debt: i(), forgiven: i()))
        case 5:
            let sources: [LotSource] = [.purchase(s()), .adjustment(s()), .transfer(s()), .bonus(s())]
            return .pointsEarned(.init(member: s(), lotId: s(), points: i(), source: sources[r.next(in: 0...3)], ruleVersion: i(), rule: s(),
                                       availableAt: t(), expiresAt: optT(), debtPaid: r.next(in: 0...1) == 0 ? 0 : i(),
                                       capCounted: optI(), birthdayBonus: optI()))
        case 6: return .pointsRedeemed(.init(member: s(), redemptionId: s(), points: i(), reward: optS(), allocations: allocations(&r, plain: p)))
        case 7: return .redemptionReversed(.init(member: s(), redemptionId: s(), restored: allocations(&r, plain: p), expired: allocations(&r, plain: p)))
        case 8: return .pointsAdjusted(.init(member: s(), key: s(), points: i(), reason: s(), operatorId: s(), lotId: optS(),
                                             expiresAt: optT(), allocations: allocations(&r, plain: p)))
        case 9: return .pointsExpired(member: s(), lotId: s(), points: i())
        case 10: return .pointsHeld(member: s(), holdId: s(), points: i(), expiresAt: t())
        case 11: return .holdReleased(member: s(), holdId: s())
        case 12, 13:
            let lots = allocations(&r, plain: p)
            let t = DomainEvent.PointsTransfer(from: s(), to: s(), transferId: s(), points: i(), allocations: lots,
                                               expiries: lots.map { _ in optT() })
            return r.next(in: 0...1) == 0 ? .pointsTransferredOut(t) : .pointsTransferredIn(t)
        case 14: return .tierChanged(.init(member: s(), from: optS(), to: optS(), reason: s(), qualifyingValue: i(),
                                           windowFrom: t(), windowTo: t(), floorUntil: optT()))
        default: return .rewardDefined(.init(rewardId: s(), name: s(), cost: i(), stock: optI(), budget: optI()))
        }
    }

    static let interesting: [UInt8] = Array(#"{}[]",:-0123456789.eE nul\tu"#.utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xC3, 0xFF]

    /// One random damage: a byte replaced, inserted or deleted, or the input cut short.
    static func corrupt(_ bytes: [UInt8], _ r: inout SplitMix64) -> [UInt8] {
        var b = bytes
        let at = r.next(in: 0...max(b.count - 1, 0))
        let byte = interesting[r.next(in: 0...(interesting.count - 1))]
        switch r.next(in: 0...3) {
        case 0: if !b.isEmpty { b[at] = byte }
        case 1: b.insert(byte, at: at)
        case 2: if !b.isEmpty { b.remove(at: at) }
        default: b = Array(b.prefix(at))
        }
        return b
    }
}

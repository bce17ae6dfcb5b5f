import Foundation
import LoyaltyDomain

/// Draws commands for the write-path property: mostly ordinary ones (so that state builds up and
/// later commands meet lots, debts, holds and rewards), and values from the edges everywhere a
/// field can hold one. Deterministic for a seed.
struct EdgeValues {
    private var random: SplitMix64
    let now: Timestamp

    init(seed: UInt64, now: Timestamp) {
        random = SplitMix64(seed: seed)
        self.now = now
    }

    // MARK: Pools

    static let ordinaryMembers = ["M1", "M2", "M3", "M4"]
    static let edgeIds: [String] = [
        "", " ", "M 1", "ÄÖ会員", "会", String(repeating: "x", count: 500), String(repeating: "m", count: 128),
        String(repeating: "m", count: 129), "ctl\u{7}x", "tab\tid", "$program", "nul\u{0}id", "line\nbreak", "🙂",
        String(repeating: "é", count: 200), "M1\u{202E}", "-1", "=HYPERLINK(\"x\")",
    ]
    static let ordinaryStores = ["S1", "S2"]
    static let edgePoints: [Int64] = [
        0, 1, -1, 2, 100, -100, Int64.max, Int64.min, Int64.max / 2, Int64.min / 2, Int64.max / 2 + 1,
        1_000_000_000_000, 1_000_000_000_001, -1_000_000_000_000, 4_611_686_018_427_387_904,
    ]
    static let edgeAmounts: [String] = [
        "0", "0.00", "-0", "-0.00", "-1.00", "0.01", "1", "12.345", "1e5", " 1.00", "1.00 ", "+1.00", "",
        "92233720368547758.07", "92233720368547758.08", "9223372036854775807", "99999999999999.99",
        "10000000000000.00", "1000000.00", "00000000000000000000001.00", "1.", ".5", "NaN", "١٢",
    ]
    static let edgeTimes: [String] = [
        "0001-01-01", "0001-01-01T00:00:00Z", "1899-12-31T23:59:59Z", "1900-01-01", "1969-12-31T23:59:59.999999Z",
        "1970-01-01T00:00:00Z", "2000-02-29", "2024-02-29T12:00:00+14:00", "2026-02-30", "2026-13-01",
        "9998-12-31", "9999-01-01", "9999-06-01", "9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59-23:59",
        "2026-06-01T25:00:00Z", "2026-06-01T10:00:00.1234567Z", "not a time", "",
    ]

    // MARK: Draws

    mutating func below(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    mutating func pick<T>(_ values: [T]) -> T { values[below(values.count)] }

    mutating func member() -> String { chance(90) ? pick(Self.ordinaryMembers) : pick(Self.edgeIds) }
    mutating func id(_ prefix: String) -> String { chance(92) ? "\(prefix)\(below(40))" : pick(Self.edgeIds) }
    mutating func store() -> String { chance(90) ? pick(Self.ordinaryStores) : pick(Self.edgeIds) }
    mutating func points() -> Int64 { chance(75) ? Int64(1 + below(300)) : pick(Self.edgePoints) }

    mutating func amount() -> String {
        chance(80) ? "\(1 + below(400)).\(String(format: "%02d", below(100)))" : pick(Self.edgeAmounts)
    }

    /// Mostly the recent past (the order of business times is free, as tills send them late).
    mutating func time() -> String {
        if chance(85) {
            let back = Int64(below(400 * 24)) * 3_600_000_000
            return Timestamp(microseconds: now.microseconds - back).rfc3339
        }
        if chance(30) { return Timestamp(microseconds: now.microseconds + Int64(below(3)) * 86_400_000_000).rfc3339 }
        return pick(Self.edgeTimes)
    }

    // MARK: Commands as JSON text, the form every front end hands the domain

    mutating func command() -> String {
        let at = time()
        switch below(100) {
        case 0..<10:
            return object("enroll", ["member": .s(member()), "store": .s(store()), "occurredAt": .s(at),
                                     "birthDate": chance(50) ? .s(pick(["1990-05-17", "2000-02-29", "0001-01-01", "9999-12-31", "1990-02-30", ""])) : nil,
                                     "gender": chance(30) ? .s(pick(["female", "", "x\u{1}", String(repeating: "g", count: 2000)])) : nil])
        case 10..<40:
            var lines: JSONText? = nil
            if chance(20) { lines = .raw("[{\"category\":\(quote(pick(["beauty", "food", "", "c\u{2}"]))),\"amount\":\(quote(amount()))}]") }
            return object("purchase", ["member": .s(member()), "purchaseId": .s(id("P")), "amount": .s(amount()),
                                       "store": .s(store()), "occurredAt": .s(at), "lines": lines,
                                       "paidWithPoints": chance(10) ? .s(amount()) : nil,
                                       "currency": chance(5) ? .s(pick(["USD", "", "eur", "EURO"])) : nil])
        case 40..<50:
            return object("return", ["purchaseId": .s(id("P")), "returnId": .s(id("RT")),
                                     "amount": chance(60) ? .s(amount()) : nil, "occurredAt": .s(at)])
        case 50..<60:
            return object("redeem", ["member": .s(member()), "redemptionId": .s(id("R")),
                                     "points": chance(85) ? .i(points()) : nil,
                                     "reward": chance(20) ? .s(pick(["gift", "voucher", "nope"])) : nil, "occurredAt": .s(at)])
        case 60..<65:
            return object("reverse-redemption", ["redemptionId": .s(id("R")), "occurredAt": .s(at)])
        case 65..<75:
            return object("adjust", ["member": .s(member()), "points": .i(chance(60) ? points() : 0 &- points()),  // wrapping: -Int64.min is itself an edge
                                     "reason": .s(chance(90) ? "goodwill" : pick(["", "r\u{1}", String(repeating: "r", count: 5000)])),
                                     "key": .s(id("K")), "occurredAt": .s(at)])
        case 75..<80:
            return object("transfer", ["from": .s(member()), "to": .s(member()), "points": .i(points()), "key": .s(id("T")),
                                       "occurredAt": .s(at)])
        case 80..<84:
            return object("hold", ["member": .s(member()), "holdId": .s(id("H")), "points": .i(points()),
                                   "expiresAt": .s(chance(70) ? Timestamp(microseconds: now.microseconds + 86_400_000_000).rfc3339 : pick(Self.edgeTimes)),
                                   "occurredAt": .s(at)])
        case 84..<86:
            return object("release", ["holdId": .s(id("H")), "occurredAt": .s(at)])
        case 86..<89:
            return object("define-reward", ["rewardId": .s(pick(["gift", "voucher", "", String(repeating: "w", count: 300)])),
                                            "name": .s(pick(["A gift", "", "n\u{1}"])), "cost": .i(points()),
                                            "stock": chance(50) ? .i(pick([0, 1, 5, -1, Int64.max])) : nil,
                                            "budget": chance(50) ? .i(points()) : nil, "occurredAt": .s(at)])
        case 89..<92:
            return object("expire", ["asOf": .s(chance(70) ? now.rfc3339 : time())])
        case 92..<95:
            return object("evaluate-tiers", ["asOf": .s(chance(70) ? now.rfc3339 : time())])
        case 95..<97:
            return object("update-profile", ["member": .s(member()), "occurredAt": .s(at),
                                             "changes": .raw("{\(quote(pick(["city", "birthDate", "", "k\u{1}"]))):\(quote(pick(["Paris", "9999-12-31", "", String(repeating: "v", count: 3000)])))}")])
        case 97:
            return object("close-member", ["member": .s(member()), "reason": .s("asked"), "occurredAt": .s(at)])
        default:
            return object("publish-program", ["rules": .raw(rules()), "occurredAt": .s(chance(50) ? "2020-01-01" : at)])
        }
    }

    /// A rules document with one or two fields at an edge.
    mutating func rules() -> String {
        var fields: [String: String] = [
            "version": "\(pick([2, 3, 4, 5, 1, 0, -1, Int64.max, 1_000_000_000]))",
            "currency": quote(chance(90) ? "EUR" : pick(["", "eur", "EURO", "€"])),
            "earning": #"{"pointsPerUnit": 1, "rounding": "down"}"#,
            "pendingDays": "\(chance(80) ? Int64(below(30)) : pick([-1, Int64.max, 36_500, 1_000_000]))",
            "expiry": #"{"policy": "months_after_availability", "months": \#(chance(80) ? Int64(1 + below(36)) : pick([0, -1, 1_000_000_000_000_000, Int64.max, 120_000])), "roundTo": "end_of_month"}"#,
            "returnPolicy": quote(pick(["unlimited", "within_balance", "only_pending"])),
        ]
        if chance(30) { fields["birthdayBonus"] = "\(points())" }
        if chance(30) { fields["caps"] = #"{"perDay": \#(points()), "order": "after_multipliers"}"# }
        if chance(30) {
            fields["campaigns"] = #"[{"id": "c1", "from": \#(quote(time())), "to": \#(quote(time())), "multiplier": \#(pick(["2", "\"5/4\"", "0", "-1", "\"9223372036854775807\"", "9223372036854775807"]))}]"#
        }
        if chance(30) {
            fields["tiers"] = #"{"measure": "spend", "window": "rolling_days", "windowDays": \#(pick([365, 0, -1, Int64.max])), "levels": [{"name": "silver", "threshold": \#(pick([50000, -1, 0, Int64.max]))}]}"#
        }
        if chance(20) { fields["categoryMultipliers"] = #"{"beauty": \#(pick(["\"3/2\"", "\"1/0\"", "\"9223372036854775807/1\"", "1000000"]))}"# }
        return "{" + fields.sorted { $0.key < $1.key }.map { "\(quote($0.key)): \($0.value)" }.joined(separator: ", ") + "}"
    }

    // MARK: JSON text

    enum JSONText { case s(String), i(Int64), raw(String) }

    private func object(_ name: String, _ fields: [String: JSONText?]) -> String {
        var parts = [#""command":"\#(name)""#]
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
            guard let value else { continue }
            switch value {
            case .s(let s): parts.append("\(quote(key)):\(quote(s))")
            case .i(let n): parts.append("\(quote(key)):\(n)")
            case .raw(let r): parts.append("\(quote(key)):\(r)")
            }
        }
        return "{" + parts.joined(separator: ",") + "}"
    }
}

/// A JSON string literal (control characters escaped, the rest as UTF-8).
func quote(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

import LedgerJSON

/// Canonical JSON of an event written straight into bytes for the types an import writes most
/// (no `JSONValue` tree, no arrays of key/value pairs); every other type goes through `json`.
/// The bytes are exactly `JSONCanonical.encode(json)` (the hash chain covers them): keys are
/// written in canonical (byte-sorted) order, optional members left out as `json` leaves them out.
/// Tests compare both on the fixtures and on random events.
extension DomainEvent {
    public var canonicalJSON: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        switch self {
        case .purchaseRecorded(let e): CanonicalWriter.purchase(e, into: &out)
        case .pointsEarned(let e): CanonicalWriter.earned(e, into: &out)
        case .memberEnrolled(let e) where e.profile.isEmpty: CanonicalWriter.enrolled(e, into: &out)
        default: JSONCanonical.write(json, into: &out)
        }
        return out
    }
}

/// Byte-level canonical JSON pieces, shared inside the package (audit output writes rows with them).
package enum CanonicalWriter {
    /// `,"key":` (or `{"key":` for the first member). Keys are plain ASCII: nothing to escape.
    @inline(__always)
    package static func key(_ name: StaticString, first: Bool = false, into out: inout [UInt8]) {
        out.append(first ? UInt8(ascii: "{") : UInt8(ascii: ","))
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        out.append(UInt8(ascii: "\""))
        out.append(UInt8(ascii: ":"))
    }

    /// An integer as `String(v)` writes it (JSONValue.int), without the String.
    package static func int(_ v: Int64, into out: inout [UInt8]) {
        if v < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = v.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 20 digits at most, reversed, one per byte
        var count = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            for i in stride(from: count - 1, through: 0, by: -1) { out.append(d[i]) }
        }
    }

    package static func string(_ s: String, into out: inout [UInt8]) { JSONCanonical.writeString(s, into: &out) }

    /// A time as `.string(t.rfc3339)` writes it (RFC 3339 text never needs escaping).
    package static func time(_ t: Timestamp, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        t.appendRFC3339(to: &out)
        out.append(UInt8(ascii: "\""))
    }

    static func purchase(_ e: DomainEvent.PurchaseRecorded, into out: inout [UInt8]) {
        key("amount", first: true, into: &out); int(e.amount, into: &out)
        key("currency", into: &out); string(e.currency, into: &out)
        if !e.lines.isEmpty {
            key("lines", into: &out)
            out.append(UInt8(ascii: "["))
            for (i, line) in e.lines.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                key("amount", first: true, into: &out); int(line.amount, into: &out)
                key("category", into: &out); string(line.category, into: &out)
                out.append(UInt8(ascii: "}"))
            }
            out.append(UInt8(ascii: "]"))
        }
        key("member", into: &out); string(e.member, into: &out)
        if e.paidWithPoints != 0 { key("paidWithPoints", into: &out); int(e.paidWithPoints, into: &out) }
        key("purchaseId", into: &out); string(e.purchaseId, into: &out)
        key("store", into: &out); string(e.store, into: &out)
        out.append(UInt8(ascii: "}"))
    }

    static func earned(_ e: DomainEvent.PointsEarned, into out: inout [UInt8]) {
        key("availableAt", first: true, into: &out); time(e.availableAt, into: &out)
        if let b = e.birthdayBonus { key("birthdayBonus", into: &out); int(b, into: &out) }
        if let c = e.capCounted { key("capCounted", into: &out); int(c, into: &out) }
        if e.debtPaid != 0 { key("debtPaid", into: &out); int(e.debtPaid, into: &out) }
        if let x = e.expiresAt { key("expiresAt", into: &out); time(x, into: &out) }
        key("lotId", into: &out); string(e.lotId, into: &out)
        key("member", into: &out); string(e.member, into: &out)
        key("points", into: &out); int(e.points, into: &out)
        key("rule", into: &out); string(e.rule, into: &out)
        key("ruleVersion", into: &out); int(e.ruleVersion, into: &out)
        key("source", into: &out)
        let (id, kind): (String, StaticString) = switch e.source {
        case .purchase(let id): (id, "purchase")
        case .adjustment(let id): (id, "adjustment")
        case .transfer(let id): (id, "transfer")
        case .bonus(let id): (id, "bonus")
        }
        key("id", first: true, into: &out); string(id, into: &out)
        key("kind", into: &out)
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: UnsafeBufferPointer(start: kind.utf8Start, count: kind.utf8CodeUnitCount))
        out.append(UInt8(ascii: "\""))
        out.append(UInt8(ascii: "}"))
        out.append(UInt8(ascii: "}"))
    }

    /// `member.enrolled` without a profile (the profile's keys would need sorting: `json` does that).
    static func enrolled(_ e: DomainEvent.MemberEnrolled, into out: inout [UInt8]) {
        precondition(e.profile.isEmpty)
        var first = true
        if let b = e.birthDate { key("birthDate", first: true, into: &out); string(b, into: &out); first = false }
        key("brand", first: first, into: &out); string(e.brand, into: &out)
        key("channel", into: &out); string(e.channel, into: &out)
        if let g = e.gender { key("gender", into: &out); string(g, into: &out) }
        key("member", into: &out); string(e.member, into: &out)
        key("store", into: &out); string(e.store, into: &out)
        out.append(UInt8(ascii: "}"))
    }
}

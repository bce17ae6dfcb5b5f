import LedgerJSON
import LoyaltyDomain

/// Rows in `COPY ... FROM STDIN` text format: fields separated by tabs, rows by line feeds,
/// `\N` for NULL, and backslash, tab, line feed and carriage return escaped in values.
struct CopyText {
    private(set) var bytes: [UInt8] = []
    private var rowStarted = false
    private(set) var rows = 0

    init(capacity: Int = 1 << 16) { bytes.reserveCapacity(capacity) }

    private mutating func separate() {
        if rowStarted { bytes.append(0x09) } else { rowStarted = true }
    }

    mutating func null() {
        separate()
        bytes.append(contentsOf: [0x5C, 0x4E])  // \N
    }

    /// A value's text, escaped.
    mutating func text<S: Sequence>(_ utf8: S) where S.Element == UInt8 {
        separate()
        for b in utf8 {
            switch b {
            case 0x5C: bytes.append(0x5C); bytes.append(0x5C)
            case 0x09: bytes.append(0x5C); bytes.append(UInt8(ascii: "t"))
            case 0x0A: bytes.append(0x5C); bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(0x5C); bytes.append(UInt8(ascii: "r"))
            default: bytes.append(b)
            }
        }
    }

    mutating func text(_ s: String?) {
        guard let s else { return null() }
        text(s.utf8)
    }

    /// Digits, signs and time characters need no escaping.
    mutating func plain(_ s: String) {
        separate()
        bytes.append(contentsOf: s.utf8)
    }

    mutating func integer<T: BinaryInteger>(_ n: T) { plain(String(n)) }

    mutating func time(_ microseconds: Int64) {
        separate()
        Timestamp(microseconds: microseconds).appendRFC3339(to: &bytes)
    }

    /// `bytea` in hex form (`\x...`, its backslash escaped for COPY).
    mutating func bytea(_ data: [UInt8]?) {
        guard let data else { return null() }
        separate()
        bytes.append(contentsOf: [0x5C, 0x5C, UInt8(ascii: "x")])
        let digits = Array("0123456789abcdef".utf8)
        for b in data {
            bytes.append(digits[Int(b >> 4)])
            bytes.append(digits[Int(b & 0x0F)])
        }
    }

    /// A JSON field of a read model's JSON as its column's value.
    mutating func json(_ value: JSONValue?) {
        switch value {
        case nil, .null?: null()
        case .string(let s)?: text(s.utf8)
        case .integer(let literal)?: plain(literal)
        case .bool(let b)?: plain(b ? "t" : "f")
        case let other?: text(JSONCanonical.encode(other))
        }
    }

    mutating func endRow() {
        bytes.append(0x0A)
        rowStarted = false
        rows += 1
    }
}

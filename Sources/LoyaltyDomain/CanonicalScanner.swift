#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thrown by `CanonicalScanner` for anything outside the subset it reads: the caller then decodes
/// with the general parser, whose result (or error) is the authoritative one.
struct NotCanonical: Error {}

/// A key of a JSON object, in place in the scanned bytes (no String is built for it).
struct ScannedKey {
    let start: UnsafePointer<UInt8>
    let count: Int

    /// Byte equality with a literal key (keys are ASCII; lengths differ for most candidates).
    @inline(__always)
    func `is`(_ name: StaticString) -> Bool {
        count == name.utf8CodeUnitCount && memcmp(start, name.utf8Start, count) == 0
    }
}

/// Reads the canonical JSON the ledger stores (no white space, no escapes, no nulls, integers
/// only) straight from the bytes, without building a `JSONValue` tree.
///
/// It accepts only a subset of what `JSONCanonical.parse` accepts, and for that subset yields
/// exactly the same strings and integers; everything else throws `NotCanonical` (never a wrong
/// value), and the caller falls back to the general parser. So a decoder built on it accepts and
/// rejects exactly what the general decoder does.
struct CanonicalScanner {
    let base: UnsafePointer<UInt8>
    let end: Int
    var index = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) throws(NotCanonical) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { throw NotCanonical() }
        self.base = base
        self.end = bytes.count
    }

    @inline(__always)
    var atEnd: Bool { index == end }

    @inline(__always)
    mutating func expect(_ byte: UInt8) throws(NotCanonical) {
        guard index < end, base[index] == byte else { throw NotCanonical() }
        index += 1
    }

    @inline(__always)
    mutating func peek() throws(NotCanonical) -> UInt8 {
        guard index < end else { throw NotCanonical() }
        return base[index]
    }

    /// Consumes `{`; then call `nextKey(first:)` until it returns nil.
    mutating func beginObject() throws(NotCanonical) { try expect(UInt8(ascii: "{")) }

    /// The next member's key with its `:` consumed, or nil at the object's closing `}`.
    mutating func nextKey(first: inout Bool) throws(NotCanonical) -> ScannedKey? {
        let c = try peek()
        if c == UInt8(ascii: "}") { index += 1; return nil }
        if !first {
            guard c == UInt8(ascii: ",") else { throw NotCanonical() }
            index += 1
        }
        first = false
        let (start, count, _) = try rawString()
        try expect(UInt8(ascii: ":"))
        return ScannedKey(start: base + start, count: count)
    }

    /// A string's bytes between the quotes: no escapes, no control characters (those go to the
    /// general parser). Returns whether any byte is non-ASCII (UTF-8 must then be validated).
    @inline(__always)
    mutating func rawString() throws(NotCanonical) -> (start: Int, count: Int, ascii: Bool) {
        try expect(UInt8(ascii: "\""))
        let start = index
        var high: UInt8 = 0
        while true {
            guard index < end else { throw NotCanonical() }
            let b = base[index]
            if b == UInt8(ascii: "\"") { break }
            guard b >= 0x20, b != UInt8(ascii: "\\") else { throw NotCanonical() }
            high |= b
            index += 1
        }
        let count = index - start
        index += 1
        return (start, count, high < 0x80)
    }

    mutating func string() throws(NotCanonical) -> String {
        let (start, count, ascii) = try rawString()
        let bytes = UnsafeBufferPointer(start: base + start, count: count)
        if ascii { return String(decoding: bytes, as: UTF8.self) }
        // The general path would keep the repaired text of invalid UTF-8: leave that case to it.
        guard let s = String(validating: bytes, as: UTF8.self) else { throw NotCanonical() }
        return s
    }

    /// An RFC 3339 time string, parsed in place with `Timestamp`'s own parser.
    mutating func time() throws(NotCanonical) -> Timestamp {
        let (start, count, ascii) = try rawString()
        guard ascii, let t = Timestamp(rfc3339UTF8: UnsafeBufferPointer(start: base + start, count: count)) else {
            throw NotCanonical()
        }
        return t
    }

    /// A 64-bit integer literal (`0`, `-12`, `125000`); leading zeros, `-0`, fractions, exponents
    /// and values outside Int64 are left to the general parser (which refuses them).
    mutating func int() throws(NotCanonical) -> Int64 {
        var negative = false
        if try peek() == UInt8(ascii: "-") { negative = true; index += 1 }
        let start = index
        var magnitude: UInt64 = 0
        while index < end {
            let d = base[index] &- UInt8(ascii: "0")
            guard d < 10 else { break }
            let (m1, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (m2, o2) = m1.addingReportingOverflow(UInt64(d))
            guard !o1, !o2 else { throw NotCanonical() }
            magnitude = m2
            index += 1
        }
        let digits = index - start
        guard digits > 0, digits == 1 || base[start] != UInt8(ascii: "0") else { throw NotCanonical() }
        if index < end {
            let c = base[index]
            guard c != UInt8(ascii: "."), c != UInt8(ascii: "e"), c != UInt8(ascii: "E") else { throw NotCanonical() }
        }
        if negative {
            guard magnitude != 0, magnitude <= UInt64(Int64.max) + 1 else { throw NotCanonical() }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { throw NotCanonical() }
        return Int64(magnitude)
    }

    /// Calls `element` for each item of an array (`[]` allowed).
    mutating func array(_ element: (inout CanonicalScanner) throws(NotCanonical) -> Void) throws(NotCanonical) {
        try expect(UInt8(ascii: "["))
        if try peek() == UInt8(ascii: "]") { index += 1; return }
        while true {
            try element(&self)
            let c = try peek()
            index += 1
            if c == UInt8(ascii: "]") { return }
            guard c == UInt8(ascii: ",") else { throw NotCanonical() }
        }
    }

    /// Marks field `bit` as read; a repeated key is a duplicate (the general parser refuses it).
    @inline(__always)
    static func once(_ seen: inout UInt32, _ bit: UInt32) throws(NotCanonical) {
        let mask: UInt32 = 1 << bit
        guard seen & mask == 0 else { throw NotCanonical() }
        seen |= mask
    }
}

/// Byte-level encoding shared by every on-disk structure: big-endian fixed-width integers and
/// unsigned LEB128 varints (see schemas/ledger-format.md, "Primitives").
enum ByteCoding {
    @inline(__always)
    static func appendUInt64BE(_ value: UInt64, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { out.append(contentsOf: $0) }
    }

    @inline(__always)
    static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    /// `position` as the 8-byte big-endian key used by `events` and `chain`.
    @inline(__always)
    static func positionKey(_ position: UInt64) -> [UInt8] {
        var key: [UInt8] = []
        key.reserveCapacity(8)
        appendUInt64BE(position, to: &key)
        return key
    }

    static func readUInt64BE(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        guard bytes.count == 8 else { return nil }
        var v: UInt64 = 0
        for b in bytes { v = v << 8 | UInt64(b) }
        return v
    }
}

/// Reads primitives from a byte buffer; every read is bounds-checked and reports what was wrong.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }

    mutating func uint8(_ field: String) throws(RecordDecodingError) -> UInt8 {
        guard offset < bytes.count else { throw RecordDecodingError(field: field, reason: "truncated") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func uint64BE(_ field: String) throws(RecordDecodingError) -> UInt64 {
        guard offset + 8 <= bytes.count else { throw RecordDecodingError(field: field, reason: "truncated") }
        var v: UInt64 = 0
        for i in offset..<(offset + 8) { v = v << 8 | UInt64(bytes[i]) }
        offset += 8
        return v
    }

    mutating func varint(_ field: String) throws(RecordDecodingError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < bytes.count else { throw RecordDecodingError(field: field, reason: "truncated varint") }
            let b = bytes[offset]
            offset += 1
            guard shift < 64, shift < 63 || b <= 1 else { throw RecordDecodingError(field: field, reason: "varint overflows 64 bits") }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 {
                // Canonical form only: no redundant trailing zero groups.
                guard b != 0 || shift == 0 else { throw RecordDecodingError(field: field, reason: "non-minimal varint") }
                return result
            }
            shift += 7
        }
    }

    mutating func bytes(_ count: Int, _ field: String) throws(RecordDecodingError) -> UnsafeRawBufferPointer {
        guard count >= 0, offset + count <= bytes.count else { throw RecordDecodingError(field: field, reason: "truncated") }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
    }

    mutating func lengthPrefixed(_ field: String, max: Int) throws(RecordDecodingError) -> UnsafeRawBufferPointer {
        let count = try varint(field)
        guard count <= UInt64(max) else { throw RecordDecodingError(field: field, reason: "length \(count) over the limit \(max)") }
        return try bytes(Int(count), field)
    }

    mutating func string(_ field: String, max: Int) throws(RecordDecodingError) -> String {
        let raw = try lengthPrefixed(field, max: max)
        let utf8 = raw.assumingMemoryBound(to: UInt8.self)
        // ASCII (ids, types, keys: nearly all) is valid UTF-8 as it is: `String(decoding:)` then
        // only copies; the generic `String(validating:)` was a twentieth of a log fold.
        if utf8.allSatisfy({ $0 < 0x80 }) { return String(decoding: utf8, as: UTF8.self) }
        guard let text = String(validating: utf8, as: UTF8.self) else {
            throw RecordDecodingError(field: field, reason: "not valid UTF-8")
        }
        return text
    }
}

/// What was wrong with stored bytes: which field and why.
struct RecordDecodingError: Error, CustomStringConvertible {
    let field: String
    let reason: String
    var description: String { "\(field): \(reason)" }
}

/// The binary form of projection values: little-endian fixed-width integers, length-prefixed
/// UTF-8 strings, a tag byte for optionals. Values are derived data (a rebuild rewrites them), so
/// the form only has to be stable within one projection version; a change bumps the version.
public struct ValueWriter {
    public internal(set) var bytes: [UInt8] = []

    public init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    public mutating func int64(_ v: Int64) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func uint64(_ v: UInt64) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }

    /// Bytes already in the value form (copied as they are).
    mutating func append(_ form: [UInt8]) { bytes.append(contentsOf: form) }

    /// A one-byte tag (of an enum case).
    public mutating func tag(_ v: UInt8) { bytes.append(v) }

    public mutating func count(_ n: Int) {
        precondition(n >= 0 && n <= Int(UInt32.max), "count out of range")
        withUnsafeBytes(of: UInt32(n).littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            count(utf8.count)
            bytes.append(contentsOf: utf8)
        }
    }

    /// A signed integer as a zigzag LEB128 varint (1 byte for -64...63, at most 10).
    mutating func varint(_ v: Int64) {
        var u = UInt64(bitPattern: (v << 1) ^ (v >> 63))
        while u >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: u) | 0x80)
            u >>= 7
        }
        bytes.append(UInt8(u))
    }

    /// A string as a varint byte length and its UTF-8.
    mutating func shortString(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            varint(Int64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    public mutating func optional<T>(_ v: T?, _ write: (inout ValueWriter, T) -> Void) {
        guard let v else { bytes.append(0); return }
        bytes.append(1)
        write(&self, v)
    }
}

/// Reads what `ValueWriter` wrote; every read is bounds-checked and a short or malformed value
/// throws (a damaged projection is rebuilt, never trusted).
public struct ValueReader {
    let buffer: UnsafeRawBufferPointer
    var offset = 0

    public init(_ buffer: UnsafeRawBufferPointer) { self.buffer = buffer }

    public var isAtEnd: Bool { offset == buffer.count }

    mutating func take(_ n: Int) throws(ProjectionError) -> UnsafeRawBufferPointer {
        guard n >= 0, buffer.count - offset >= n else {
            throw .damagedValue("value ends at byte \(buffer.count), needed \(n) more at \(offset)")
        }
        defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: buffer[offset ..< offset + n])
    }

    public mutating func int64() throws(ProjectionError) -> Int64 {
        Int64(littleEndian: try take(8).loadUnaligned(as: Int64.self))
    }

    public mutating func uint64() throws(ProjectionError) -> UInt64 {
        UInt64(littleEndian: try take(8).loadUnaligned(as: UInt64.self))
    }

    public mutating func bool() throws(ProjectionError) -> Bool {
        switch try take(1)[0] {
        case 0: return false
        case 1: return true
        case let b: throw .damagedValue("boolean byte \(b) at \(offset - 1)")
        }
    }

    public mutating func count(max: Int = 1 << 24) throws(ProjectionError) -> Int {
        let n = Int(UInt32(littleEndian: try take(4).loadUnaligned(as: UInt32.self)))
        guard n <= max else { throw .damagedValue("count \(n) over its limit of \(max) at \(offset - 4)") }
        return n
    }

    public mutating func string() throws(ProjectionError) -> String {
        let n = try count(max: 1 << 20)
        guard let s = String(validating: try take(n), as: UTF8.self) else {
            throw .damagedValue("string at \(offset - n) is not UTF-8")
        }
        return s
    }

    /// What `ValueWriter.varint` wrote; more than 10 bytes, or bits past 64, are refused.
    mutating func varint() throws(ProjectionError) -> Int64 {
        var u: UInt64 = 0
        for i in 0 ..< 10 {
            let b = try take(1)[0]
            guard i < 9 || b <= 1 else { throw .damagedValue("varint over 64 bits at \(offset - 1)") }
            u |= UInt64(b & 0x7F) << (7 * UInt64(i))
            if b < 0x80 { return Int64(bitPattern: u >> 1) ^ -Int64(bitPattern: u & 1) }
        }
        throw .damagedValue("varint longer than 10 bytes at \(offset - 10)")
    }

    mutating func shortString() throws(ProjectionError) -> String {
        let n = try varint()
        guard n >= 0, n <= 1 << 20 else { throw .damagedValue("string length \(n) at \(offset)") }
        guard let s = String(validating: try take(Int(n)), as: UTF8.self) else {
            throw .damagedValue("string at \(offset - Int(n)) is not UTF-8")
        }
        return s
    }

    public mutating func optional<T>(_ read: (inout ValueReader) throws(ProjectionError) -> T) throws(ProjectionError) -> T? {
        try bool() ? try read(&self) : nil
    }
}

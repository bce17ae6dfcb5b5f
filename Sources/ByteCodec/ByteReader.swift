/// Reads what `ByteWriter` wrote. Every read is bounds-checked and throws `ByteCodecError` for
/// short or malformed input (never traps): stored bytes may be damaged.
///
/// A reader borrows the bytes it reads: make one with `ByteReader.read(_:_:)` over an array, or
/// (inside the package, for bytes in place in a memory map) `init(_:)`, valid while the buffer is.
public struct ByteReader {
    package let buffer: UnsafeRawBufferPointer
    /// Where the next read starts.
    public private(set) var offset = 0

    /// A reader of bytes that stay valid while it is used.
    @inline(__always)
    package init(_ buffer: UnsafeRawBufferPointer) { self.buffer = buffer }

    /// Runs `body` with a reader of `bytes`.
    public static func read<R, E: Error>(_ bytes: [UInt8], _ body: (inout ByteReader) throws(E) -> R) throws(E) -> R {
        let result = bytes.withUnsafeBytes { b in
            var reader = ByteReader(b)
            return Result { () throws(E) -> R in try body(&reader) }
        }
        return try result.get()
    }

    public var count: Int { buffer.count }
    public var isAtEnd: Bool { offset == buffer.count }
    public var remainingCount: Int { buffer.count - offset }

    /// The next `n` bytes in place (valid while the buffer is), or a `truncated` error.
    @inline(__always)
    package mutating func take(_ n: Int, _ field: String = "") throws(ByteCodecError) -> UnsafeRawBufferPointer {
        guard n >= 0, buffer.count - offset >= n else {
            throw ByteCodecError(.truncated, field: field, offset: offset, "truncated")
        }
        defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: buffer[offset ..< offset + n])
    }

    @inline(__always)
    public mutating func uint8(_ field: String = "") throws(ByteCodecError) -> UInt8 {
        guard offset < buffer.count else { throw ByteCodecError(.truncated, field: field, offset: offset, "truncated") }
        defer { offset += 1 }
        return buffer[offset]
    }

    @inline(__always)
    public mutating func uint32LE(_ field: String = "") throws(ByteCodecError) -> UInt32 {
        UInt32(littleEndian: try take(4, field).loadUnaligned(as: UInt32.self))
    }

    @inline(__always)
    public mutating func uint64LE(_ field: String = "") throws(ByteCodecError) -> UInt64 {
        UInt64(littleEndian: try take(8, field).loadUnaligned(as: UInt64.self))
    }

    @inline(__always)
    public mutating func int64LE(_ field: String = "") throws(ByteCodecError) -> Int64 {
        Int64(bitPattern: try uint64LE(field))
    }

    @inline(__always)
    public mutating func uint64BE(_ field: String = "") throws(ByteCodecError) -> UInt64 {
        UInt64(bigEndian: try take(8, field).loadUnaligned(as: UInt64.self))
    }

    /// An unsigned LEB128 varint, minimal only: a value past 64 bits or with trailing zero groups
    /// is refused (one value has one form).
    @inline(__always)
    public mutating func varint(_ field: String = "") throws(ByteCodecError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        let start = offset
        while true {
            guard offset < buffer.count else { throw ByteCodecError(.truncated, field: field, offset: start, "truncated varint") }
            let b = buffer[offset]
            offset += 1
            guard shift < 64, shift < 63 || b <= 1 else {
                throw ByteCodecError(.malformed, field: field, offset: start, "varint overflows 64 bits")
            }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 {
                guard b != 0 || shift == 0 else { throw ByteCodecError(.malformed, field: field, offset: start, "non-minimal varint") }
                return result
            }
            shift += 7
        }
    }

    /// What `ByteWriter.zigzag` wrote.
    @inline(__always)
    public mutating func zigzag(_ field: String = "") throws(ByteCodecError) -> Int64 {
        let u = try varint(field)
        return Int64(bitPattern: u >> 1) ^ -Int64(bitPattern: u & 1)
    }

    /// The next `n` bytes, copied.
    public mutating func bytes(_ n: Int, _ field: String = "") throws(ByteCodecError) -> [UInt8] {
        [UInt8](try take(n, field))
    }

    /// The next `n` bytes as UTF-8 text; bytes that are not UTF-8 are refused.
    public mutating func utf8(_ n: Int, _ field: String = "") throws(ByteCodecError) -> String {
        let start = offset
        let raw = try take(n, field)
        guard let text = Self.text(raw) else { throw ByteCodecError(.malformed, field: field, offset: start, "not valid UTF-8") }
        return text
    }

    /// `bytes` as text if they are UTF-8. ASCII (ids, types, keys: nearly all) is valid UTF-8 as
    /// it is, so `String(decoding:)` only copies it; the generic `String(validating:)` looks up
    /// metadata on every call.
    @inline(__always)
    package static func text(_ bytes: UnsafeRawBufferPointer) -> String? {
        var bits: UInt8 = 0
        for b in bytes { bits |= b }
        return bits < 0x80 ? String(decoding: bytes, as: UTF8.self) : String(validating: bytes, as: UTF8.self)
    }
}

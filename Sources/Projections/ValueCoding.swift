import ByteCodec

/// The binary form of projection values, on the package's byte codec (`ByteCodec`):
/// little-endian fixed-width integers, counts as u32le, UTF-8 strings after their u32le length,
/// a tag byte for optionals, and compact zigzag varints. Values are derived data (a rebuild
/// rewrites them), so the form only has to be stable within one projection version; a change
/// bumps the version.
public struct ValueWriter {
    private var writer: ByteWriter

    /// The value so far.
    public internal(set) var bytes: [UInt8] {
        get { writer.bytes }
        _modify { yield &writer.bytes }
        set { writer.bytes = newValue }
    }

    public init(capacity: Int = 64) { writer = ByteWriter(capacity: capacity) }

    public mutating func int64(_ v: Int64) { writer.int64LE(v) }

    public mutating func uint64(_ v: UInt64) { writer.uint64LE(v) }

    public mutating func bool(_ v: Bool) { writer.uint8(v ? 1 : 0) }

    /// Bytes already in the value form (copied as they are).
    mutating func append(_ form: [UInt8]) { writer.append(form) }

    /// A one-byte tag (of an enum case).
    public mutating func tag(_ v: UInt8) { writer.uint8(v) }

    public mutating func count(_ n: Int) {
        precondition(n >= 0 && n <= Int(UInt32.max), "count out of range")
        writer.uint32LE(UInt32(n))
    }

    public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            count(utf8.count)
            writer.append(utf8)
        }
    }

    /// A signed integer as a zigzag LEB128 varint (1 byte for -64...63, at most 10).
    mutating func varint(_ v: Int64) { writer.zigzag(v) }

    /// A string as a varint byte length and its UTF-8.
    mutating func shortString(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            writer.zigzag(Int64(utf8.count))
            writer.append(utf8)
        }
    }

    public mutating func optional<T>(_ v: T?, _ write: (inout ValueWriter, T) -> Void) {
        guard let v else { writer.uint8(0); return }
        writer.uint8(1)
        write(&self, v)
    }
}

/// Reads what `ValueWriter` wrote; every read is bounds-checked and a short or malformed value
/// throws `ProjectionError.damagedValue` (a damaged projection is rebuilt, never trusted).
public struct ValueReader {
    private var reader: ByteReader

    /// A reader of bytes that stay valid while it is used (a value in place in LMDB's map).
    package init(_ buffer: UnsafeRawBufferPointer) { reader = ByteReader(buffer) }

    /// Runs `body` with a reader of `bytes`.
    public static func read<R>(_ bytes: [UInt8], _ body: (inout ValueReader) throws(ProjectionError) -> R) throws(ProjectionError) -> R {
        let result = bytes.withUnsafeBytes { b in
            var reader = ValueReader(b)
            return Result { () throws(ProjectionError) -> R in try body(&reader) }
        }
        return try result.get()
    }

    public var isAtEnd: Bool { reader.isAtEnd }
    var offset: Int { reader.offset }
    var buffer: UnsafeRawBufferPointer { reader.buffer }

    /// Runs one read of the codec, its error as a damaged value.
    @inline(__always)
    private mutating func read<T>(_ body: (inout ByteReader) throws(ByteCodecError) -> T) throws(ProjectionError) -> T {
        do {
            return try body(&reader)
        } catch {
            throw .damagedValue("\(error)")
        }
    }

    mutating func take(_ n: Int) throws(ProjectionError) -> UnsafeRawBufferPointer {
        try read { (r) throws(ByteCodecError) in try r.take(n) }
    }

    public mutating func int64() throws(ProjectionError) -> Int64 {
        try read { (r) throws(ByteCodecError) in try r.int64LE() }
    }

    public mutating func uint64() throws(ProjectionError) -> UInt64 {
        try read { (r) throws(ByteCodecError) in try r.uint64LE() }
    }

    mutating func uint8() throws(ProjectionError) -> UInt8 {
        try read { (r) throws(ByteCodecError) in try r.uint8() }
    }

    public mutating func bool() throws(ProjectionError) -> Bool {
        switch try uint8() {
        case 0: return false
        case 1: return true
        case let b: throw .damagedValue("boolean byte \(b) at \(offset - 1)")
        }
    }

    public mutating func count(max: Int = 1 << 24) throws(ProjectionError) -> Int {
        let n = Int(try read { (r) throws(ByteCodecError) in try r.uint32LE() })
        guard n <= max else { throw .damagedValue("count \(n) over its limit of \(max) at \(offset - 4)") }
        return n
    }

    public mutating func string() throws(ProjectionError) -> String {
        let n = try count(max: 1 << 20)
        return try read { (r) throws(ByteCodecError) in try r.utf8(n) }
    }

    /// What `ValueWriter.varint` wrote; more than 10 bytes, bits past 64 or a non-minimal form
    /// are refused.
    mutating func varint() throws(ProjectionError) -> Int64 {
        try read { (r) throws(ByteCodecError) in try r.zigzag() }
    }

    mutating func shortString() throws(ProjectionError) -> String {
        let n = try varint()
        guard n >= 0, n <= 1 << 20 else { throw .damagedValue("string length \(n) at \(offset)") }
        return try read { (r) throws(ByteCodecError) in try r.utf8(Int(n)) }
    }

    public mutating func optional<T>(_ read: (inout ValueReader) throws(ProjectionError) -> T) throws(ProjectionError) -> T? {
        try bool() ? try read(&self) : nil
    }
}

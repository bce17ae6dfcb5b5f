/// Appends primitives to a byte array: the one byte codec of the package (the log's records,
/// the derived indexes' keys, projection values, the decision state).
///
/// Fixed-width integers in either byte order (the log is big-endian: its keys sort by number;
/// projection values are little-endian), unsigned LEB128 varints (minimal, at most 10 bytes),
/// zigzag varints for signed values, and raw bytes. `ByteReader` reads each of them back.
///
/// The writes are `@inlinable`: their callers are in other modules and write a field at a time
/// (a member's decision state is a few hundred of them), so a call per write would cost more
/// than the write.
public struct ByteWriter: Sendable {
    public var bytes: [UInt8]

    @inlinable
    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Appends to `bytes` (take them back from `bytes` when done).
    public init(appendingTo bytes: [UInt8]) { self.bytes = bytes }

    @inlinable @inline(__always)
    public mutating func uint8(_ v: UInt8) { bytes.append(v) }

    @inlinable @inline(__always)
    public mutating func uint32LE(_ v: UInt32) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    @inlinable @inline(__always)
    public mutating func uint64LE(_ v: UInt64) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    @inlinable @inline(__always)
    public mutating func int64LE(_ v: Int64) { uint64LE(UInt64(bitPattern: v)) }

    @inlinable @inline(__always)
    public mutating func uint64BE(_ v: UInt64) {
        withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) }
    }

    /// Unsigned LEB128: 7 bits a byte, least significant first, the high bit set on all but the
    /// last byte. Minimal (no trailing zero groups): 1 byte for 0...127, at most 10.
    @inlinable @inline(__always)
    public mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// A signed value as the varint of its zigzag form (0, -1, 1, -2, … as 0, 1, 2, 3, …):
    /// 1 byte for -64...63, at most 10.
    @inlinable @inline(__always)
    public mutating func zigzag(_ v: Int64) {
        varint(UInt64(bitPattern: (v << 1) ^ (v >> 63)))
    }

    /// Bytes as they are.
    @inlinable @inline(__always)
    public mutating func append(_ other: some Sequence<UInt8>) { bytes.append(contentsOf: other) }
}

extension ByteWriter {
    /// `v` as the 8 big-endian bytes the log keys its tables by.
    public static func uint64BEBytes(_ v: UInt64) -> [UInt8] {
        var w = ByteWriter(capacity: 8)
        w.uint64BE(v)
        return w.bytes
    }
}

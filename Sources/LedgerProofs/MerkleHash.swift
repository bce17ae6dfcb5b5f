import Crypto

/// A 32-byte SHA-256 value of the RFC 6962 Merkle tree (a leaf, a node or a root).
public struct MerkleHash: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 32, "a Merkle hash has 32 bytes")
        self.bytes = bytes
    }

    /// Parses 64 hex digits (either case); nil for anything else.
    public init?(hex: String) {
        guard let bytes = Hex.decode(hex), bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }

    /// `MTH({})`: the root of the empty tree, SHA-256 of the empty string (RFC 6962 2.1).
    public static let emptyTree = MerkleHash(bytes: Array(SHA256.hash(data: [UInt8]())))

    /// The leaf hash of one stored event: `SHA-256(0x00 || record(n))`.
    package static func leaf(record: UnsafeRawBufferPointer) -> MerkleHash {
        var hasher = SHA256()
        hasher.update(data: [0x00] as [UInt8])
        hasher.update(bufferPointer: record)
        return MerkleHash(bytes: Array(hasher.finalize()))
    }

    public static func leaf(record: [UInt8]) -> MerkleHash {
        record.withUnsafeBytes { leaf(record: $0) }
    }

    /// An interior node: `SHA-256(0x01 || left || right)`.
    public static func node(_ left: MerkleHash, _ right: MerkleHash) -> MerkleHash {
        var hasher = SHA256()
        hasher.update(data: [0x01] as [UInt8])
        hasher.update(data: left.bytes)
        hasher.update(data: right.bytes)
        return MerkleHash(bytes: Array(hasher.finalize()))
    }
}

/// Lowercase hex, as every file of the ledger prints bytes.
public enum Hex {
    public static func encode(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes an even number of hex digits; nil on any other character.
    public static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var i = 0
        while i < utf8.count {
            guard let hi = nibble(utf8[i]), let lo = nibble(utf8[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// Arithmetic of the tree's shape, shared by storage, proofs and verification.
enum TreeMath {
    /// The largest power of two strictly below `n` (`k` of RFC 6962 2.1); `n` must be at least 2.
    static func splitPoint(_ n: UInt64) -> UInt64 {
        precondition(n >= 2, "only a tree of two or more leaves splits")
        return UInt64(1) << (63 - (n - 1).leadingZeroBitCount)
    }

    static func isPowerOfTwo(_ n: UInt64) -> Bool { n != 0 && n & (n - 1) == 0 }

    /// The key of the perfect subtree at `level` (2^level leaves) with `index` (it covers leaves
    /// `index * 2^level ..< (index + 1) * 2^level`): its number in post-order, which is the order
    /// in which appending leaves completes nodes. With `m = (index + 1) * 2^level`:
    /// `2(m - 1) - popcount(m - 1) + level`.
    static func nodeKey(level: Int, index: UInt64) -> UInt64 {
        precondition(level >= 0 && level < 48 && index < (UInt64(1) << (48 - level)), "node out of range")
        let m = (index + 1) << UInt64(level)
        return 2 * (m - 1) - UInt64((m - 1).nonzeroBitCount) + UInt64(level)
    }

    /// Nodes stored for a tree of `size` leaves: `2 size - popcount(size)`.
    static func nodeCount(size: UInt64) -> UInt64 { 2 * size - UInt64(size.nonzeroBitCount) }
}

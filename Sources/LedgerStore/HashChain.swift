import Crypto

/// A SHA-256 chain hash: `h(n) = SHA-256(h(n-1) || u64be(n) || record(n))`, `h(0)` = 32 zero bytes.
public struct ChainHash: Hashable, Sendable, CustomStringConvertible {
    /// The 32 bytes, in order, held inline: the writer makes one hash per event, so a hash
    /// allocates nothing (no `[UInt8]`, no generic copy out of the digest).
    private struct Words: Hashable, Sendable {
        var w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64
    }

    private var words: Words

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 32, "a chain hash has 32 bytes")
        words = bytes.withUnsafeBytes { Self.words($0) }
    }

    private init(raw: UnsafeRawBufferPointer) {
        precondition(raw.count == 32, "a chain hash has 32 bytes")
        words = Self.words(raw)
    }

    /// The bytes as they are in memory (`loadUnaligned` keeps their order; no endian conversion).
    private static func words(_ raw: UnsafeRawBufferPointer) -> Words {
        Words(w0: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self), w1: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
              w2: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self), w3: raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
    }

    /// The 32 bytes of the hash.
    public var bytes: [UInt8] { Swift.withUnsafeBytes(of: words) { Array($0) } }

    /// Calls `body` with the 32 bytes, without copying them into an array.
    package func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: words, body)
    }

    public static let genesis = ChainHash(bytes: [UInt8](repeating: 0, count: 32))

    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String { hex }

    /// The hash of the event at `position` whose stored record bytes are `record`.
    public func next(position: UInt64, record: [UInt8]) -> ChainHash {
        record.withUnsafeBytes { next(position: position, record: $0) }
    }

    /// `next(position:record:)` over bytes in place (the writer's and the verifier's fast path).
    package func next(position: UInt64, record: UnsafeRawBufferPointer) -> ChainHash {
        var hasher = SHA256()
        withUnsafeBytes { hasher.update(bufferPointer: $0) }
        Swift.withUnsafeBytes(of: position.bigEndian) { hasher.update(bufferPointer: $0) }
        hasher.update(bufferPointer: record)
        return hasher.finalize().withUnsafeBytes { ChainHash(raw: $0) }
    }
}

import ByteCodec

/// The log's primitives (schemas/ledger-format.md, "Primitives"): big-endian fixed-width
/// integers and minimal unsigned LEB128 varints, written and read by the package's byte codec
/// (`ByteWriter`, `ByteReader`); here only what the log adds to it.
enum ByteCoding {
    /// `position` as the 8-byte big-endian key used by `events` and `chain`.
    @inline(__always)
    static func positionKey(_ position: UInt64) -> [UInt8] { ByteWriter.uint64BEBytes(position) }

    /// An 8-byte big-endian value (a position key, a stored position); nil for any other length.
    static func readUInt64BE(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        guard bytes.count == 8 else { return nil }
        var r = ByteReader(bytes)
        return try? r.uint64BE()
    }
}

/// What was wrong with stored bytes: which field and why (the codec's error, named by field).
typealias RecordDecodingError = ByteCodecError

extension ByteCodecError {
    /// A field that was read but breaks a rule of the log's format.
    init(field: String, reason: String) { self.init(.malformed, field: field, offset: 0, reason) }
}

extension ByteReader {
    /// A varint length, at most `max`, and that many bytes in place.
    mutating func lengthPrefixed(_ field: String, max: Int) throws(RecordDecodingError) -> UnsafeRawBufferPointer {
        let count = try varint(field)
        guard count <= UInt64(max) else { throw RecordDecodingError(field: field, reason: "length \(count) over the limit \(max)") }
        return try take(Int(count), field)
    }

    /// `lengthPrefixed` as UTF-8 text; bytes that are not UTF-8 are refused.
    mutating func string(_ field: String, max: Int) throws(RecordDecodingError) -> String {
        let raw = try lengthPrefixed(field, max: max)
        guard let text = ByteReader.text(raw) else { throw RecordDecodingError(field: field, reason: "not valid UTF-8") }
        return text
    }
}

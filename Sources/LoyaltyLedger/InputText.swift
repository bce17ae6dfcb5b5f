import Foundation

/// Limits on the input files the application reads (import, append, reconcile), in one place.
public enum InputLimits {
    /// The longest input line kept: a longer one is reported with its number and skipped.
    public static let lineBytesMax = 4 << 20
    /// How much one `read` asks for.
    public static let readChunkBytes = 1 << 20
}

/// Input bytes to text. Invalid UTF-8 is refused, never repaired: `String(decoding:as:)` would
/// turn every bad sequence into U+FFFD, so two different ids would become the same text and the
/// second command would pass for a replay of the first.
public enum InputText {
    public static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// `bytes` as a String; the error names `field` (when given) and the first bad byte.
    public static func string(_ bytes: some Collection<UInt8>, field: String?) throws -> String {
        if let s = String(validating: bytes, as: UTF8.self) { return s }
        let offset = firstInvalidOffset(Array(bytes)) ?? 0
        let what = field.map { "field '\($0)'" } ?? "the line"
        throw ApplicationError("\(what) is not valid UTF-8 (bad byte 0x\(hex(Array(bytes)[offset])) at byte \(offset + 1) of the \(field == nil ? "line" : "field"))")
    }

    /// The offset of the first byte that does not start or continue a valid UTF-8 sequence.
    public static func firstInvalidOffset(_ bytes: [UInt8]) -> Int? {
        var i = 0
        while i < bytes.count {
            let n = sequenceLength(bytes, at: i)
            guard n > 0 else { return i }
            i += n
        }
        return nil
    }

    /// The length of the valid UTF-8 sequence starting at `i`, or 0 (RFC 3629: no overlongs,
    /// no surrogates, nothing above U+10FFFF).
    private static func sequenceLength(_ b: [UInt8], at i: Int) -> Int {
        let lead = b[i]
        func cont(_ k: Int, _ range: ClosedRange<UInt8> = 0x80...0xBF) -> Bool { i + k < b.count && range.contains(b[i + k]) }
        switch lead {
        case 0x00...0x7F: return 1
        case 0xC2...0xDF: return cont(1) ? 2 : 0
        case 0xE0: return cont(1, 0xA0...0xBF) && cont(2) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF: return cont(1) && cont(2) ? 3 : 0
        case 0xED: return cont(1, 0x80...0x9F) && cont(2) ? 3 : 0
        case 0xF0: return cont(1, 0x90...0xBF) && cont(2) && cont(3) ? 4 : 0
        case 0xF1...0xF3: return cont(1) && cont(2) && cont(3) ? 4 : 0
        case 0xF4: return cont(1, 0x80...0x8F) && cont(2) && cont(3) ? 4 : 0
        default: return 0
        }
    }

    public static func tooLongReason(byteCount: Int) -> String {
        "the line is \(byteCount) bytes long, more than the \(InputLimits.lineBytesMax) allowed"
    }

    /// True for a line of spaces and tabs only (skipped by every reader).
    public static func isBlank(_ bytes: [UInt8]) -> Bool { bytes.allSatisfy { $0 == 0x20 || $0 == 0x09 } }


    /// A byte as two upper-case hex digits (error messages).
    public static func hex(_ b: UInt8) -> String { (b < 0x10 ? "0" : "") + String(b, radix: 16, uppercase: true) }
}

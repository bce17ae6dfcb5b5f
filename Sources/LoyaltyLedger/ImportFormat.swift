public import LoyaltyDomain
import LedgerJSON

/// The files `import` reads, told apart by their first line: JSON Lines of command objects
/// (schemas/commands/), or CSV of members (`member_id,enrolled_at,store_id,birth_date,gender`) or
/// purchases (`member_id,purchase_id,occurred_at,amount,currency,store_id`) with that header.
/// The purchases CSV is also what `reconcile purchases` reads (a till's export).
///
/// This file, `CSV`, `InputText`, `LineReader` and `ApplicationError` depend on LoyaltyDomain
/// and LedgerJSON only: tools/fuzz.sh compiles them into its import fuzz target as they are.
public enum ImportFormat: Equatable, Sendable {
    case jsonl, members, purchases

    public static let memberHeader = ["member_id", "enrolled_at", "store_id", "birth_date", "gender"]
    public static let purchaseHeader = ["member_id", "purchase_id", "occurred_at", "amount", "currency", "store_id"]

    /// The CSV format whose header `line` is, or nil (a JSON Lines file has no header).
    public static func csvHeader(_ line: [UInt8]) -> ImportFormat? {
        guard let header = String(validating: line, as: UTF8.self).map({ CSV.split($0).map { $0.lowercased() } }) else { return nil }
        if header == memberHeader { return .members }
        if header == purchaseHeader { return .purchases }
        return nil
    }

    /// The format of a file whose first line is `line` (without a byte order mark or line end):
    /// a known CSV header, or JSON Lines when it starts with `{`; nil for neither.
    public static func of(firstLine line: [UInt8]) -> ImportFormat? {
        if let csv = csvHeader(line) { return csv }
        return line.first == UInt8(ascii: "{") ? .jsonl : nil
    }

    /// What `of(firstLine:)` says of a line that is neither.
    public static let firstLineReason = "line 1: not a JSON command nor a known CSV header (members: \(memberHeader.joined(separator: ",")); purchases: \(purchaseHeader.joined(separator: ",")))"

    /// The command of one line of this format (`now`: what a JSON command without a time means).
    /// A CSV date without a time (`2026-11-03`) is handed to `localMidnight` as midnight UTC of
    /// that date, which gives the instant it means (the program's local midnight; by default UTC).
    public func parse(_ line: [UInt8], now: Timestamp, localMidnight: (Timestamp) -> Timestamp = { $0 }) throws -> Command {
        switch self {
        case .jsonl:
            return try Command(json: try JSONCanonical.parse(utf8: line), now: now)
        case .members:
            let f = try CSV.fields(line, names: Self.memberHeader)
            return .enroll(member: try CSV.required(f[0], "member_id"), store: try CSV.required(f[2], "store_id"), brand: "main", channel: "store",
                           birthDate: f[3].isEmpty ? nil : f[3], gender: f[4].isEmpty ? nil : f[4], profile: [:],
                           at: try CSV.time(f[1], "enrolled_at", localMidnight: localMidnight))
        case .purchases:
            return .purchase(try Self.purchase(csvLine: line, localMidnight: localMidnight))
        }
    }

    /// One line of the purchases CSV.
    public static func purchase(csvLine line: [UInt8], localMidnight: (Timestamp) -> Timestamp = { $0 }) throws -> Command.Purchase {
        let f = try CSV.fields(line, names: purchaseHeader)
        return .init(member: try CSV.required(f[0], "member_id"), purchaseId: try CSV.required(f[1], "purchase_id"),
                     amount: try CSV.required(f[3], "amount"), currency: f[4].isEmpty ? nil : f[4],
                     store: try CSV.required(f[5], "store_id"), at: try CSV.time(f[2], "occurred_at", localMidnight: localMidnight))
    }
}

/// Minimal RFC 4180 CSV: commas, double-quoted fields with "" escapes. Lines are split as bytes
/// (a comma is one byte in UTF-8 and never part of another character's bytes), then each field
/// is checked as UTF-8 on its own, so an error names the field.
public enum CSV {
    /// The fields of `line`, each trimmed of leading and trailing spaces and tabs.
    public static func split(_ line: [UInt8]) -> [[UInt8]] {
        var out: [[UInt8]] = [], field: [UInt8] = [], quoted = false, wasQuoted = false
        var i = 0
        while i < line.count {
            let c = line[i]
            i += 1
            if quoted {
                if c != UInt8(ascii: "\"") { field.append(c); continue }
                if i < line.count, line[i] == UInt8(ascii: "\"") { field.append(c); i += 1 } else { quoted = false }
            } else if c == UInt8(ascii: "\""), field.isEmpty, !wasQuoted {
                quoted = true
                wasQuoted = true
            } else if c == UInt8(ascii: ",") {
                out.append(trim(field)); field = []; wasQuoted = false
            } else {
                field.append(c)
            }
        }
        out.append(trim(field))
        return out
    }

    /// The fields of a line already known to be text (a header).
    public static func split(_ line: String) -> [String] {
        split(Array(line.utf8)).map { String(decoding: $0, as: UTF8.self) }  // (valid: split at ASCII commas of valid text)
    }

    /// Drops leading and trailing spaces and tabs.
    public static func trim(_ s: [UInt8]) -> [UInt8] {
        var from = 0, to = s.count
        while from < to, s[from] == 32 || s[from] == 9 { from += 1 }
        while to > from, s[to - 1] == 32 || s[to - 1] == 9 { to -= 1 }
        return from == 0 && to == s.count ? s : Array(s[from..<to])
    }

    /// The fields of `line` as text, one per name in `names`; the error names the field.
    public static func fields(_ line: [UInt8], names: [String]) throws -> [String] {
        if let f = plainASCIIFields(line) {
            guard f.count == names.count else { throw fieldCount(f.count, names) }
            return f
        }
        let f = split(line)
        guard f.count == names.count else { throw fieldCount(f.count, names) }
        return try zip(f, names).map { try InputText.string($0, field: $1) }
    }

    private static func fieldCount(_ found: Int, _ names: [String]) -> ApplicationError {
        ApplicationError("expected \(names.count) fields (\(names.joined(separator: ","))), found \(found)")
    }

    /// The common line, ASCII without quotes, split on its bytes: the fields `split` and
    /// `InputText.string` give, without a UTF-8 check per field (ASCII is valid UTF-8). Nil for any
    /// other line. A till's purchases CSV is all such lines, and the per-field check was most of
    /// the parser's time.
    public static func plainASCIIFields(_ line: [UInt8]) -> [String]? {
        line.withUnsafeBufferPointer { bytes -> [String]? in
            var out: [String] = []
            out.reserveCapacity(8)
            var start = 0
            for i in 0...bytes.count {
                if i < bytes.count {
                    let b = bytes[i]
                    guard b < 0x80, b != UInt8(ascii: "\"") else { return nil }
                    if b != UInt8(ascii: ",") { continue }
                }
                var (from, to) = (start, i)
                while from < to, bytes[from] == 32 || bytes[from] == 9 { from += 1 }
                while to > from, bytes[to - 1] == 32 || bytes[to - 1] == 9 { to -= 1 }
                out.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[from..<to]), as: UTF8.self))  // (ASCII)
                start = i + 1
            }
            return out
        }
    }

    public static func required(_ value: String, _ field: String) throws -> String {
        guard !value.isEmpty else { throw ApplicationError("field '\(field)' is empty") }
        return value
    }

    /// `value` as a time; a date alone goes through `localMidnight` (see `ImportFormat.parse`).
    public static func time(_ value: String, _ field: String, localMidnight: (Timestamp) -> Timestamp = { $0 }) throws -> Timestamp {
        if value.utf8.count == 10, let midnight = Timestamp(rfc3339: value) { return localMidnight(midnight) }
        guard let t = Timestamp(rfc3339: value) else { throw ApplicationError("field '\(field)': '\(value)' is not a date (YYYY-MM-DD) or RFC 3339 time") }
        return t
    }
}

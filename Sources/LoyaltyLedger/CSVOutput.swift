import Foundation
public import LedgerJSON
public import LoyaltyAudit

/// CSV output cells (RFC 4180), safe to open in a spreadsheet.
///
/// A text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to Excel
/// and LibreOffice (`=HYPERLINK(...)` in a member's name would run when an analyst opens the
/// export): it is neutralised with a leading single quote, as OWASP's "CSV Injection" advises.
/// Numbers are written as they are, so a negative balance stays a number; only integer JSON
/// values count as numbers, a string that looks like one is text.
public enum CSVCell {
    /// The UTF-8 byte order mark `--excel` writes first, so that Excel reads the file as UTF-8.
    public static let excelByteOrderMark = "\u{FEFF}"

    /// A text cell: neutralised, then quoted when it holds a comma, quote or line break.
    public static func text(_ s: String) -> String {
        var s = s
        if let first = s.unicodeScalars.first, ["=", "+", "-", "@", "\t", "\r"].contains(first) { s = "'" + s }
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// An integer cell (never neutralised: `-12` is a number, not a formula).
    public static func number(_ n: Int64) -> String { String(n) }

    /// A scalar JSON value as a cell: integers as numbers, everything else as text.
    public static func json(_ v: JSONValue?) -> String {
        if case .integer(let literal)? = v, Int64(literal) != nil { return literal }
        return text(plainText(v))
    }

    /// A scalar JSON value as plain text (CSV cells, table cells).
    public static func plainText(_ v: JSONValue?) -> String {
        switch v {
        case .string(let s)?: return s
        case .integer(let i)?: return i
        case .bool(let b)?: return b ? "true" : "false"
        case .null?, nil: return ""
        case let other?: return String(decoding: JSONCanonical.encode(other), as: UTF8.self)
        }
    }
}

/// The columns of a member view in CSV and table output (JSON has them all, and the profile).
public enum MemberColumns {
    public static let csv = [
        "member", "enrolledAt", "enrollmentStore", "brand", "channel", "birthDate", "gender", "closed", "tier", "tierSince",
        "purchaseCount", "returnCount", "totalSpend", "firstPurchaseAt", "lastPurchaseAt", "lastActivityAt", "lifecycleStage",
        "available", "pending", "held", "debt", "earned", "redeemed", "expired", "adjusted", "clawedBack", "transferredIn", "transferredOut",
    ]
    public static let table = ["member", "enrollmentStore", "tier", "purchaseCount", "totalSpend", "lastPurchaseAt", "lifecycleStage", "available", "pending", "debt"]

    /// A member view as one CSV line, in `csv` order.
    public static func csvRow(_ json: JSONValue) -> String { csv.map { CSVCell.json(json[$0]) }.joined(separator: ",") }
}

extension HistoryRow {
    /// The columns of a history row in CSV, in `json`'s key order (`consumed` left out: a list).
    public static let csvColumns = ["available", "debt", "description", "evaluatedAt", "fault", "held", "occurredAt", "pending", "position",
                                    "recordedAt", "rule", "ruleVersion", "type"]

    /// The row as one CSV line (with its line end), in `csvColumns` order.
    public func writeCSV(into out: inout [UInt8]) {
        let json = self.json
        out.append(contentsOf: Self.csvColumns.map { CSVCell.json(json[$0]) }.joined(separator: ",").utf8)
        out.append(0x0A)
    }
}

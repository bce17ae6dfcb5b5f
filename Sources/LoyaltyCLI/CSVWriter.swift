import LedgerJSON

/// CSV output cells (RFC 4180), safe to open in a spreadsheet.
///
/// A text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to Excel
/// and LibreOffice (`=HYPERLINK(...)` in a member's name would run when an analyst opens the
/// export): it is neutralised with a leading single quote, as OWASP's "CSV Injection" advises.
/// Numbers are written as they are, so a negative balance stays a number; only integer JSON
/// values count as numbers, a string that looks like one is text.
enum CSVCell {
    /// The UTF-8 byte order mark `--excel` writes first, so that Excel reads the file as UTF-8.
    static let excelByteOrderMark = "\u{FEFF}"

    /// A text cell: neutralised, then quoted when it holds a comma, quote or line break.
    static func text(_ s: String) -> String {
        var s = s
        if let first = s.unicodeScalars.first, ["=", "+", "-", "@", "\t", "\r"].contains(first) { s = "'" + s }
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// An integer cell (never neutralised: `-12` is a number, not a formula).
    static func number(_ n: Int64) -> String { String(n) }

    /// A scalar JSON value as a cell: integers as numbers, everything else as text.
    static func json(_ v: JSONValue?) -> String {
        if case .integer(let literal)? = v, Int64(literal) != nil { return literal }
        return text(plainText(v))
    }
}

/// A CSV text cell (see `CSVCell.text`).
func csvCell(_ s: String) -> String { CSVCell.text(s) }

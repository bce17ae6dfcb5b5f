import Testing
@testable import LoyaltyDomain

/// `Decimal10.parse` reads UTF-8 bytes; it must accept and refuse exactly what the earlier
/// Character-based parser (kept here as the reference) did, except where that one trapped: a
/// digit with a combining mark ("5\u{301}") sorts between "0" and "9" as a Character, passed its
/// digit check, and crashed `Int64(fraction)!`. The reference here says nil there.
@Suite struct DecimalParseTests {
    static func reference(_ text: String, maxFractionDigits: Int) -> (Int64, Int64)? {
        var negative = false
        var s = Substring(text)
        if s.hasPrefix("-") { negative = true; s = s.dropFirst() }
        let digit: (Character) -> Bool = { ("0"..."9").contains($0) }
        let pieces = s.split(separator: ".", omittingEmptySubsequences: false)
        guard pieces.count <= 2, let whole = pieces.first, !whole.isEmpty, whole.allSatisfy(digit) else { return nil }
        let fraction = pieces.count == 2 ? pieces[1] : ""
        guard fraction.count <= maxFractionDigits, fraction.allSatisfy(digit), pieces.count == 1 || !fraction.isEmpty else { return nil }
        var scale: Int64 = 1
        for _ in 0..<fraction.count { scale *= 10 }
        guard let w = Int64(whole) else { return nil }
        guard let f = fraction.isEmpty ? 0 : Int64(fraction) else { return nil }
        let (scaled, o1) = w.multipliedReportingOverflow(by: scale)
        let (sum, o2) = scaled.addingReportingOverflow(f)
        guard !o1, !o2 else { return nil }
        return (negative ? -sum : sum, scale)
    }

    static let samples = [
        "0", "1", "12.50", "12.5", "0.01", "-3.25", "007.10", "", ".", "5.", ".5", "-", "--5", "+5", "1.2.3", "1,50", " 1", "1 ",
        "12.345", "9223372036854775807", "9223372036854775808", "922337203685477580.7", "92233720368547758.07",
        "-9223372036854775807", "1e3", "١٢", "1\u{301}.00", "-\u{301}5", "12.5\u{301}", "0.000", "99999999999999999999",
    ]

    @Test func acceptsAndRefusesWhatTheCharacterParserDid() {
        for digits in 0...3 {
            for text in Self.samples {
                let got = Decimal10.parse(text, maxFractionDigits: digits)
                let want = Self.reference(text, maxFractionDigits: digits)
                #expect(got?.0 == want?.0 && got?.1 == want?.1, "\(text) with \(digits) fraction digits: \(String(describing: got)) vs \(String(describing: want))")
            }
        }
    }

    @Test func randomStringsOfDigitsSignsAndPointsAgree() {
        var random = SystemRandomNumberGenerator()
        let alphabet = Array("0123456789.-x ")
        for _ in 0..<20_000 {
            let text = String((0..<Int.random(in: 0...22, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
            let digits = Int.random(in: 0...4, using: &random)
            let got = Decimal10.parse(text, maxFractionDigits: digits)
            let want = Self.reference(text, maxFractionDigits: digits)
            #expect(got?.0 == want?.0 && got?.1 == want?.1, "\(text) with \(digits) fraction digits")
        }
    }
}

/// Points and money are Int64 (money in minor units). Arithmetic is checked: overflow is a
/// `DomainError.overflow`, never a wrap and never a trap.
public typealias Points = Int64
public typealias MinorUnits = Int64

@inline(__always)
func add(_ a: Int64, _ b: Int64, _ what: @autoclosure () -> String) throws(DomainError) -> Int64 {
    let (r, o) = a.addingReportingOverflow(b)
    if o { throw .overflow(what()) }
    return r
}

@inline(__always)
func sub(_ a: Int64, _ b: Int64, _ what: @autoclosure () -> String) throws(DomainError) -> Int64 {
    let (r, o) = a.subtractingReportingOverflow(b)
    if o { throw .overflow(what()) }
    return r
}

extension Int64 {
    /// `self + other`, or a `FoldError.overflow` naming `field`: for sums a fold keeps.
    @inline(__always)
    func adding(_ other: Int64, field: @autoclosure () -> String) throws(FoldError) -> Int64 {
        let (r, o) = addingReportingOverflow(other)
        if o { throw FoldError(.overflow, "\(field()): \(self) + \(other) overflows") }
        return r
    }

    /// `self - other`, or a `FoldError.overflow` naming `field`.
    @inline(__always)
    func subtracting(_ other: Int64, field: @autoclosure () -> String) throws(FoldError) -> Int64 {
        let (r, o) = subtractingReportingOverflow(other)
        if o { throw FoldError(.overflow, "\(field()): \(self) - \(other) overflows") }
        return r
    }

    /// `self + other` for a sum the model's `FoldLimits` keep in range (a subset of the points or
    /// money it admitted), in queries that cannot throw: saturates at the bounds, never wraps or
    /// traps, should the bound ever not hold.
    @inline(__always)
    func boundedAdding(_ other: Int64) -> Int64 {
        let (r, o) = addingReportingOverflow(other)
        return o ? (other > 0 ? .max : .min) : r
    }

    /// `self - other`, saturating like `boundedAdding`.
    @inline(__always)
    func boundedSubtracting(_ other: Int64) -> Int64 {
        let (r, o) = subtractingReportingOverflow(other)
        return o ? (other < 0 ? .max : .min) : r
    }
}

/// How a fractional number of points becomes whole.
public enum Rounding: String, Sendable, CaseIterable {
    case down, halfUp = "half_up", up
}

/// An exact ratio of integers (rates, multipliers): `numerator / denominator`, denominator > 0.
public struct Ratio: Hashable, Sendable, CustomStringConvertible {
    public var numerator: Int64
    public var denominator: Int64

    public init(_ numerator: Int64, _ denominator: Int64 = 1) {
        precondition(denominator > 0, "a ratio's denominator is positive")
        self.numerator = numerator
        self.denominator = denominator
    }

    public static let one = Ratio(1)

    public var description: String { denominator == 1 ? "\(numerator)" : "\(numerator)/\(denominator)" }

    /// Parses `"2"`, `"3/2"` or a decimal string `"1.5"` exactly.
    public init?(text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count == 2, let n = Int64(parts[0]), let d = Int64(parts[1]), d > 0, n >= 0 {
            self.init(n, d)
            return
        }
        guard let (units, scale) = Decimal10.parse(text, maxFractionDigits: 9), units >= 0 else { return nil }
        self.init(units, scale)
    }
}

/// Exact decimal parsing into integer units: "12.50" with 2 digits -> 1250.
public enum Decimal10 {
    /// Returns (value scaled by 10^digits, 10^digits) where digits = the fraction digits found:
    /// an optional "-", one or more ASCII digits, optionally "." and 1 to `maxFractionDigits`
    /// digits (at most 18). Nil for anything else or on overflow. Reads the UTF-8 bytes (no
    /// splitting into Characters: an import parses an amount per line).
    public static func parse(_ text: String, maxFractionDigits: Int) -> (Int64, Int64)? {
        var text = text
        return text.withUTF8 { u -> (Int64, Int64)? in
            var i = 0
            var negative = false
            if i < u.count, u[i] == UInt8(ascii: "-") { negative = true; i += 1 }
            var whole: Int64 = 0
            var wholeDigits = 0
            while i < u.count, u[i] != UInt8(ascii: ".") {
                let d = u[i] &- UInt8(ascii: "0")
                guard d < 10 else { return nil }
                let (times10, o1) = whole.multipliedReportingOverflow(by: 10)
                let (next, o2) = times10.addingReportingOverflow(Int64(d))
                guard !o1, !o2 else { return nil }
                whole = next
                wholeDigits += 1
                i += 1
            }
            guard wholeDigits > 0 else { return nil }
            var fraction: Int64 = 0
            var scale: Int64 = 1
            if i < u.count {  // at the "."
                i += 1
                var digits = 0
                while i < u.count {
                    let d = u[i] &- UInt8(ascii: "0")
                    guard d < 10 else { return nil }  // (a second "." ends here too)
                    digits += 1
                    guard digits <= min(maxFractionDigits, 18) else { return nil }
                    fraction = fraction * 10 + Int64(d)
                    scale *= 10
                    i += 1
                }
                guard digits > 0 else { return nil }
            }
            let (scaled, o1) = whole.multipliedReportingOverflow(by: scale)
            let (sum, o2) = scaled.addingReportingOverflow(fraction)
            guard !o1, !o2 else { return nil }
            return (negative ? -sum : sum, scale)
        }
    }

    /// "12.50" -> 1250 for exponent 2; nil if malformed, signed (also "-0" and "+1"), or more
    /// digits than the exponent. Only ASCII digits and one "."; no spaces, no exponent.
    public static func minorUnits(_ text: String, exponent: Int) -> MinorUnits? {
        guard text.utf8.first != UInt8(ascii: "-"), let (value, scale) = parse(text, maxFractionDigits: exponent), value >= 0
        else { return nil }
        var factor: Int64 = 1
        var s = scale
        while s < pow10(exponent) { s *= 10; factor *= 10 }
        let (r, o) = value.multipliedReportingOverflow(by: factor)
        return o ? nil : r
    }

    public static func pow10(_ n: Int) -> Int64 {
        var r: Int64 = 1
        for _ in 0..<n { r *= 10 }
        return r
    }

    /// 1250 -> "12.50" for exponent 2.
    public static func format(_ minor: MinorUnits, exponent: Int) -> String {
        guard exponent > 0 else { return String(minor) }
        let p = pow10(exponent)
        let sign = minor < 0 ? "-" : ""
        let m = minor.magnitude
        let frac = String(m % UInt64(p))
        return sign + String(m / UInt64(p)) + "." + String(repeating: "0", count: exponent - frac.count) + frac
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

/// Rounds `numerator / denominator` (denominator > 0, numerator >= 0) to an integer.
func rounded(_ numerator: Int128, _ denominator: Int128, _ mode: Rounding) -> Int128 {
    precondition(denominator > 0)
    let q = numerator / denominator, r = numerator % denominator
    switch mode {
    case .down: return q
    case .up: return r > 0 ? q + 1 : q
    case .halfUp: return r * 2 >= denominator ? q + 1 : q
    }
}

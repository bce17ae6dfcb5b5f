// Shared by every fuzz target: how a broken property is reported (a trap libFuzzer records as a
// crash, with the message on standard error), and the fixed clock the parsers get.
#if canImport(Glibc)
import Glibc
#endif
import LoyaltyDomain

enum FuzzCheck {
    /// `now` for parsers that fill an absent time: fixed, so a run is reproducible.
    static let now = Timestamp(microseconds: 1_780_000_000_000_000)

    /// Stops the run when `condition` is false: the input broke a property, not just a parser.
    static func require(_ condition: Bool, _ message: @autoclosure () -> String) {
        guard !condition else { return }
        let text = Array("fuzz property failed: \(message())\n".utf8)
        _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        abort()
    }
}

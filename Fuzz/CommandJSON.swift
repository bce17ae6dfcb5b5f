// Fuzz target: the command JSON parser (`JSONCanonical.parse` + `Command(json:now:)`), what
// `loyalty import` does with each JSON line. Properties: no trap; a parsed JSON value re-encodes
// canonically and re-parses equal; a parsed command re-encodes and re-parses equal.
import LedgerJSON
import LoyaltyDomain

enum CommandJSONTarget {
    /// The entry point, shared with FuzzRegressionTests: the command, or nil when refused.
    static func run(_ bytes: [UInt8]) {
        let json: JSONValue
        do { json = try JSONCanonical.parse(String(decoding: bytes, as: UTF8.self)) } catch { return }
        CommandJSONEncoding.checkJSONRoundTrip(json, origin: "command JSON")
        guard let command = try? Command(json: json, now: FuzzCheck.now) else { return }
        CommandJSONEncoding.checkRoundTrip(command, origin: "command")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCommandJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    CommandJSONTarget.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

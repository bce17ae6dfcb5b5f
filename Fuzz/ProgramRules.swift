// Fuzz target: the rules parser (`ProgramRules(json:)`), what `loyalty program publish` reads.
// Properties: no trap; parsed rules re-encode (`json`) and re-parse equal, and that encoding is
// a fixed point (encoding the re-parsed rules gives the same bytes).
import LedgerJSON
import LoyaltyDomain

enum ProgramRulesTarget {
    static func run(_ bytes: [UInt8]) {
        let json: JSONValue
        do { json = try JSONCanonical.parse(String(decoding: bytes, as: UTF8.self)) } catch { return }
        CommandJSONEncoding.checkJSONRoundTrip(json, origin: "rules JSON")
        guard let rules = try? ProgramRules(json: json) else { return }
        let encoded = JSONCanonical.encode(rules.json)
        let text = String(decoding: encoded, as: UTF8.self)
        do {
            let again = try ProgramRules(json: try JSONCanonical.parse(text))
            FuzzCheck.require(again == rules, "rules re-read differently from \(text)")
            FuzzCheck.require(JSONCanonical.encode(again.json) == encoded, "rules encoding is not a fixed point: \(text)")
        } catch {
            FuzzCheck.require(false, "the JSON form of parsed rules is refused (\(error)): \(text)")
        }
        // The same rules inside a publish-program command take the command's path too.
        CommandJSONEncoding.checkRoundTrip(.publishProgram(rules, at: FuzzCheck.now), origin: "publish-program")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProgramRules(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    ProgramRulesTarget.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

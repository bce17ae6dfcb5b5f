import LedgerTestSupport
public import Projections

/// Every projection's live digest equals a fresh fold of the log through the same position;
/// returns the digests by projection name.
public func expectDeterministic(_ p: LedgerProjections) throws -> [String: String] {
    var digests: [String: String] = [:]
    for name in LedgerProjections.names {
        let d = try p.checkDeterminism(name)
        guard d.live == d.rebuilt else { throw TestFailure("\(name) at \(d.checkpoint): live \(d.live) != fresh \(d.rebuilt)") }
        digests[name] = d.live
    }
    return digests
}

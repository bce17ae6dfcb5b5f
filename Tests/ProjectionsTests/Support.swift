import Foundation
import LedgerStore
@testable import Projections

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Every projection's live digest equals a fresh fold of the log through the same position.
func expectDeterministic(_ p: LedgerProjections) throws -> [String: String] {
    var digests: [String: String] = [:]
    for name in LedgerProjections.names {
        let d = try p.checkDeterminism(name)
        guard d.live == d.rebuilt else { throw TestFailure("\(name) at \(d.checkpoint): live \(d.live) != fresh \(d.rebuilt)") }
        digests[name] = d.live
    }
    return digests
}

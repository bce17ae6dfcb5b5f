import Foundation
import LedgerStore
import LedgerTestSupport
import LoyaltyDomain
import LoyaltyLedger
import ProjectionTestSupport
@testable import Projections

/// Runs the built `loyalty` tool and expects it to succeed.
@discardableResult
func loyalty(_ ledger: String, _ arguments: [String]) throws -> String {
    let r = try runTool("loyalty", arguments + ["--ledger", ledger])
    guard r.status == 0 else { throw TestFailure("loyalty \(arguments.joined(separator: " ")) exited \(r.status): \(r.err)") }
    return r.out
}

/// A small realistic ledger made by the tool itself (program rules, generated commands).
/// `start` is the first business day of the generated year (it must lie in the past: the ledger
/// refuses future business times); expiry runs only as of the past, so lots are past their
/// expiry only for a history that starts more than a year ago.
func makeLedger(_ path: String, commands: Int, members: Int, start: String = "2025-01-06") throws {
    try loyalty(path, ["init"])
    let rules = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("schemas/examples/retail.rules.json").path
    try loyalty(path, ["program", "publish", rules, "--at", String(start.prefix(4)) + "-01-01"])
    try importGenerated(path, commands: commands, members: members, start: start)
}

/// Imports `loyalty generate --commands` output, spread over `days` from `start` (another seed
/// and start day: more history for the same members).
func importGenerated(_ path: String, commands: Int, members: Int, seed: UInt64 = 42, start: String = "2025-01-06",
                     days: Int = 365) throws {
    let gen = try runTool("loyalty", ["generate", "--commands", "--count", String(commands), "--members", String(members),
                                      "--seed", String(seed), "--start", start, "--days", String(days)])
    guard gen.status == 0 else { throw TestFailure("loyalty generate: \(gen.err)") }
    let file = path + ".commands.jsonl"
    try gen.out.write(toFile: file, atomically: true, encoding: .utf8)
    // A second import for the same members is partly refused (exit 1: they are enrolled
    // already, its purchase ids are taken); the rest is written.
    _ = try runTool("loyalty", ["import", file, "--ledger", path])
}

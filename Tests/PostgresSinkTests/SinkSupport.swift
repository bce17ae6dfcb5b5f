import Foundation
import LedgerJSON
import LedgerStore
import LedgerTestSupport
import LoyaltyDomain
import LoyaltyLedger
import Projections
@testable import PostgresSink

/// Imports `loyalty generate --commands` output into a new ledger at `path`.
func generatedLedger(_ path: String, commands: Int, members: Int, seed: UInt64 = 7) throws {
    let made = try runTool("loyalty", ["init", "--ledger", path])
    guard made.status == 0 else { throw TestFailure("loyalty init: \(made.err)") }
    let gen = try runTool("loyalty", ["generate", "--commands", "--count", String(commands), "--members", String(members), "--seed", String(seed)])
    guard gen.status == 0 else { throw TestFailure("loyalty generate: \(gen.err)") }
    let file = path + ".commands.jsonl"
    try gen.out.write(toFile: file, atomically: true, encoding: .utf8)
    let imported = try runTool("loyalty", ["import", file, "--ledger", path])
    guard imported.status == 0 else { throw TestFailure("loyalty import: \(imported.err.prefix(2000))") }
}

/// `loyalty sink postgres` as a child process (its output to a file), to kill or wait for.
final class SinkProcess: @unchecked Sendable {
    // @unchecked: used by the test that made it; Process's methods are thread-safe.
    let process = Process()
    let errPath = NSTemporaryDirectory() + "pgsink-" + UUID().uuidString + ".err"

    init(_ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: builtExecutable("loyalty"))
        process.arguments = ["sink", "postgres"] + arguments
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
    }

    func kill() {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Waits up to `seconds` for the exit; kills it past that. The exit status (nil: killed).
    func wait(seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(); return nil }
        return process.terminationStatus
    }

    var errors: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

    deinit {
        kill()
        try? FileManager.default.removeItem(atPath: errPath)
    }
}

/// A read model's JSON with keys sorted (canonical), for comparison.
func canonical(_ v: JSONValue?) -> String { v.map { String(decoding: JSONCanonical.encode($0), as: UTF8.self) } ?? "null" }

/// The SQL of one row as a JSON array: times as microseconds since 1970, the rest as they are.
func rowSQL(_ columns: [SinkColumns.Column], table: String) -> String {
    let parts = columns.map { c in
        c.type == "timestamptz" ? "(extract(epoch from \(c.name)) * 1000000)::bigint" : c.name
    }
    return "SELECT json_build_array(\(parts.joined(separator: ", ")))::text FROM loyalty.\(table) ORDER BY member COLLATE \"C\""
}

/// The expected JSON array of a row from a read model's JSON: times as microseconds.
func expectedRow(_ columns: [SinkColumns.Column], _ json: JSONValue) -> String {
    canonical(.array(columns.map { c in
        guard c.type == "timestamptz", case .string(let text)? = json[c.key], let t = Timestamp(rfc3339: text) else { return json[c.key] ?? .null }
        return .integer(String(t.microseconds))
    }))
}

/// Checks the sink's tables against the ledger at `path`: every event, and every member's view
/// and balance as the ledger's projections give them at the row's `as_of`. Returns the problems.
func compareTables(_ server: PostgresServer, database: String, ledger path: String) throws -> [String] {
    let app = try LedgerApplication.open(path: path)
    defer { app.close() }
    _ = try app.catchUp()
    var problems: [String] = []
    // Events.
    let page = try app.events(after: 0, limit: 1_000_000)
    let rows = try server.psql("""
        SELECT json_build_array(position, type, schema_version, member, version, (extract(epoch from recorded_at) * 1000000)::bigint,
          (extract(epoch from occurred_at) * 1000000)::bigint, idempotency_key, actor, payload, encode(payload_raw, 'hex'), hash)::text
        FROM loyalty.events ORDER BY position
        """, database: database).split(separator: "\n").map(String.init)
    if rows.count != page.events.count { problems.append("events: \(rows.count) rows, the log has \(page.events.count)") }
    for (row, e) in zip(rows, page.events) {
        let payload = (try? JSONCanonical.parse(utf8: e.data)) ?? .null
        let expected: JSONValue = .array([.integer(String(e.position)), .string(e.type), .integer(String(e.schemaVersion)), .string(e.member),
                                          .integer(String(e.version)), .integer(String(e.recordedAt)), .integer(String(e.occurredAt)),
                                          e.idempotencyKey.map { .string($0) } ?? .null, e.actor.map { .string($0) } ?? .null,
                                          payload, .null, e.hash.map { .string($0.hex) } ?? .null])
        let found = try JSONCanonical.parse(row)
        if canonical(found) != canonical(expected) { problems.append("event \(e.position): \(row) != \(canonical(expected))") }
    }
    // Member views and balances.
    let checkpoint = try server.psql("SELECT position FROM loyalty.sink_checkpoint", database: database)
    if checkpoint.trimmingCharacters(in: .whitespacesAndNewlines) != String(page.head) {
        problems.append("checkpoint \(checkpoint) != head \(page.head)")
    }
    var expectedMembers: [String] = []
    try app.members(MemberFilter(), at: .now()) { expectedMembers.append($0.member) }
    for (table, columns) in [("member_views", SinkColumns.memberViews), ("balances", SinkColumns.balances)] {
        let lines = try server.psql(rowSQL(columns, table: table), database: database).split(separator: "\n")
        var members: [String] = []
        for line in lines {
            let found = try JSONCanonical.parse(String(line))
            guard case .array(let cells) = found, case .string(let member)? = cells.first,
                  let asOfIndex = columns.firstIndex(where: { $0.key == "asOf" }),
                  case .integer(let micros) = cells[asOfIndex], let at = Int64(micros) else {
                problems.append("\(table): unreadable row \(line)"); continue
            }
            members.append(member)
            let record = try app.member(member, at: Timestamp(microseconds: at))
            let json = table == "member_views" ? record.json : (record.balance?.json ?? .null)
            if canonical(found) != expectedRow(columns, json) { problems.append("\(table) \(member): \(line) != \(expectedRow(columns, json))") }
        }
        if table == "member_views", members != expectedMembers.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            problems.append("member_views: \(members.count) members, the ledger has \(expectedMembers.count)")
        }
    }
    return problems
}

import Foundation
import LedgerTestSupport

/// A private PostgreSQL server for one test: Debian's `postgresql` (installed when missing),
/// a cluster made by initdb in a temporary directory, listening only on a Unix socket in that
/// directory. The server refuses to run as root, so it runs as the `postgres` user. Stopped
/// (immediately) by `stop` or at deinit, also when the test failed.
final class PostgresServer: @unchecked Sendable {
    // @unchecked: the fields are set in init and only read after; `stop` is idempotent.
    let directory: String
    let port = 5432
    private let bin: String

    /// The URL the sink takes for database `database`.
    func url(_ database: String = "postgres") -> String { "postgres://postgres@/\(database)?host=\(directory)&port=\(port)" }

    init() throws {
        bin = try Self.binaries()
        directory = "/tmp/pgsink-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Self.check(sh("chown postgres:postgres \(directory) && chmod 700 \(directory)"), "chown \(directory)")
        try Self.check(asPostgres("\(bin)/initdb -D \(directory)/data -U postgres --auth=trust -E UTF8 --locale=C --no-sync > \(directory)/initdb.log 2>&1"),
                       "initdb (see \(directory)/initdb.log)")
        try start()
    }

    func start() throws {
        let options = "-k \(directory) -c listen_addresses='' -p \(port) -c fsync=off -c full_page_writes=off"
        try Self.check(asPostgres("\(bin)/pg_ctl -D \(directory)/data -o \"\(options)\" -l \(directory)/server.log -w -t 60 start > /dev/null 2>&1 < /dev/null"),
                       "pg_ctl start (see \(directory)/server.log)")
    }

    /// Stops the server at once (its clients see the connection drop).
    func stop() {
        _ = asPostgres("\(bin)/pg_ctl -D \(directory)/data -m immediate -w stop > /dev/null 2>&1")
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs `sql` with psql, returning its unaligned output.
    func psql(_ sql: String, database: String = "postgres") throws -> String {
        let file = directory + "/query-" + UUID().uuidString + ".sql"
        try sql.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let out = directory + "/psql.out"
        guard sh("psql -X -q -At -v ON_ERROR_STOP=1 -h \(directory) -p \(port) -U postgres -d \(database) -f \(file) > \(out) 2>&1") else {
            throw TestFailure("psql: " + ((try? String(contentsOfFile: out, encoding: .utf8)) ?? ""))
        }
        return (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
    }

    private func asPostgres(_ command: String) -> Bool { sh("runuser -u postgres -- sh -c '\(command.replacingOccurrences(of: "'", with: "'\\''"))'") }

    private static func check(_ ok: Bool, _ what: String) throws { if !ok { throw TestFailure("\(what) failed") } }

    /// The directory of initdb and pg_ctl: installs Debian's postgresql when there is none.
    private static func binaries() throws -> String {
        if let found = installed() { return found }
        guard sh("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql > /dev/null 2>&1")
            || sh("apt-get update -qq > /dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql > /dev/null 2>&1")
        else { throw TestFailure("apt-get install postgresql failed") }
        guard let found = installed() else { throw TestFailure("postgresql installed, but no initdb under /usr/lib/postgresql") }
        return found
    }

    private static func installed() -> String? {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return versions.sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }.map { "\(root)/\($0)/bin" }
            .first { FileManager.default.isExecutableFile(atPath: $0 + "/initdb") && FileManager.default.isExecutableFile(atPath: $0 + "/pg_ctl") }
    }
}

/// Runs `command` with /bin/sh and waits for it with waitpid (system(3)) (Foundation's `Process` did not see
/// `pg_ctl start` end: its server lives on as the shell's grandchild). True when it exited 0.
func sh(_ command: String) -> Bool {
    system(command) == 0
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

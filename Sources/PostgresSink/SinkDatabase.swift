import Logging
import NIOCore
import PostgresNIO
import Projections

/// One connection to the sink's database: the schema's migration, the checkpoint, and the
/// write of a batch (events, member rows, fold states and checkpoint in one transaction).
/// Every failure is a `PostgresFailure` (or a `SinkError` for a refusal).
final class SinkDatabase {
    let connection: PostgresConnection
    let logger: Logger

    private init(connection: PostgresConnection, logger: Logger) { (self.connection, self.logger) = (connection, logger) }

    static func connect(_ url: PostgresURL, logger: Logger) async throws -> SinkDatabase {
        try await onPostgres {
            let connection = try await PostgresConnection.connect(configuration: url.configuration, id: 1, logger: logger)
            let db = SinkDatabase(connection: connection, logger: logger)
            do {
                // COPY names its table in quotes (`"events"`): the schema is found by the search
                // path (temporary tables, always searched first, are the staging tables).
                try await db.run("SET search_path TO loyalty")
                try await db.run("SET synchronous_commit TO on")
            } catch {
                try? await connection.close()
                throw error
            }
            return db
        }
    }

    func close() async { try? await connection.close() }

    func run(_ sql: String) async throws {
        _ = try await onPostgres { try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) }
    }

    /// Creates or migrates the schema, then makes this connection's staging tables. Refuses a
    /// schema newer than this sink and fold states of another version.
    func migrate() async throws {
        try await transaction {
            try await run("SELECT pg_advisory_xact_lock(\(SinkSchema.advisoryLock))")
            try await run("CREATE SCHEMA IF NOT EXISTS loyalty")
            try await run("CREATE TABLE IF NOT EXISTS loyalty.schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
            let rows = try await connection.query("SELECT coalesce(max(version), 0)::bigint FROM loyalty.schema_version", logger: logger)
            var current: Int64 = 0
            for try await (v) in rows.decode(Int64.self) { current = v }
            guard current <= Int64(SinkSchema.latest) else {
                throw SinkError("schema loyalty is at version \(current), newer than this sink knows (\(SinkSchema.latest)): run a newer loyalty")
            }
            for (i, statements) in SinkSchema.migrations.enumerated() where Int64(i + 1) > current {
                for sql in statements { try await run(sql) }
                try await run("INSERT INTO loyalty.schema_version (version) VALUES (\(i + 1))")
                logger.info("postgres sink: schema loyalty migrated to version \(i + 1)")
            }
            for sql in SinkSchema.addedColumns() { try await run(sql) }
        }
        let fold = try await onPostgres { () -> String in
            var version = ""
            for try await (v) in try await connection.query("SELECT fold_version FROM loyalty.sink_checkpoint WHERE id = 1", logger: logger).decode(String.self) { version = v }
            return version
        }
        guard fold == MemberFolds.version else {
            throw SinkError("the member states in loyalty.member_fold are of fold version '\(fold)', this sink folds '\(MemberFolds.version)': "
                + "drop the schema (DROP SCHEMA loyalty CASCADE) and follow the log again")
        }
        for sql in SinkSchema.stagingTables { try await run(sql) }
    }

    /// The position the sink has written through (0: nothing yet) and the chain hash there.
    func checkpoint() async throws -> (position: UInt64, hash: String?) {
        try await onPostgres {
            var out: (UInt64, String?) = (0, nil)
            for try await (p, h) in try await connection.query("SELECT position, hash FROM loyalty.sink_checkpoint WHERE id = 1", logger: logger)
                .decode((Int64, String?).self) {
                out = (UInt64(max(0, p)), h)
            }
            return out
        }
    }

    /// The stored fold states of `members` (those without a row are absent).
    func foldStates(_ members: [String]) async throws -> [String: (view: [UInt8]?, balance: [UInt8]?)] {
        guard !members.isEmpty else { return [:] }
        return try await onPostgres {
            var out: [String: (view: [UInt8]?, balance: [UInt8]?)] = [:]
            let rows = try await connection.query("SELECT member, view, balance FROM loyalty.member_fold WHERE member = ANY(\(members))", logger: logger)
            for try await (m, v, b) in rows.decode((String, ByteBuffer?, ByteBuffer?).self) {
                out[m] = (v.map { Array($0.readableBytesView) }, b.map { Array($0.readableBytesView) })
            }
            return out
        }
    }

    /// Writes `batch` and moves the checkpoint from `from` to `batch.through` in one
    /// transaction. Refused (nothing written) when the stored checkpoint is not `from`: another
    /// sink writes to this database.
    func write(_ batch: SinkBatch, from: UInt64) async throws {
        try await transaction {
            let moved = try await connection.query("""
                UPDATE loyalty.sink_checkpoint SET position = \(Int64(batch.through)), hash = \(batch.hash), updated_at = now()
                WHERE id = 1 AND position = \(Int64(from)) RETURNING position
                """, logger: logger)
            var count = 0
            for try await _ in moved { count += 1 }
            guard count == 1 else {
                throw SinkError("loyalty.sink_checkpoint is no longer at position \(from): another sink writes to this database (run one sink per database)")
            }
            try await copy("events", SinkSchema.eventColumns, batch.events)
            if batch.memberFold.rows > 0 {
                try await copy("stage_member_fold", SinkSchema.memberFoldColumns, batch.memberFold)
                try await copy("stage_member_views", SinkSchema.memberViewColumns, batch.memberViews)
                try await copy("stage_balances", SinkSchema.balanceColumns, batch.balances)
                try await run(SinkSchema.upsert("member_fold", columns: SinkSchema.memberFoldColumns))
                try await run(SinkSchema.upsert("member_views", columns: SinkSchema.memberViewColumns))
                try await run(SinkSchema.upsert("balances", columns: SinkSchema.balanceColumns))
            }
        }
    }

    private func copy(_ table: String, _ columns: [String], _ rows: CopyText) async throws {
        guard rows.rows > 0 else { return }
        try await onPostgres {
            try await connection.copyFrom(table: table, columns: columns, logger: logger) { writer in
                let chunk = 1 << 20
                var start = 0
                while start < rows.bytes.count {
                    let end = min(start + chunk, rows.bytes.count)
                    try await writer.write(ByteBuffer(bytes: rows.bytes[start..<end]))
                    start = end
                }
            }
        }
    }

    /// Runs `body` between BEGIN and COMMIT; rolls back when it throws.
    private func transaction(_ body: () async throws -> Void) async throws {
        try await run("BEGIN")
        do {
            try await body()
            try await run("COMMIT")
        } catch {
            // Only on a live connection: a statement on a lost one may never be answered, and
            // the server rolls back a lost session's transaction itself.
            if !connection.isClosed, !((error as? PostgresFailure)?.isConnectionLoss ?? false) { try? await run("ROLLBACK") }
            throw error
        }
    }
}

import Projections

/// The sink's tables in schema `loyalty` (schemas/postgres-sink.md), created and migrated by the
/// sink at start in one transaction under an advisory lock. `loyalty.schema_version` holds one
/// row per migration applied; a database migrated by a newer sink is refused.
enum SinkSchema {
    /// Migrations in order: version N's statements take the schema from N-1 to N.
    static let migrations: [[String]] = [version1]

    static var latest: Int { migrations.count }

    /// Serialises concurrent migrations (any constant; "loyalty sink" in ASCII).
    static let advisoryLock: Int64 = 0x6C6F_7961_6C74_79

    static let version1: [String] = [
        """
        CREATE TABLE loyalty.events (
            position bigint PRIMARY KEY,
            type text NOT NULL,
            schema_version integer NOT NULL,
            member text NOT NULL,
            version bigint NOT NULL,
            recorded_at timestamptz NOT NULL,
            occurred_at timestamptz NOT NULL,
            idempotency_key text,
            actor text,
            payload jsonb,
            payload_raw bytea,
            hash text
        )
        """,
        "CREATE INDEX events_member ON loyalty.events (member, position)",
        "CREATE TABLE loyalty.member_views (" + columnsSQL(SinkColumns.memberViews) + ", last_position bigint NOT NULL)",
        "CREATE TABLE loyalty.balances (" + columnsSQL(SinkColumns.balances) + ", last_position bigint NOT NULL)",
        """
        CREATE TABLE loyalty.member_fold (
            member text PRIMARY KEY,
            view bytea,
            balance bytea
        )
        """,
        """
        CREATE TABLE loyalty.sink_checkpoint (
            id smallint PRIMARY KEY CHECK (id = 1),
            position bigint NOT NULL,
            hash text,
            fold_version text NOT NULL,
            updated_at timestamptz NOT NULL
        )
        """,
        "INSERT INTO loyalty.sink_checkpoint VALUES (1, 0, NULL, '\(MemberFolds.version)', now())",
    ]

    static func columnsSQL(_ columns: [SinkColumns.Column]) -> String {
        columns.map { $0.name + " " + $0.type + ($0.key == "member" ? " PRIMARY KEY" : "") }.joined(separator: ", ")
    }

    /// Columns a field added to the read models since the table was made (none at version 1).
    static func addedColumns() -> [String] {
        [("member_views", SinkColumns.memberViews), ("balances", SinkColumns.balances)].flatMap { table, columns in
            columns.map { "ALTER TABLE loyalty.\(table) ADD COLUMN IF NOT EXISTS \($0.name) \($0.type)" }
        }
    }

    /// Per-connection staging tables: batches are copied into them, then upserted.
    static let stagingTables: [String] = [
        "CREATE TEMP TABLE IF NOT EXISTS stage_member_views (LIKE loyalty.member_views) ON COMMIT DELETE ROWS",
        "CREATE TEMP TABLE IF NOT EXISTS stage_balances (LIKE loyalty.balances) ON COMMIT DELETE ROWS",
        "CREATE TEMP TABLE IF NOT EXISTS stage_member_fold (LIKE loyalty.member_fold) ON COMMIT DELETE ROWS",
    ]

    /// The upsert of a staged table into its table: every column but `member` replaced.
    static func upsert(_ table: String, columns: [String]) -> String {
        let set = columns.filter { $0 != "member" }.map { "\($0) = EXCLUDED.\($0)" }.joined(separator: ", ")
        return "INSERT INTO loyalty.\(table) SELECT * FROM stage_\(table) ON CONFLICT (member) DO UPDATE SET \(set)"
    }

    static var memberViewColumns: [String] { SinkColumns.memberViews.map(\.name) + ["last_position"] }
    static var balanceColumns: [String] { SinkColumns.balances.map(\.name) + ["last_position"] }
    static let memberFoldColumns = ["member", "view", "balance"]
    static let eventColumns = ["position", "type", "schema_version", "member", "version", "recorded_at", "occurred_at",
                               "idempotency_key", "actor", "payload", "payload_raw", "hash"]
}

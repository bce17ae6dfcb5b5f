internal import CLMDB

/// The layout rules of the log environment that no record decoder sees (schemas/ledger-format.md
/// sections 3, 5.1, 5.2; invariants I1 and I7): which named databases exist and with which flags,
/// which keys `meta` holds, and that every key of `events` is a position.
extension EventLog {
    /// The named databases of `data.mdb`; `neutralised` exists once the log was opened for writing.
    static let logDatabases: Set<String> = ["meta", "events", "chain", "neutralised"]
    /// The keys of `meta`, all written by `init`, none other.
    static let metaKeys: Set<String> = ["format", "ledgerId", "createdAt"]

    /// Appends a problem for every layout rule the log breaks; returns the head `verify` walks to:
    /// the last key of `events` that is a position (the keys after it are reported).
    func verifyLayout(report: inout VerificationReport) throws -> UInt64 {
        try read { txn in
            try LMDBLayout.checkDatabases(txn, allowed: Self.logDatabases, file: "data.mdb", report: &report)
            try checkMeta(txn, report: &report)
            let last = try EventKeys.lastPosition(store: store, txn: txn)
            for stray in last.strayKeys {
                report.problems.append(.init(position: last.position + 1, what: "events holds the key \(Hex8.encode(stray)) (\(stray.count) bytes) after position \(last.position): every key is a u64be position (I1)"))
            }
            try txn.withCursor(store.events) { cursor in
                guard let first = try cursor.first() else { return }
                let key = [UInt8](first.key)
                if key != ByteCoding.positionKey(1), last.position > 0 || last.strayKeys.isEmpty {
                    report.problems.append(.init(position: 1, what: "events starts with the key \(Hex8.encode(key)) (\(key.count) bytes), not u64be(1): positions start at 1 (I1)"))
                }
            }
            let entries = try txn.entryCount(store.events)
            if entries != Int(clamping: last.position) + last.strayKeys.count, report.problems.isEmpty {
                report.problems.append(.init(position: nil, what: "events holds \(entries) keys for the positions 1...\(last.position) (I1)"))
            }
            return last.position
        }
    }

    private func checkMeta(_ txn: LMDBTransaction, report: inout VerificationReport) throws {
        try txn.withCursor(store.meta) { cursor in
            var entry = try cursor.first()
            while let e = entry {
                let name = String(decoding: e.key, as: UTF8.self)
                if !Self.metaKeys.contains(name) || Array(name.utf8) != [UInt8](e.key) {
                    report.problems.append(.init(position: nil, what: "meta holds the key \(Hex8.encode([UInt8](e.key))) ('\(name)'): only format, ledgerId and createdAt are written (5.1, I7)"))
                } else if name == "createdAt", e.value.count != 8 {
                    report.problems.append(.init(position: nil, what: "meta/createdAt is \(e.value.count) bytes, not 8 (5.1, I7)"))
                }
                entry = try cursor.next()
            }
        }
        if try txn.value(store.meta, key: Array("createdAt".utf8)) == nil {
            report.problems.append(.init(position: nil, what: "meta/createdAt is missing (5.1, I7)"))
        }
    }
}

/// The positions among the keys of `events`.
enum EventKeys {
    /// Keys that are not positions are at most this many at the end (beyond it, `verify` reports
    /// the count mismatch instead of each key).
    static let strayKeysMax = 16

    /// The last 8-byte key at or before the end of `events`, and the keys after it that are not
    /// 8 bytes long (at most `strayKeysMax`), in key order.
    static func lastPosition(store: LogStore, txn: LMDBTransaction) throws -> (position: UInt64, strayKeys: [[UInt8]]) {
        try txn.withCursor(store.events) { cursor in
            var stray: [[UInt8]] = []
            var entry = try cursor.last()
            while let e = entry {
                if let p = ByteCoding.readUInt64BE(e.key) { return (p, Array(stray.reversed())) }
                stray.append([UInt8](e.key))
                if stray.count >= strayKeysMax { break }
                entry = try cursor.previous()
            }
            return (0, Array(stray.reversed()))
        }
    }
}

/// Named databases and their flags (section 3: every named database has default flags).
package enum LMDBLayout {
    /// The flags LMDB stores with a database (`MDB_REVERSEKEY`, `MDB_DUPSORT`, `MDB_INTEGERKEY`,
    /// `MDB_DUPFIXED`, `MDB_INTEGERDUP`, `MDB_REVERSEDUP`).
    static let persistentFlags = UInt32(MDB_REVERSEKEY | MDB_DUPSORT | MDB_INTEGERKEY | MDB_DUPFIXED | MDB_INTEGERDUP | MDB_REVERSEDUP)

    /// Names of the persistent flags set in `flags`.
    static func flagNames(_ flags: UInt32) -> [String] {
        [(MDB_REVERSEKEY, "MDB_REVERSEKEY"), (MDB_DUPSORT, "MDB_DUPSORT"), (MDB_INTEGERKEY, "MDB_INTEGERKEY"),
         (MDB_DUPFIXED, "MDB_DUPFIXED"), (MDB_INTEGERDUP, "MDB_INTEGERDUP"), (MDB_REVERSEDUP, "MDB_REVERSEDUP")]
            .filter { flags & UInt32($0.0) != 0 }.map(\.1)
    }

    /// Reports every named database of the environment outside `allowed`, and every allowed one
    /// whose stored flags are not the defaults. `file` names the environment in the problems.
    package static func checkDatabases(_ txn: LMDBTransaction, allowed: Set<String>, file: String,
                                       report: inout VerificationReport) throws {
        var main = MDB_dbi()
        try check(mdb_dbi_open(txn.handle, nil, 0, &main), "mdb_dbi_open(main)")
        var names: [[UInt8]] = []
        try txn.withCursor(LMDBDatabase(dbi: main, name: "(main)")) { cursor in
            var entry = try cursor.first()
            while let e = entry {
                names.append([UInt8](e.key))
                entry = try cursor.next()
            }
        }
        for raw in names {
            let name = String(decoding: raw, as: UTF8.self)
            guard allowed.contains(name), Array(name.utf8) == raw else {
                report.problems.append(.init(position: nil, what: "\(file) holds the database '\(name)', which the format does not name (3)"))
                continue
            }
            var dbi = MDB_dbi()
            try check(mdb_dbi_open(txn.handle, name, 0, &dbi), "mdb_dbi_open(\(name))")
            var flags: UInt32 = 0
            try check(mdb_dbi_flags(txn.handle, dbi, &flags), "mdb_dbi_flags(\(name))")
            let set = flagNames(flags & persistentFlags)
            if !set.isEmpty {
                report.problems.append(.init(position: nil, what: "\(file): database '\(name)' was created with \(set.joined(separator: " | ")); every database has default flags (3)"))
            }
        }
    }
}

/// Lowercase hex of a short key, for messages.
enum Hex8 {
    static func encode(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in bytes.prefix(64) { out += [digits[Int(b >> 4)], digits[Int(b & 0xF)]] }
        return String(decoding: out, as: UTF8.self) + (bytes.count > 64 ? "..." : "")
    }
}

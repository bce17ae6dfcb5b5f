import Foundation

/// Neutralisation: the audited way past a stored event that a fold cannot apply. The named
/// database `neutralised` maps u64be(N) to u64be(M): event N is skipped by every fold, and M is
/// the position of the correcting event (type `ledger.neutralised`) that says who, why and what.
/// Both are written in one write transaction (`EventLog.appendNeutralisation`), so a reader
/// never sees one without the other. A ledger without the database has no neutralisations.
public enum Neutralisation {
    /// The type of the correcting event; only `appendNeutralisation` writes it.
    public static let eventType = "ledger.neutralised"
    /// The name of the LMDB database (schemas/ledger-format.md).
    static let databaseName = "neutralised"

    /// The idempotency key of the correcting event for position `n`.
    public static func idempotencyKey(neutralising n: UInt64) -> String { "neutralise:\(n)" }
}

extension LogStore {
    /// The `neutralised` database: created when the log is opened for writing; nil when a
    /// read-only open finds a ledger that never had one.
    static func openNeutralised(env: LMDBEnvironment, create: Bool) throws -> LMDBDatabase? {
        do {
            return try env.database(Neutralisation.databaseName, create: create)
        } catch let error as LMDBError where error.isNotFound && !create {
            return nil
        }
    }

    /// The whole (tiny) table as of `txn`: neutralised position -> correcting position.
    func neutralisedTable(txn: LMDBTransaction) throws -> [UInt64: UInt64] {
        guard let neutralised else { return [:] }
        var out: [UInt64: UInt64] = [:]
        try txn.withCursor(neutralised) { cursor in
            var entry = try cursor.first()
            while let e = entry {
                guard let n = ByteCoding.readUInt64BE(e.key), let m = ByteCoding.readUInt64BE(e.value) else {
                    throw LedgerError.corrupt(position: 0, reason: "neutralised holds an entry of \(e.key.count)/\(e.value.count) bytes (8/8 expected)")
                }
                out[n] = m
                entry = try cursor.next()
            }
        }
        return out
    }

    /// The correcting position of event `n` as of `txn`, or nil.
    func neutralisedBy(_ n: UInt64, txn: LMDBTransaction) throws -> UInt64? {
        guard let neutralised else { return nil }
        return try ByteCoding.positionKey(n).withUnsafeBytes { k in
            guard let v = try txn.borrowValue(neutralised, key: k) else { return nil }
            guard let m = ByteCoding.readUInt64BE(v) else {
                throw LedgerError.corrupt(position: n, reason: "neutralised entry of \(v.count) bytes (8 expected)")
            }
            return m
        }
    }
}

extension EventLog {
    /// Every neutralisation: neutralised position -> position of its correcting event, read in
    /// one transaction (the table holds one entry per neutralisation, never many).
    public func neutralisedPositions() throws -> [UInt64: UInt64] {
        try read { txn in try store.neutralisedTable(txn: txn) }
    }

    /// Appends `correcting` (a `ledger.neutralised` event whose idempotency key is
    /// `Neutralisation.idempotencyKey(neutralising: n)`) and records `n` in `neutralised`, in
    /// one write transaction. Refused (nothing written) when `n` is 0 or past the head, or is
    /// neutralised already. The caller decides that event `n` cannot be applied.
    public func appendNeutralisation(_ correcting: EventDraft, neutralising n: UInt64) async throws -> AppendedEvent {
        guard let writer else { throw LedgerError.notWritable(reason: "opened read-only") }
        guard correcting.type == Neutralisation.eventType, correcting.idempotencyKey == Neutralisation.idempotencyKey(neutralising: n) else {
            throw LedgerError.invalidEvent(eventIndex: 0, field: "type", reason: "a neutralisation is a '\(Neutralisation.eventType)' event keyed '\(Neutralisation.idempotencyKey(neutralising: n))'")
        }
        let result = try await writer.submit(.neutralise(correcting, position: n))
        guard let event = result.events.first else {
            throw LedgerError.invalidEvent(eventIndex: 0, field: "position", reason: "nothing was written")
        }
        return event
    }

    /// The `neutralised` table checked against the log: every entry N -> M has 1 <= N < M <=
    /// head, event M is a `ledger.neutralised` event whose data names N, and every such event
    /// has its entry. Returns the problems found and the neutralisations (N, M, data of M).
    public func verifyNeutralisations() throws -> (problems: [VerificationProblem], neutralisations: [(position: UInt64, by: UInt64, data: [UInt8])]) {
        let (table, head) = try read { txn in (try store.neutralisedTable(txn: txn), try store.headPosition(txn: txn)) }
        var problems: [VerificationProblem] = []
        var found: [(position: UInt64, by: UInt64, data: [UInt8])] = []
        for (n, m) in table.sorted(by: { $0.key < $1.key }) {
            guard n >= 1, n < m, m <= head else {
                problems.append(.init(position: n, what: "neutralised by position \(m), which is not after it and at most the head \(head)"))
                continue
            }
            guard let event = try event(at: m) else { continue }
            guard event.type == Neutralisation.eventType else {
                problems.append(.init(position: m, what: "neutralises position \(n) but is a '\(event.type)' event"))
                continue
            }
            guard Self.neutralisedPosition(event.data) == n else {
                problems.append(.init(position: m, what: "its data does not name position \(n), which the table says it neutralises"))
                continue
            }
            found.append((n, m, event.data))
        }
        // Every correcting event has its entry (a walk of the log, as verify's own).
        let type = Array(Neutralisation.eventType.utf8)
        var position: UInt64 = 0
        while position < head {
            let count = try forEachEvent(after: position, limit: LogLimits.readBatchEventsMax) { v in
                guard v.type.elementsEqual(type) else { return }
                let data = [UInt8](v.data)
                guard let n = Self.neutralisedPosition(data) else {
                    problems.append(.init(position: v.position, what: "a '\(Neutralisation.eventType)' event whose data names no position"))
                    return
                }
                if table[n] != v.position {
                    problems.append(.init(position: v.position, what: "neutralises position \(n) but neutralised has \(table[n].map { "position \($0)" } ?? "no entry") for it"))
                }
            }
            guard count > 0 else { break }
            position += UInt64(count)
        }
        return (problems, found)
    }

    /// The `position` member of a correcting event's data (a JSON object), or nil.
    static func neutralisedPosition(_ data: [UInt8]) -> UInt64? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(data)) as? [String: Any],
              let number = object["position"] as? NSNumber else { return nil }
        let text = number.stringValue
        return UInt64(text)
    }
}

extension LogWriter {
    /// Why `n` cannot be neutralised now (inside the commit's write transaction), or nil.
    func neutralisationRefusal(_ n: UInt64, txn: LMDBTransaction, staged: StagedGroup) throws -> LedgerError? {
        guard store.neutralised != nil else {
            return .notWritable(reason: "the log has no '\(Neutralisation.databaseName)' database")
        }
        guard n >= 1, n <= staged.position else {
            return .invalidEvent(eventIndex: 0, field: "position", reason: "\(n) is not a position of the log (1...\(staged.position))")
        }
        if let m = try store.neutralisedBy(n, txn: txn) {
            return .invalidEvent(eventIndex: 0, field: "position", reason: "\(n) is neutralised already (by position \(m))")
        }
        return nil
    }
}

/// What `verify` found.
public struct VerificationReport: Sendable {
    public var head: LogHead
    public var eventCount: UInt64 = 0
    public var memberCount = 0
    public var keyedEventCount = 0
    public var chainCheckpointCount = 0
    public var indexedThrough: UInt64 = 0
    /// Problems in log order; the first names the first bad position.
    public var problems: [VerificationProblem] = []
    public init(head: LogHead) { self.head = head }
    public var isValid: Bool { problems.isEmpty }
    public var firstBadPosition: UInt64? { problems.compactMap(\.position).min() }
}

public struct VerificationProblem: Sendable, CustomStringConvertible {
    public var position: UInt64?
    public var what: String
    public init(position: UInt64?, what: String) {
        self.position = position
        self.what = what
    }
    public var description: String { position.map { "position \($0): \(what)" } ?? what }
}

extension EventLog {
    /// Re-walks the whole log and every index: decodes each record, checks positions are gapless,
    /// `recordedAt` never decreases, every member stream is contiguous and linked, idempotency keys
    /// are unique, the chain matches every stored checkpoint, and the index environment agrees
    /// with the log up to its `indexedThrough`. Reads in short transactions; safe beside a writer.
    public func verify(problemsMax: Int = 100) throws -> VerificationReport {
        var walk = LogWalk()
        var report = VerificationReport(head: LogHead(position: 0, hash: .genesis, recordedAt: 0))
        // The databases, `meta` and the keys of `events` (sections 3, 5.1, 5.2); then the head's
        // position only: the walk computes its hash, and names a damaged last event.
        report.head.position = try verifyLayout(report: &report)
        try walk.advance(to: report.head.position, log: self, report: &report, problemsMax: problemsMax)
        if report.isValid { try verifyChainKeys(walk: walk, report: &report) }
        if report.isValid { try verifyIndex(walk: &walk, report: &report, problemsMax: problemsMax) }
        // The head verified is where the walk ended (a live writer may have appended meanwhile).
        if report.isValid { report.head = LogHead(position: walk.position, hash: walk.hash, recordedAt: walk.recordedAt == .min ? 0 : walk.recordedAt) }
        report.eventCount = walk.position
        report.memberCount = walk.members.count
        report.keyedEventCount = walk.keys.count
        return report
    }

    /// `chain` holds exactly the checkpoints: one per multiple of 256 up to the walked head.
    private func verifyChainKeys(walk: LogWalk, report: inout VerificationReport) throws {
        try read { txn in
            try txn.withCursor(store.chain) { cursor in
                var entry = try cursor.first()
                while let e = entry {
                    guard let p = ByteCoding.readUInt64BE(e.key), p % LogLimits.chainCheckpointInterval == 0, p >= 1 else {
                        report.problems.append(.init(position: nil, what: "chain holds a key that is not a checkpoint position"))
                        return
                    }
                    if p > walk.position {
                        // Appended after the walk, unless it lies past the head itself.
                        if p > (try store.headPosition(txn: txn)) {
                            report.problems.append(.init(position: p, what: "chain holds a checkpoint past the log head"))
                        }
                        return
                    }
                    entry = try cursor.next()
                }
            }
        }
        let expected = Int(walk.position / LogLimits.chainCheckpointInterval)
        if report.chainCheckpointCount != expected {
            report.problems.append(.init(position: nil, what: "chain holds \(report.chainCheckpointCount) checkpoints, \(expected) expected"))
        }
    }

    private func verifyIndex(walk: inout LogWalk, report: inout VerificationReport, problemsMax: Int) throws {
        if let indexProblem { report.problems.append(.init(position: nil, what: indexProblem)) }
        guard let index else { return }
        // `keys`: the obsolete idempotency database of index format 1, left unused (2).
        try index.env.read { txn in
            try LMDBLayout.checkDatabases(txn, allowed: ["state", "members", "keys"], file: "index/data.mdb", report: &report)
        }
        let (format, owner) = try index.env.read { txn in
            (try txn.value(index.state, key: Array("format".utf8)), try txn.value(index.state, key: Array("ledgerId".utf8)))
        }
        guard format == Array(LogIndex.format.utf8), owner == ledgerId else {
            report.problems.append(.init(position: nil, what: "index/ is of format '\(format.map { String(decoding: $0, as: UTF8.self) } ?? "none")' or of another ledger: delete it (a writer rebuilds it at open)"))
            return
        }
        if index.keys == nil {
            report.problems.append(.init(position: nil, what: "index/keys.table is missing: a writer rebuilds the index at open"))
        }
        var through = try index.env.read { txn in try index.indexedThrough(txn) }
        if through > walk.position {
            // The writer moved on while we walked; walk the rest so the snapshot is covered.
            try walk.advance(to: try headPosition(), log: self, report: &report, problemsMax: problemsMax)
        }
        try index.env.read { itxn in
            through = try index.indexedThrough(itxn)
            report.indexedThrough = through
            guard through <= walk.position else {
                report.problems.append(.init(position: through, what: "index claims position \(through), past the log head \(walk.position)"))
                return
            }
            try read { txn in
                try checkMemberIndex(itxn: itxn, txn: txn, through: through, walk: walk, report: &report)
                try checkKeyIndex(itxn: itxn, txn: txn, through: through, walk: walk, report: &report)
            }
        }
    }

    private func checkMemberIndex(itxn: LMDBTransaction, txn: LMDBTransaction, through: UInt64, walk: LogWalk,
                                  report: inout VerificationReport) throws {
        guard let index else { return }
        var indexed = 0
        try itxn.withCursor(index.members) { cursor in
            var entry = try cursor.first()
            while let e = entry {
                indexed += 1
                let member = String(decoding: e.key, as: UTF8.self)
                let head = try LogIndex.decodeHead([UInt8](e.value))
                let expected = try walk.head(of: member, atOrBefore: through, store: store, txn: txn)
                if expected != head {
                    report.problems.append(.init(position: head.position, what: "index head of member '\(member)' is version \(head.version) at \(head.position); the log says \(expected.map { "version \($0.version) at \($0.position)" } ?? "no event")"))
                }
                entry = try cursor.next()
            }
        }
        let expectedCount = walk.members.values.filter { $0.first <= through }.count
        if indexed != expectedCount {
            report.problems.append(.init(position: nil, what: "index holds \(indexed) members, the log has \(expectedCount) up to position \(through)"))
        }
    }

    private func checkKeyIndex(itxn: LMDBTransaction, txn: LMDBTransaction, through: UInt64, walk: LogWalk,
                               report: inout VerificationReport) throws {
        guard let index, index.keys != nil else { return }
        // The table as the file holds it now (opened after `through` was read): it holds every key
        // up to `through`, however often a writer grew (replaced) the file since this log opened.
        let table: KeyTable
        do {
            guard let current = try index.currentKeyTable(logHead: try headPosition().multipliedReportingOverflow(by: 2).partialValue) else {
                report.problems.append(.init(position: nil, what: "index/keys.table is missing: a writer rebuilds the index at open"))
                return
            }
            table = current
        } catch {
            report.problems.append(.init(position: nil, what: "\(error): delete index/, it is rebuilt from the log"))
            return
        }
        // Every entry points at an event whose key has its fingerprint, reachable from its home.
        let visibleHead = try store.headPosition(txn: txn)
        var currentHead = visibleHead  // re-read when an entry past it turns up
        try table.forEachEntry { slot, position, fingerprint in
            // A live writer adds each commit's keys right after the commit, while this scan runs:
            // an entry past this snapshot is a problem only if the log has not reached it now
            // either (the commit is visible before its keys are in the table).
            if position > visibleHead {
                if position > currentHead { currentHead = try headPosition() }
                if position <= currentHead { return }
            }
            guard position >= 1, position <= visibleHead else {
                report.problems.append(.init(position: position, what: "idempotency table slot \(slot) points past the log head"))
                return
            }
            let key = try store.event(at: position, txn: txn).idempotencyKey
            if key.map({ KeyTable.fingerprint(KeyHash.of($0)) }) != fingerprint {
                report.problems.append(.init(position: position, what: "idempotency table slot \(slot) points at an event without a matching key"))
            } else if !table.isReachable(index: slot, fingerprint: fingerprint) {
                report.problems.append(.init(position: position, what: "idempotency table slot \(slot) is unreachable from its home slot"))
            }
        }
        // Every keyed event up to indexedThrough is found.
        for (key, position) in walk.keys where position <= through {
            var candidates: [UInt64] = []
            table.candidates(hash: KeyHash.of(key), into: &candidates)
            if !candidates.contains(position) {
                report.problems.append(.init(position: position, what: "idempotency key '\(key)' is missing from the key table"))
            }
        }
    }
}

/// The state of a verification walk along the log.
private struct LogWalk {
    struct Member { var first: UInt64; var head: MemberHead }
    var position: UInt64 = 0
    var hash = ChainHash.genesis
    var recordedAt = Int64.min
    var members: [String: Member] = [:]
    var keys: [String: UInt64] = [:]

    mutating func advance(to target: UInt64, log: EventLog, report: inout VerificationReport, problemsMax: Int) throws {
        while position < target, report.problems.count < problemsMax {
            let batch: [RecordedEvent]
            let checkpoints: [UInt64: [UInt8]]
            do {
                (batch, checkpoints) = try log.read { txn in
                    let events = try log.store.events(after: position, limit: LogLimits.readBatchEventsMax, hashFrom: hash, txn: txn)
                    var stored: [UInt64: [UInt8]] = [:]
                    for e in events where e.position % LogLimits.chainCheckpointInterval == 0 {
                        stored[e.position] = try txn.value(log.store.chain, key: ByteCoding.positionKey(e.position))
                    }
                    return (events, stored)
                }
            } catch let LedgerError.corrupt(bad, reason) {
                report.problems.append(.init(position: bad, what: reason))
                return
            }
            guard !batch.isEmpty else {
                report.problems.append(.init(position: position + 1, what: "event missing (head is \(target))"))
                return
            }
            for event in batch { check(event, checkpoint: checkpoints[event.position], report: &report) }
        }
    }

    private mutating func check(_ event: RecordedEvent, checkpoint: [UInt8]?, report: inout VerificationReport) {
        let p = event.position
        precondition(p == position + 1, "the reader returns contiguous positions")
        if event.recordedAt < recordedAt {
            report.problems.append(.init(position: p, what: "recordedAt \(event.recordedAt) is before the previous event's \(recordedAt)"))
        }
        let previous = members[event.member]
        let expectedVersion = (previous?.head.version ?? 0) + 1
        if event.version != expectedVersion || event.previousPosition != previous?.head.position {
            report.problems.append(.init(position: p, what: "member '\(event.member)' stream: version \(event.version) linked to \(event.previousPosition.map(String.init) ?? "none"), expected version \(expectedVersion) linked to \(previous.map { String($0.head.position) } ?? "none")"))
        }
        members[event.member] = Member(first: previous?.first ?? p, head: MemberHead(version: event.version, position: p))
        if let key = event.idempotencyKey {
            if let earlier = keys[key] {
                report.problems.append(.init(position: p, what: "idempotency key '\(key)' already used at position \(earlier)"))
            } else {
                keys[key] = p
            }
        }
        if p % LogLimits.chainCheckpointInterval == 0 {
            if let stored = checkpoint {
                report.chainCheckpointCount += 1
                if stored != event.hash?.bytes {
                    report.problems.append(.init(position: p, what: "chain hash differs from the stored checkpoint (an event at or before it was altered)"))
                }
            } else {
                report.problems.append(.init(position: p, what: "chain checkpoint missing"))
            }
        }
        position = p
        hash = event.hash ?? hash
        recordedAt = max(recordedAt, event.recordedAt)
    }

    /// The member's last event at or before `position`, from the walk's final head back along the links.
    func head(of member: String, atOrBefore position: UInt64, store: LogStore, txn: LMDBTransaction) throws -> MemberHead? {
        guard let m = members[member], m.first <= position else { return nil }
        var head = m.head
        while head.position > position {
            let event = try store.event(at: head.position, txn: txn)
            guard let previous = event.previousPosition else { return nil }
            head = MemberHead(version: head.version - 1, position: previous)
        }
        return head
    }
}

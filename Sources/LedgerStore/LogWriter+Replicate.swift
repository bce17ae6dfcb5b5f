/// Why a replica refused a record of its primary: the first position it did not store (every
/// record before it is stored), what was wrong, and for a chain mismatch the hash the replica's
/// own chain expects and the one received.
public struct ReplicationRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public var position: UInt64
    public var reason: String
    public var expectedHash: ChainHash?
    public var receivedHash: ChainHash?

    public init(position: UInt64, reason: String, expectedHash: ChainHash? = nil, receivedHash: ChainHash? = nil) {
        (self.position, self.reason, self.expectedHash, self.receivedHash) = (position, reason, expectedHash, receivedHash)
    }

    public var isChainMismatch: Bool { expectedHash != nil }

    public var description: String {
        var text = "position \(position): \(reason)"
        if let expectedHash, let receivedHash { text += " (expected hash \(expectedHash.hex), received \(receivedHash.hex))" }
        return text
    }
}

extension LogWriter {
    /// Stages records copied from a primary, each checked before it is put: the next position,
    /// a record that decodes under every rule of the format, the chain hash recomputed from this
    /// log's own head equal to the one received, `recordedAt` not decreasing, the member's
    /// stream link and a new idempotency key. The records before the first refused one are
    /// staged (and commit with the group); the refusal is the request's answer.
    func stageReplicated(_ records: [ReplicatedRecord], txn: LMDBTransaction, indexTxn: LMDBTransaction,
                         staged: inout StagedGroup) throws -> Result<AppendResult, any Error> {
        var outcomes: [AppendedEvent] = []
        outcomes.reserveCapacity(records.count)
        var key = [UInt8](repeating: 0, count: 8)
        for r in records {
            let checked: (event: RecordedEvent, hash: ChainHash)
            do {
                checked = try checkReplicated(r, txn: txn, staged: staged)
            } catch let refusal as ReplicationRefusal {
                return .failure(refusal)
            }
            let (event, hash) = checked
            let memberHash = KeyHash.of(event.member)
            let current = try memberHead(event.member, hash: memberHash, indexTxn: indexTxn, staged: staged)
            guard event.version == (current?.version ?? 0) + 1, event.previousPosition == current?.position else {
                return .failure(ReplicationRefusal(position: r.position, reason: "member '\(event.member)' is at version \(current?.version ?? 0) here; the record is version \(event.version) after position \(event.previousPosition.map(String.init) ?? "none")"))
            }
            let keyHash = event.idempotencyKey.map(KeyHash.of)
            if let k = event.idempotencyKey, let h = keyHash,
               let earlier = try findKeyed(key: k, hash: h, txn: txn, indexTxn: indexTxn, staged: staged) {
                return .failure(ReplicationRefusal(position: r.position, reason: "idempotency key '\(k)' is already used at position \(earlier.position)"))
            }
            Self.storeBigEndian(r.position, into: &key)
            try key.withUnsafeBytes { k in
                try r.record.withUnsafeBytes { v in try txn.put(store.events, key: k, value: v, flags: .append) }
            }
            if r.position % LogLimits.chainCheckpointInterval == 0 { try putCheckpoint(hash, at: r.position, key: &key, txn: txn) }
            if event.type == Neutralisation.eventType, let neutralised = store.neutralised,
               let n = EventLog.neutralisedPosition(event.data), n >= 1, n < r.position {
                try txn.put(neutralised, key: ByteCoding.positionKey(n), value: ByteCoding.positionKey(r.position))
            }
            let head = MemberHead(version: event.version, position: r.position)
            staged.position = r.position
            staged.hash = hash
            staged.replicatedRecordedAt = event.recordedAt
            staged.members[event.member, memberHash] = head
            if let h = keyHash { staged.keys.add(hash: h, position: r.position) }
            staged.indexed.append(StagedEntry(member: event.member, memberHash: memberHash, head: head, keyHash: keyHash))
            outcomes.append(AppendedEvent(position: r.position, version: event.version, recordedAt: event.recordedAt, deduplicated: false))
        }
        return .success(AppendResult(events: outcomes, headPosition: staged.position))
    }

    /// The record decoded and its chain hash, or the refusal (nothing staged).
    private func checkReplicated(_ r: ReplicatedRecord, txn: LMDBTransaction, staged: StagedGroup) throws -> (RecordedEvent, ChainHash) {
        guard r.position == staged.position + 1 else {
            throw ReplicationRefusal(position: r.position, reason: "out of order: this log's next position is \(staged.position + 1)")
        }
        let event: RecordedEvent
        do {
            event = try r.record.withUnsafeBytes { raw throws(RecordDecodingError) in try EventRecord.decode(position: r.position, raw) }
        } catch {
            throw ReplicationRefusal(position: r.position, reason: "the record does not decode: \(error)")
        }
        let hash = staged.hash.next(position: r.position, record: r.record)
        guard hash == r.hash else {
            throw ReplicationRefusal(position: r.position, reason: "chain mismatch", expectedHash: hash, receivedHash: r.hash)
        }
        let previous = staged.replicatedRecordedAt ?? lastRecordedAt
        guard event.recordedAt >= previous else {
            throw ReplicationRefusal(position: r.position, reason: "recordedAt \(event.recordedAt) is before the previous event's \(previous)")
        }
        if event.type == Neutralisation.eventType {
            guard let n = EventLog.neutralisedPosition(event.data), n >= 1, n < r.position else {
                throw ReplicationRefusal(position: r.position, reason: "a '\(Neutralisation.eventType)' event that names no earlier position")
            }
            if let m = try store.neutralisedBy(n, txn: txn) {
                throw ReplicationRefusal(position: r.position, reason: "neutralises position \(n), neutralised already by position \(m)")
            }
        }
        return (event, hash)
    }
}

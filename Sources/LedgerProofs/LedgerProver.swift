public import LedgerStore
public import Foundation

/// The ledger side: checkpoints and proofs from the log and its Merkle tree. Every operation first
/// catches the tree up with the log, and checks the tree against the log and the checkpoint it
/// answers for, so a tampered log is reported rather than proven.
public struct LedgerProver: Sendable {
    public let log: EventLog
    public let tree: MerkleTree

    public init(log: EventLog) throws {
        self.log = log
        tree = try MerkleTree.open(for: log)
    }

    var ledgerIdHex: String { Hex.encode(log.ledgerIdentifier) }

    /// Signs a checkpoint of the whole log as it is now.
    public func checkpoint(key: CheckpointSigningKey, date: Date = Date()) throws -> Checkpoint {
        let size = try tree.catchUp(with: log)
        let root = try tree.read { try $0.root(treeSize: size) }
        guard let head = try log.chainHash(at: size) else { throw ProofError("the log has fewer than \(size) events") }
        return try Checkpoint.sign(ledgerId: log.ledgerIdentifier, treeSize: size, root: root, head: head.bytes,
                                   date: date, key: key)
    }

    /// The inclusion proof of the event at 1-based `position` in the tree of `checkpoint`.
    public func inclusionProof(position: UInt64, checkpoint: Checkpoint) throws -> InclusionProof {
        try checkLedger(checkpoint, label: "checkpoint")
        let treeSize = checkpoint.treeSize
        guard position >= 1, position <= treeSize else {
            throw ProofError("position \(position) is outside the checkpoint's 1...\(treeSize)")
        }
        try catchUp(covering: treeSize)
        guard let record = try log.recordBytes(at: position) else { throw ProofError("event \(position) is missing from the log") }
        let leaf = MerkleHash.leaf(record: record)
        let path: [MerkleHash] = try tree.read { snapshot in
            try checkRoot(snapshot, checkpoint, label: "checkpoint")
            guard try snapshot.leaf(position - 1) == leaf else {
                throw ProofError("the event stored at position \(position) is not the one the tree recorded: the log was altered (delete merkle/ to rebuild, then compare with a published checkpoint)")
            }
            return try snapshot.inclusionPath(leafIndex: position - 1, treeSize: treeSize)
        }
        try checkHead(checkpoint, label: "checkpoint")
        return InclusionProof(format: InclusionProof.format, ledgerId: ledgerIdHex, position: position, leafIndex: position - 1,
                              treeSize: treeSize, record: Hex.encode(record), leafHash: leaf.hex, auditPath: path.map(\.hex))
    }

    /// The consistency proof between the trees of two checkpoints of this ledger.
    public func consistencyProof(old: Checkpoint, new: Checkpoint) throws -> ConsistencyProof {
        try checkLedger(old, label: "old checkpoint")
        try checkLedger(new, label: "new checkpoint")
        guard old.treeSize >= 1, old.treeSize <= new.treeSize else {
            throw ProofError("the old checkpoint (\(old.treeSize) events) must hold 1 to \(new.treeSize) events (the new one's)")
        }
        try catchUp(covering: new.treeSize)
        let path: [MerkleHash] = try tree.read { snapshot in
            try checkRoot(snapshot, old, label: "old checkpoint")
            try checkRoot(snapshot, new, label: "new checkpoint")
            return try snapshot.consistencyPath(oldSize: old.treeSize, newSize: new.treeSize)
        }
        try checkHead(old, label: "old checkpoint")
        try checkHead(new, label: "new checkpoint")
        return ConsistencyProof(format: ConsistencyProof.format, ledgerId: ledgerIdHex, oldSize: old.treeSize,
                                newSize: new.treeSize, consistencyPath: path.map(\.hex))
    }

    private func catchUp(covering treeSize: UInt64) throws {
        let size = try tree.catchUp(with: log)
        guard size >= treeSize else {
            throw ProofError("the checkpoint is of \(treeSize) events, the ledger holds only \(size)")
        }
    }

    private func checkLedger(_ checkpoint: Checkpoint, label: String) throws {
        _ = try checkpoint.checkedRoot(label: label)
        guard checkpoint.ledgerId == ledgerIdHex else {
            throw ProofError("the \(label) is of ledger \(checkpoint.ledgerId), this ledger is \(ledgerIdHex)")
        }
    }

    /// The signed head hash must be the log's `h(treeSize)` (14.5: it is part of what is signed).
    private func checkHead(_ checkpoint: Checkpoint, label: String) throws {
        guard let head = try log.chainHash(at: checkpoint.treeSize) else {
            throw ProofError("the \(label) is of \(checkpoint.treeSize) events, the ledger holds fewer")
        }
        guard head.hex == checkpoint.headHash else {
            throw ProofError("the \(label) signed the head hash \(checkpoint.headHash) for \(checkpoint.treeSize) events, the log's h(\(checkpoint.treeSize)) is \(head.hex): the log was altered since, or the checkpoint is not of this log")
        }
    }

    private func checkRoot(_ snapshot: TreeSnapshot, _ checkpoint: Checkpoint, label: String) throws {
        let root = try snapshot.root(treeSize: checkpoint.treeSize)
        guard root.hex == checkpoint.rootHash else {
            throw ProofError("the ledger's first \(checkpoint.treeSize) events have root \(root.hex), the \(label) signed \(checkpoint.rootHash): the log was altered since")
        }
    }
}

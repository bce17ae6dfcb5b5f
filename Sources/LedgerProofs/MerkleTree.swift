public import LedgerStore

/// Errors of the Merkle tree and its proofs, each one line naming what was wrong.
public struct ProofError: Error, Sendable, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The RFC 6962 Merkle tree over the log's events, kept incrementally in its own LMDB environment
/// (`<ledger>/merkle/`), derived from the log: deleting it is safe, `catchUp` rebuilds it.
///
/// Database `nodes`: key `u64be(post-order number)` of a perfect subtree (`TreeMath.nodeKey`),
/// value its 32-byte hash; every perfect subtree of the tree is stored (leaves included), so
/// nodes only ever append (`MDB_APPEND`) and any proof needs O(log n) reads. Database `state`:
/// `format`, `ledgerId`, `treeSize`, written in the same transaction as the nodes they cover.
public final class MerkleTree: Sendable {
    public static let format = "loyalty-merkle/1"
    /// Leaves added per write transaction of `catchUp` (about 4 MiB of dirty pages).
    public static let catchUpLeavesPerTransaction = 65_536

    let env: LMDBEnvironment
    let nodes: LMDBDatabase
    let state: LMDBDatabase
    public let ledgerId: [UInt8]

    /// Opens (creating) the tree of `log` at `<log.path>/merkle`. A tree of another ledger or
    /// format is emptied (it is derived data and is rebuilt by `catchUp`).
    public static func open(for log: EventLog) throws -> MerkleTree {
        try MerkleTree(path: log.path + "/merkle", ledgerId: log.ledgerIdentifier)
    }

    /// Opens (creating) a tree at `path` for the ledger `ledgerId` (tests use this directly).
    public init(path: String, ledgerId: [UInt8]) throws {
        precondition(ledgerId.count == 16, "a ledger id has 16 bytes")
        do {
            env = try LMDBEnvironment.open(path: path)
            nodes = try env.database("nodes", create: true)
            state = try env.database("state", create: true)
        } catch {
            // Derived data, but readers (prove, checkpoint) open it side by side: name it rather
            // than delete it under another process.
            throw LedgerError.damaged(path: path, reason: "\(error); delete it, it is rebuilt from the log")
        }
        self.ledgerId = ledgerId
        try adopt()
    }

    private func adopt() throws {
        try env.write { txn throws in
            let format = try txn.value(state, key: Array("format".utf8))
            let owner = try txn.value(state, key: Array("ledgerId".utf8))
            if format == Array(Self.format.utf8), owner == ledgerId { return }
            try txn.clear(nodes)
            try txn.clear(state)
            try txn.put(state, key: Array("format".utf8), value: Array(Self.format.utf8))
            try txn.put(state, key: Array("ledgerId".utf8), value: ledgerId)
            try txn.put(state, key: Array("treeSize".utf8), value: Self.u64be(0))
        }
    }

    /// The number of leaves the stored tree covers.
    public func size() throws -> UInt64 {
        try env.read { txn throws in try Self.storedSize(txn, state) }
    }

    /// Runs `body` on one consistent snapshot of the tree (a short read transaction).
    public func read<T>(_ body: (TreeSnapshot) throws -> T) throws -> T {
        try env.read { txn throws in
            try body(TreeSnapshot(size: try Self.storedSize(txn, state), txn: txn, nodes: nodes))
        }
    }

    /// Appends leaf hashes (leaf `size ..< size + count`) in one transaction, provided the stored
    /// size is still `expectedSize` (else nothing is written and false is returned: another
    /// process caught up meanwhile).
    @discardableResult
    public func append(leaves: [MerkleHash], expectedSize: UInt64) throws -> Bool {
        guard !leaves.isEmpty else { return true }
        return try env.write { txn throws -> Bool in
            let size = try Self.storedSize(txn, state)
            guard size == expectedSize else { return false }
            var frontier = try Self.frontier(size: size, txn: txn, nodes: nodes)
            var key = TreeMath.nodeCount(size: size)
            for leaf in leaves {
                frontier.append((0, leaf))
                try put(txn, key: &key, level: 0, hash: leaf)
                while frontier.count >= 2, frontier[frontier.count - 1].level == frontier[frontier.count - 2].level {
                    let right = frontier.removeLast(), left = frontier.removeLast()
                    let parent = (level: left.level + 1, hash: MerkleHash.node(left.hash, right.hash))
                    frontier.append(parent)
                    try put(txn, key: &key, level: parent.level, hash: parent.hash)
                }
            }
            let newSize = size + UInt64(leaves.count)
            // Invariant pair: the node count matches the shape, the frontier is one subtree per bit.
            precondition(key == TreeMath.nodeCount(size: newSize) && frontier.count == newSize.nonzeroBitCount,
                         "tree shape after append")
            try txn.put(state, key: Array("treeSize".utf8), value: Self.u64be(newSize))
            return true
        }
    }

    private func put(_ txn: LMDBTransaction, key: inout UInt64, level: Int, hash: MerkleHash) throws {
        try txn.put(nodes, key: Self.u64be(key), value: hash.bytes, flags: .append)
        key += 1
    }

    /// Brings the tree up to the log head in bounded batches: log records are read in short read
    /// transactions (at most 4,096 each), then at most `catchUpLeavesPerTransaction` leaves are
    /// committed per tree transaction. Returns the tree size reached (the head seen at the start
    /// or later). Never holds a log transaction while writing the tree.
    @discardableResult
    public func catchUp(with log: EventLog) throws -> UInt64 {
        let target = try log.headPosition()
        var size = try self.size()
        if size > target {
            // The log has fewer events than the tree covers: not this log's tree any more.
            try reset()
            size = 0
        }
        while size < target {
            var leaves: [MerkleHash] = []
            leaves.reserveCapacity(min(Self.catchUpLeavesPerTransaction, Int(target - size)))
            while leaves.count < Self.catchUpLeavesPerTransaction, size + UInt64(leaves.count) < target {
                let want = min(Self.catchUpLeavesPerTransaction - leaves.count, Int(target - size) - leaves.count)
                let read = try log.forEachRecord(after: size + UInt64(leaves.count), limit: want) { position, record in
                    leaves.append(MerkleHash.leaf(record: record))
                }
                guard read > 0 else { throw ProofError("the log ends before its head \(target) (position \(size + UInt64(leaves.count) + 1) missing)") }
            }
            if try append(leaves: leaves, expectedSize: size) {
                size += UInt64(leaves.count)
            } else {
                size = try self.size()  // another process wrote this batch; continue from there
            }
        }
        return size
    }

    /// Empties the tree (it rebuilds from the log).
    public func reset() throws {
        try env.write { txn throws in
            try txn.clear(nodes)
            try txn.put(state, key: Array("treeSize".utf8), value: Self.u64be(0))
        }
    }

    /// The perfect subtrees of a tree of `size` leaves, left to right: one per set bit of `size`.
    static func frontier(size: UInt64, txn: LMDBTransaction, nodes: LMDBDatabase) throws -> [(level: Int, hash: MerkleHash)] {
        var out: [(level: Int, hash: MerkleHash)] = []
        var start: UInt64 = 0
        for level in stride(from: 63, through: 0, by: -1) where size & (UInt64(1) << UInt64(level)) != 0 {
            let hash = try TreeSnapshot.node(level: level, index: start >> UInt64(level), txn: txn, nodes: nodes)
            out.append((level, hash))
            start += UInt64(1) << UInt64(level)
        }
        return out
    }

    static func storedSize(_ txn: LMDBTransaction, _ state: LMDBDatabase) throws -> UInt64 {
        guard let bytes = try txn.value(state, key: Array("treeSize".utf8)), bytes.count == 8 else {
            throw ProofError("merkle/: state/treeSize missing or malformed (delete merkle/ to rebuild it)")
        }
        return bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }

    static func u64be(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * UInt64($0))) }
    }
}

/// One read transaction's view of the tree: node lookups, roots and proofs for any size up to
/// `size`. Valid only inside `MerkleTree.read`.
public struct TreeSnapshot {
    public let size: UInt64
    let txn: LMDBTransaction
    let nodes: LMDBDatabase

    /// The perfect subtree of 2^level leaves at `index`.
    func node(level: Int, index: UInt64) throws -> MerkleHash {
        precondition((index + 1) << UInt64(level) <= size, "node beyond the stored tree")
        return try Self.node(level: level, index: index, txn: txn, nodes: nodes)
    }

    static func node(level: Int, index: UInt64, txn: LMDBTransaction, nodes: LMDBDatabase) throws -> MerkleHash {
        let key = TreeMath.nodeKey(level: level, index: index)
        guard let bytes = try txn.value(nodes, key: MerkleTree.u64be(key)), bytes.count == 32 else {
            throw ProofError("merkle/: node (level \(level), index \(index)) missing (delete merkle/ to rebuild it)")
        }
        return MerkleHash(bytes: bytes)
    }

    /// The leaf hash of the 0-based leaf `index`.
    public func leaf(_ index: UInt64) throws -> MerkleHash { try node(level: 0, index: index) }
}

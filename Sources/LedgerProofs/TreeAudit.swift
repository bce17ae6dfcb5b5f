import Foundation
public import LedgerStore

/// What `loyalty verify` checks beyond the log itself (schemas/ledger-format.md 13, 14.2, 14.5):
/// the stored Merkle tree (`merkle/`) against the log, node for node, and a signed checkpoint
/// against the log, so that an event changed after the last chain checkpoint (which no stored
/// chain hash contradicts) is still caught by the tree or by the signed root and head hash.
public enum TreeAudit {
    /// Nodes compared by a quick check (chosen at random), besides the node count.
    public static let quickSampleNodes = 4_096

    /// A checkpoint to anchor the log to, with the key it must be signed by.
    public struct Anchor {
        public var checkpoint: Checkpoint
        public var publicKey: CheckpointPublicKey
        public var label: String
        public init(checkpoint: Checkpoint, publicKey: CheckpointPublicKey, label: String) {
            self.checkpoint = checkpoint
            self.publicKey = publicKey
            self.label = label
        }
    }

    /// Appends every problem found to `report` (whose head is the walked head of a valid log) and
    /// returns the lines to print when all is well ("merkle ok: ...", "checkpoint ok: ...").
    public static func verify(log: EventLog, quick: Bool, anchor: Anchor?, report: inout VerificationReport) throws -> [String] {
        let head = report.head.position
        var tree = try StoredTree.open(log: log, head: head, report: &report)
        var anchorSize: UInt64?
        if let anchor {
            anchorSize = checkSignature(anchor, log: log, head: head, report: &report)
        }
        let end = max(tree?.size ?? 0, anchorSize ?? 0)
        guard end > 0 || anchorSize != nil else {
            return tree == nil ? [] : ["merkle ok: an empty tree (merkle/)"]
        }
        var sample: Set<UInt64>?
        if quick, let t = tree {
            let count = TreeMath.nodeCount(size: t.size)
            var keys = Set<UInt64>()
            if count > 0 {
                keys.insert(count - 1)
                var generator = SystemRandomNumberGenerator()
                while keys.count < min(UInt64(quickSampleNodes), count) { keys.insert(UInt64.random(in: 0..<count, using: &generator)) }
            }
            sample = keys
        }
        // One pass over the records 1...end: leaf hashes, every node in post-order (the order of
        // the keys of `nodes`), the chain hash and the root at the anchor's size.
        var frontier: [(level: Int, hash: MerkleHash)] = []
        var chain = ChainHash.genesis
        var anchored: (root: MerkleHash, head: ChainHash)? = anchorSize == 0 ? (MerkleHash.emptyTree, .genesis) : nil
        var position: UInt64 = 0, key: UInt64 = 0, checked: UInt64 = 0
        while position < end, report.problems.count < 100 {
            var emitted: [(key: UInt64, position: UInt64, level: Int, hash: MerkleHash)] = []
            let limit = Int(min(UInt64(LogLimits.readBatchEventsMax), end - position))
            let read = try log.forEachRecord(after: position, limit: limit) { at, record in
                let leaf = MerkleHash.leaf(record: record)
                if anchorSize != nil { chain = chain.next(position: at, record: record) }
                frontier.append((0, leaf))
                emitted.append((key, at, 0, leaf))
                key += 1
                while frontier.count >= 2, frontier[frontier.count - 1].level == frontier[frontier.count - 2].level {
                    let right = frontier.removeLast(), left = frontier.removeLast()
                    let parent = (level: left.level + 1, hash: MerkleHash.node(left.hash, right.hash))
                    frontier.append(parent)
                    emitted.append((key, at, parent.level, parent.hash))
                    key += 1
                }
                if at == anchorSize { anchored = (root(of: frontier), chain) }
            }
            guard read > 0 else {
                report.problems.append(.init(position: position + 1, what: "event missing (the tree or checkpoint covers \(end))"))
                return []
            }
            position = min(end, position + UInt64(read))
            if var t = tree {
                checked += try t.compare(emitted, sample: sample, report: &report)
                tree = t
            }
        }
        var lines: [String] = []
        if let t = tree, !t.failed {
            lines.append("merkle ok: \(quick ? "\(checked) sampled" : "all \(checked)") of the \(TreeMath.nodeCount(size: t.size)) nodes of the tree of \(t.size) events in merkle/ match the log")
        }
        if let anchor, let size = anchorSize, let computed = anchored {
            let c = anchor.checkpoint
            var ok = true
            if computed.root.hex != c.rootHash {
                ok = false
                report.problems.append(.init(position: nil, what: "checkpoint \(anchor.label): the Merkle root of the first \(size) events is \(computed.root.hex), the checkpoint signed \(c.rootHash): the log was altered since"))
            }
            if computed.head.hex != c.headHash {
                ok = false
                report.problems.append(.init(position: nil, what: "checkpoint \(anchor.label): h(\(size)) is \(computed.head.hex), the checkpoint signed \(c.headHash): the log was altered since"))
            }
            if ok { lines.append("checkpoint ok: signature, Merkle root and h(\(size)) match the log") }
        }
        return lines
    }

    /// Checks the anchor's signature, ledger and size; returns its size when the log can be
    /// compared with it.
    private static func checkSignature(_ anchor: Anchor, log: EventLog, head: UInt64, report: inout VerificationReport) -> UInt64? {
        let c = anchor.checkpoint
        do {
            _ = try c.verify(with: anchor.publicKey, label: "checkpoint \(anchor.label)")
        } catch {
            report.problems.append(.init(position: nil, what: "\(error)"))
            return nil
        }
        guard c.ledgerId == Hex.encode(log.ledgerIdentifier) else {
            report.problems.append(.init(position: nil, what: "checkpoint \(anchor.label) is of ledger \(c.ledgerId), this ledger is \(Hex.encode(log.ledgerIdentifier))"))
            return nil
        }
        guard c.treeSize <= head else {
            report.problems.append(.init(position: head + 1, what: "checkpoint \(anchor.label) covers \(c.treeSize) events, the log holds \(head): events were removed"))
            return nil
        }
        return c.treeSize
    }

    /// MTH of the leaves so far: the frontier's subtrees folded right to left.
    static func root(of frontier: [(level: Int, hash: MerkleHash)]) -> MerkleHash {
        guard var r = frontier.last?.hash else { return .emptyTree }
        for subtree in frontier.dropLast().reversed() { r = MerkleHash.node(subtree.hash, r) }
        return r
    }
}

/// `merkle/` opened read-only for `verify`: its layout and state checked, its nodes compared.
private struct StoredTree {
    let env: LMDBEnvironment
    let nodes: LMDBDatabase
    let size: UInt64
    var failed = false

    /// The stored tree, or nil when there is none (or it is unusable: then a problem is reported).
    static func open(log: EventLog, head: UInt64, report: inout VerificationReport) throws -> StoredTree? {
        let path = log.path + "/merkle"
        guard FileManager.default.fileExists(atPath: path + "/data.mdb") else { return nil }
        func problem(_ what: String) -> StoredTree? {
            report.problems.append(.init(position: nil, what: "merkle/: \(what)"))
            return nil
        }
        let env: LMDBEnvironment, nodes: LMDBDatabase, state: LMDBDatabase
        do {
            var options = LMDBOptions()
            options.readOnly = true
            env = try LMDBEnvironment.open(path: path, options: options)
            nodes = try env.database("nodes", create: false)
            state = try env.database("state", create: false)
        } catch {
            return problem("\(error): delete it, it is rebuilt from the log")
        }
        var layout = VerificationReport(head: report.head)
        try env.read { txn in try LMDBLayout.checkDatabases(txn, allowed: ["state", "nodes"], file: "merkle/data.mdb", report: &layout) }
        report.problems += layout.problems
        let (keys, format, owner, sizeBytes, count) = try env.read { txn in
            (try txn.withCursor(state) { try $0.entries(limit: 8) }.map { String(decoding: $0.key, as: UTF8.self) },
             try txn.value(state, key: Array("format".utf8)), try txn.value(state, key: Array("ledgerId".utf8)),
             try txn.value(state, key: Array("treeSize".utf8)), try txn.entryCount(nodes))
        }
        for k in keys where !["format", "ledgerId", "treeSize"].contains(k) {
            report.problems.append(.init(position: nil, what: "merkle/: state holds the key '\(k)', not format, ledgerId or treeSize (14.2)"))
        }
        guard format == Array(MerkleTree.format.utf8), owner == log.ledgerIdentifier else {
            return problem("of format '\(format.map { String(decoding: $0, as: UTF8.self) } ?? "none")' or of another ledger: delete it, it is rebuilt from the log")
        }
        guard let bytes = sizeBytes, bytes.count == 8 else { return problem("state/treeSize is not 8 bytes") }
        let size = bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard size <= head else {
            report.problems.append(.init(position: head + 1, what: "merkle/ covers \(size) events, the log holds \(head): events were removed"))
            return nil
        }
        // A catch-up running beside `verify` may have added nodes past the size read here.
        guard UInt64(count) >= TreeMath.nodeCount(size: size) else {
            return problem("nodes holds \(count) nodes, a tree of \(size) events has \(TreeMath.nodeCount(size: size)) (14.2)")
        }
        return StoredTree(env: env, nodes: nodes, size: size)
    }

    /// Compares the nodes computed from the log with the stored ones (those in `sample` only,
    /// when given), in key order, up to the first that differs (a changed leaf changes every
    /// node above it: the first in key order is the leaf); returns how many were compared.
    mutating func compare(_ emitted: [(key: UInt64, position: UInt64, level: Int, hash: MerkleHash)], sample: Set<UInt64>?,
                          report: inout VerificationReport) throws -> UInt64 {
        let count = TreeMath.nodeCount(size: size)
        let wanted = emitted.filter { $0.key < count && (sample?.contains($0.key) ?? true) }
        guard !wanted.isEmpty, !failed else { return 0 }
        var problems: [VerificationProblem] = []
        try env.read { txn in
            for node in wanted {
                let stored = try txn.value(nodes, key: MerkleTree.u64be(node.key))
                guard stored != node.hash.bytes else { continue }
                let what = stored == nil ? "missing" : stored?.count != 32 ? "not 32 bytes" : "differs from the log: the event or the tree was altered since the tree recorded it"
                problems.append(.init(position: node.position, what: "merkle/: node \(node.key) (level \(node.level), completed by position \(node.position)) \(what)"))
                break
            }
        }
        if !problems.isEmpty { failed = true }
        report.problems += problems
        return UInt64(wanted.count)
    }
}

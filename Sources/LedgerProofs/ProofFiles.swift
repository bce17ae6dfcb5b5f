public import Foundation
import LedgerJSON
import LedgerStore

/// An inclusion proof of one event (schemas/ledger-format.md 14.6): the event's stored record,
/// its RFC 6962 leaf index (`position - 1`) and the audit path to the root of `treeSize` leaves.
public struct InclusionProof: Codable, Sendable, Equatable {
    public static let format = "loyalty-inclusion-proof/1"
    public var format: String
    public var ledgerId: String
    /// 1-based log position of the event.
    public var position: UInt64
    /// 0-based RFC 6962 leaf index: always `position - 1`.
    public var leafIndex: UInt64
    public var treeSize: UInt64
    /// `record(position)` as stored, in hex: the exact bytes the leaf hash covers.
    public var record: String
    /// `SHA-256(0x00 || record)`, hex.
    public var leafHash: String
    /// Sibling hashes from the leaf up (RFC 9162 `inclusion_path`), hex.
    public var auditPath: [String]

    public func encoded() throws -> Data { try ProofJSON.encode(self) }
}

/// A consistency proof between two checkpoints' trees (schemas/ledger-format.md 14.7).
public struct ConsistencyProof: Codable, Sendable, Equatable {
    public static let format = "loyalty-consistency-proof/1"
    public var format: String
    public var ledgerId: String
    public var oldSize: UInt64
    public var newSize: UInt64
    /// RFC 9162 `consistency_path`, hex; empty when the sizes are equal.
    public var consistencyPath: [String]

    public func encoded() throws -> Data { try ProofJSON.encode(self) }
}

/// Either kind of proof file, told apart by its `format`.
public enum ProofFile: Sendable {
    case inclusion(InclusionProof)
    case consistency(ConsistencyProof)

    public static func read(path: String) throws -> ProofFile {
        guard let data = FileManager.default.contents(atPath: path) else { throw ProofError("\(path): no such proof file") }
        guard data.count <= ProofJSON.fileBytesMax else { throw ProofError("\(path): too large for a proof file") }
        let parsed = try ProofSchema.parse(data, label: path, what: "proof file")
        guard case let .string(format) = parsed["format"] ?? .null else {
            throw ProofError("\(path): not a proof file: field 'format' missing or not a string")
        }
        switch format {
        case InclusionProof.format:
            return .inclusion(try ProofJSON.decode(InclusionProof.self, data: data, label: path, schema: .inclusionProof))
        case ConsistencyProof.format:
            return .consistency(try ProofJSON.decode(ConsistencyProof.self, data: data, label: path, schema: .consistencyProof))
        default:
            throw ProofError("\(path): format '\(format)' is not a proof (expected '\(InclusionProof.format)' or '\(ConsistencyProof.format)')")
        }
    }
}

/// Offline verification of proof files against signed checkpoints: no ledger needed.
public enum ProofVerifier {
    /// Verifies `proof` against `checkpoint` signed by `publicKey`; returns a one-line summary or
    /// throws a one-line reason.
    public static func verify(_ proof: InclusionProof, checkpoint: Checkpoint, publicKey: CheckpointPublicKey,
                              label: String) throws -> String {
        let root = try checkpoint.verify(with: publicKey, label: "checkpoint")
        guard proof.format == InclusionProof.format else { throw ProofError("\(label): format '\(proof.format)'") }
        guard proof.ledgerId == checkpoint.ledgerId else {
            throw ProofError("proof of ledger \(proof.ledgerId), checkpoint of ledger \(checkpoint.ledgerId)")
        }
        guard proof.treeSize == checkpoint.treeSize else {
            throw ProofError("proof for a tree of \(proof.treeSize) events, checkpoint of \(checkpoint.treeSize)")
        }
        guard proof.position >= 1, proof.leafIndex == proof.position - 1 else {
            throw ProofError("leafIndex \(proof.leafIndex) is not position \(proof.position) - 1")
        }
        guard let record = Hex.decode(proof.record) else { throw ProofError("\(label): record is not hex") }
        let leaf = MerkleHash.leaf(record: record)
        guard leaf.hex == proof.leafHash.lowercased() else {
            throw ProofError("leafHash \(proof.leafHash) is not SHA-256(0x00 || record) = \(leaf.hex)")
        }
        // The proven bytes must be a well-formed event (format 5.3): say which event it is.
        let event: RecordedEvent
        do {
            event = try EventLog.decodeRecord(record, position: proof.position)
        } catch {
            throw ProofError("\(label): the record is not a valid event: \(error)")
        }
        let path = try hashes(proof.auditPath, field: "auditPath", label: label)
        guard MerkleVerify.inclusion(leafHash: leaf, leafIndex: proof.leafIndex, treeSize: proof.treeSize,
                                     path: path, root: root) else {
            throw ProofError("the audit path does not lead from event \(proof.position) to the signed root \(root.hex) of \(proof.treeSize) events")
        }
        return "ok: event \(proof.position) (leaf \(proof.leafIndex); \(event.type) of '\(event.member)', version \(event.version)) is in the tree of \(proof.treeSize) events signed by key \(publicKey.keyId) at \(checkpoint.timestamp)"
    }

    /// Verifies that `newCheckpoint`'s tree extends `oldCheckpoint`'s, both signed by `publicKey`.
    public static func verify(_ proof: ConsistencyProof, old: Checkpoint, new: Checkpoint, publicKey: CheckpointPublicKey,
                              label: String) throws -> String {
        let oldRoot = try old.verify(with: publicKey, label: "old checkpoint")
        let newRoot = try new.verify(with: publicKey, label: "new checkpoint")
        guard proof.format == ConsistencyProof.format else { throw ProofError("\(label): format '\(proof.format)'") }
        guard proof.ledgerId == old.ledgerId, proof.ledgerId == new.ledgerId else {
            throw ProofError("proof of ledger \(proof.ledgerId), checkpoints of ledgers \(old.ledgerId) and \(new.ledgerId)")
        }
        guard proof.oldSize == old.treeSize, proof.newSize == new.treeSize else {
            throw ProofError("proof between sizes \(proof.oldSize) and \(proof.newSize), checkpoints of \(old.treeSize) and \(new.treeSize)")
        }
        let path = try hashes(proof.consistencyPath, field: "consistencyPath", label: label)
        guard MerkleVerify.consistency(oldSize: proof.oldSize, newSize: proof.newSize, oldRoot: oldRoot, newRoot: newRoot,
                                       path: path) else {
            throw ProofError("the tree of \(new.treeSize) events signed at \(new.timestamp) does not extend the tree of \(old.treeSize) signed at \(old.timestamp): history was rewritten")
        }
        return "ok: the tree of \(new.treeSize) events (\(new.timestamp)) extends the tree of \(old.treeSize) events (\(old.timestamp)), both signed by key \(publicKey.keyId)"
    }

    static func hashes(_ texts: [String], field: String, label: String) throws -> [MerkleHash] {
        guard texts.count <= MerkleVerify.pathLengthMax else { throw ProofError("\(label): \(field) has \(texts.count) hashes") }
        return try texts.enumerated().map { i, text in
            guard let hash = MerkleHash(hex: text) else { throw ProofError("\(label): \(field)[\(i)] is not 64 hex digits") }
            return hash
        }
    }
}

import Crypto
public import Foundation

/// A signed statement "the ledger `ledgerId` had `treeSize` events, with this Merkle root and this
/// chain head, at `timestamp`" (schemas/ledger-format.md 14.5). Publishing it fixes the history:
/// any later change to those events makes every proof against it fail.
public struct Checkpoint: Codable, Sendable, Equatable {
    public static let format = "loyalty-checkpoint/1"

    public var format: String
    /// The ledger's 16-byte id, 32 hex digits.
    public var ledgerId: String
    public var treeSize: UInt64
    /// `MTH(D[0:treeSize])`, 64 hex digits.
    public var rootHash: String
    /// The chain hash `h(treeSize)`, 64 hex digits.
    public var headHash: String
    /// RFC 3339, UTC, whole seconds: `2026-12-01T18:50:07Z`.
    public var timestamp: String
    /// `CheckpointPublicKey.keyId` of the signer.
    public var keyId: String
    /// Base64 of the 64-byte Ed25519 signature of `signedMessage`.
    public var signature: String

    /// The exact bytes signed: six lines of ASCII, each ending in `\n`.
    public var signedMessage: [UInt8] {
        Array("""
        \(Self.format)
        ledger \(ledgerId)
        size \(treeSize)
        root \(rootHash)
        head \(headHash)
        time \(timestamp)

        """.utf8)
    }

    /// Signs a checkpoint of the given figures with `key`.
    public static func sign(ledgerId: [UInt8], treeSize: UInt64, root: MerkleHash, head: [UInt8], date: Date,
                            key: CheckpointSigningKey) throws -> Checkpoint {
        precondition(ledgerId.count == 16 && head.count == 32, "ledger id 16 bytes, head hash 32")
        var checkpoint = Checkpoint(format: format, ledgerId: Hex.encode(ledgerId), treeSize: treeSize, rootHash: root.hex,
                                    headHash: Hex.encode(head), timestamp: rfc3339(date), keyId: key.publicKey.keyId,
                                    signature: "")
        checkpoint.signature = try key.key.signature(for: checkpoint.signedMessage).base64EncodedString()
        return checkpoint
    }

    /// The root, after checking every field's form (not the signature: see `verify`).
    public func checkedRoot(label: String) throws -> MerkleHash {
        guard format == Self.format else { throw ProofError("\(label): format '\(format)', expected '\(Self.format)'") }
        guard Hex.decode(ledgerId)?.count == 16, ledgerId == ledgerId.lowercased() else {
            throw ProofError("\(label): ledgerId is not 32 lowercase hex digits")
        }
        guard let root = MerkleHash(hex: rootHash), rootHash == root.hex else {
            throw ProofError("\(label): rootHash is not 64 lowercase hex digits")
        }
        guard Hex.decode(headHash)?.count == 32, headHash == headHash.lowercased() else {
            throw ProofError("\(label): headHash is not 64 lowercase hex digits")
        }
        guard Self.isRFC3339(timestamp) else { throw ProofError("\(label): timestamp '\(timestamp)' is not RFC 3339 UTC (YYYY-MM-DDTHH:MM:SSZ)") }
        return root
    }

    /// Checks the fields and the signature with `publicKey`; returns the root.
    public func verify(with publicKey: CheckpointPublicKey, label: String) throws -> MerkleHash {
        let root = try checkedRoot(label: label)
        guard keyId == publicKey.keyId else {
            throw ProofError("\(label): signed by key \(keyId), not by the given public key \(publicKey.keyId)")
        }
        guard let signature = Data(base64Encoded: self.signature), signature.count == 64,
              publicKey.key.isValidSignature(signature, for: signedMessage) else {
            throw ProofError("\(label): the signature does not verify with key \(publicKey.keyId)")
        }
        return root
    }

    public static func read(path: String) throws -> Checkpoint {
        let checkpoint = try ProofJSON.decode(Checkpoint.self, path: path, schema: .checkpoint)
        _ = try checkpoint.checkedRoot(label: path)
        return checkpoint
    }

    public func encoded() throws -> Data { try ProofJSON.encode(self) }

    static func rfc3339(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss'Z'"
        return formatter.string(from: date)
    }

    static func isRFC3339(_ text: String) -> Bool {
        let pattern = Array("dddd-dd-ddTdd:dd:ddZ".utf8)
        let utf8 = Array(text.utf8)
        guard utf8.count == pattern.count else { return false }
        return zip(utf8, pattern).allSatisfy { c, p in
            p == UInt8(ascii: "d") ? (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) : c == p
        }
    }
}

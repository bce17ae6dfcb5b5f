import Crypto
import Foundation
import Testing
@testable import LedgerProofs
@testable import LedgerStore

@Suite(.timeLimit(.minutes(1))) struct ProverTests {
    @Test func leavesHashTheRecordsTheChainCovers() async throws {
        let dir = TemporaryDirectory()
        let log = try await ledgerWithEvents(dir.ledger, count: 300)
        defer { log.close() }
        let prover = try LedgerProver(log: log)
        #expect(try prover.tree.catchUp(with: log) == 300)
        var records: [[UInt8]] = []
        var chain = ChainHash.genesis
        for p in UInt64(1)...300 {
            let record = try #require(try log.recordBytes(at: p))
            chain = record.withUnsafeBytes { chain.next(position: p, record: $0) }
            #expect(try log.events(after: p - 1, limit: 1, withHashes: true).first?.hash == chain, "h(\(p)) covers the same bytes")
            records.append(record)
        }
        try prover.tree.read { (snapshot: TreeSnapshot) throws in
            #expect(try snapshot.root(treeSize: 300).bytes == Reference.mth(records[...]))
            #expect(try snapshot.leaf(41) == MerkleHash.leaf(record: records[41]))
        }
        #expect(try log.recordBytes(at: 0) == nil && log.recordBytes(at: 301) == nil)
    }

    @Test func checkpointsAndProofsVerifyOfflineAsTheLogGrows() async throws {
        let dir = TemporaryDirectory()
        let log = try await ledgerWithEvents(dir.ledger, count: 137)
        defer { log.close() }
        let key = CheckpointSigningKey()
        let prover = try LedgerProver(log: log)
        let old = try prover.checkpoint(key: key)
        let headHex = try log.head().hash.hex
        #expect(old.treeSize == 137 && old.headHash == headHex)
        try await appendEvents(log, from: 138, count: 400)
        let new = try prover.checkpoint(key: key)
        #expect(new.treeSize == 537)
        for position in [1, 2, 64, 136, 137] as [UInt64] {
            let proof = try prover.inclusionProof(position: position, checkpoint: old)
            let record = try #require(try log.recordBytes(at: position))
            #expect(proof.leafIndex == position - 1 && proof.record == Hex.encode(record))
            _ = try ProofVerifier.verify(proof, checkpoint: old, publicKey: key.publicKey, label: "proof")
            // The same event in the newer tree, and not against the wrong checkpoint.
            let later = try prover.inclusionProof(position: position, checkpoint: new)
            _ = try ProofVerifier.verify(later, checkpoint: new, publicKey: key.publicKey, label: "proof")
            #expect(throws: ProofError.self) { try ProofVerifier.verify(proof, checkpoint: new, publicKey: key.publicKey, label: "p") }
        }
        let consistency = try prover.consistencyProof(old: old, new: new)
        _ = try ProofVerifier.verify(consistency, old: old, new: new, publicKey: key.publicKey, label: "proof")
        #expect(throws: ProofError.self) { try prover.inclusionProof(position: 138, checkpoint: old) }
        #expect(throws: ProofError.self) { try prover.inclusionProof(position: 0, checkpoint: old) }
        // Deleting the derived tree is safe: it is rebuilt with the same roots.
        try FileManager.default.removeItem(atPath: dir.ledger + "/merkle")
        let rebuilt = try LedgerProver(log: log)
        let again = try rebuilt.inclusionProof(position: 99, checkpoint: new)
        _ = try ProofVerifier.verify(again, checkpoint: new, publicKey: key.publicKey, label: "proof")
    }

    @Test func signaturesBindEveryFieldAndTheKey() async throws {
        let dir = TemporaryDirectory()
        let log = try await ledgerWithEvents(dir.ledger, count: 10)
        defer { log.close() }
        let key = CheckpointSigningKey(), other = CheckpointSigningKey()
        let checkpoint = try LedgerProver(log: log).checkpoint(key: key)
        #expect(try checkpoint.verify(with: key.publicKey, label: "c") == MerkleHash(hex: checkpoint.rootHash))
        #expect(throws: ProofError.self) { try checkpoint.verify(with: other.publicKey, label: "c") }
        var forged = checkpoint
        forged.keyId = other.publicKey.keyId
        #expect(throws: ProofError.self) { try forged.verify(with: other.publicKey, label: "c") }
        for edit in [{ (c: inout Checkpoint) in c.treeSize += 1 }, { $0.timestamp = "2020-01-01T00:00:00Z" },
                     { $0.rootHash = String(repeating: "0", count: 64) }, { $0.headHash = String(repeating: "1", count: 64) },
                     { $0.ledgerId = String(repeating: "2", count: 32) }] {
            var changed = checkpoint
            edit(&changed)
            #expect(throws: ProofError.self) { try changed.verify(with: key.publicKey, label: "c") }
        }
        let text = String(decoding: checkpoint.signedMessage, as: UTF8.self)
        #expect(text == "loyalty-checkpoint/1\nledger \(checkpoint.ledgerId)\nsize 10\nroot \(checkpoint.rootHash)\nhead \(checkpoint.headHash)\ntime \(checkpoint.timestamp)\n")
    }

    /// Tampering with a stored event is caught, whether or not the chain still looks intact.
    @Test(arguments: [100, 290] as [UInt64])
    func tamperingWithAStoredEventIsCaught(position: UInt64) async throws {
        let dir = TemporaryDirectory()
        let log = try await ledgerWithEvents(dir.ledger, count: 300)
        defer { log.close() }
        let key = CheckpointSigningKey()
        let prover = try LedgerProver(log: log)
        let signed = try prover.checkpoint(key: key)
        let honest = try prover.inclusionProof(position: position, checkpoint: signed)
        try tamper(log, position: position)
        // 100 lies before the chain checkpoint at 256, so `verify` names it; 290 lies after the last
        // one, so only an anchor outside the ledger (the signed checkpoint) can tell.
        #expect(try log.verify().isValid == (position > 256))
        // The tree recorded the original event: the prover refuses.
        #expect(throws: ProofError.self) { try prover.inclusionProof(position: position, checkpoint: signed) }
        // A tree rebuilt from the altered log no longer has the signed root.
        try prover.tree.reset()
        #expect(throws: ProofError.self) { try prover.inclusionProof(position: position, checkpoint: signed) }
        // A proof forged from the altered record with the honest path does not verify.
        var forged = honest
        forged.record = Hex.encode(try log.recordBytes(at: position)!)
        forged.leafHash = MerkleHash.leaf(record: try log.recordBytes(at: position)!).hex
        #expect(forged.record != honest.record)
        #expect(throws: ProofError.self) { try ProofVerifier.verify(forged, checkpoint: signed, publicKey: key.publicKey, label: "p") }
        // Nor does a re-signed history extend the published one.
        let resigned = try prover.checkpoint(key: key)
        #expect(resigned.treeSize == 300 && resigned.rootHash != signed.rootHash)
        let path = try prover.tree.read { try $0.consistencyPath(oldSize: 300, newSize: 300) }
        let proof = ConsistencyProof(format: ConsistencyProof.format, ledgerId: signed.ledgerId, oldSize: 300, newSize: 300,
                                     consistencyPath: path.map(\.hex))
        #expect(throws: ProofError.self) { try ProofVerifier.verify(proof, old: signed, new: resigned, publicKey: key.publicKey, label: "p") }
        #expect(throws: ProofError.self) { try prover.consistencyProof(old: signed, new: resigned) }
    }
}

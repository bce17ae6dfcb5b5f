import Foundation
import Testing
@testable import LedgerProofs
@testable import LedgerStore

/// What `loyalty verify` adds beyond the log (TreeAudit), the head-hash check of `prove`, and the
/// schema checks of every key, checkpoint and proof file (schemas/ledger-format.md 13, 14).
@Suite(.timeLimit(.minutes(1))) struct TreeAuditTests {
    @Test func verifyComparesTheStoredTreeWithTheLogAndCatchesAChangeAfterTheLastChainCheckpoint() async throws {
        let dir = TemporaryDirectory()
        let log = try await ledgerWithEvents(dir.ledger, count: 300)
        defer { log.close() }
        let key = CheckpointSigningKey()
        let checkpoint = try LedgerProver(log: log).checkpoint(key: key)
        var report = try log.verify()
        let lines = try TreeAudit.verify(log: log, quick: false, anchor: .init(checkpoint: checkpoint, publicKey: key.publicKey, label: "cp"),
                                         report: &report)
        #expect(report.isValid, "\(report.problems)")
        #expect(lines == ["merkle ok: all 596 of the 596 nodes of the tree of 300 events in merkle/ match the log",
                          "checkpoint ok: signature, Merkle root and h(300) match the log"])

        try tamper(log, position: 290)  // after the last chain checkpoint (256): the chain cannot tell
        var tampered = try log.verify()
        #expect(tampered.isValid)
        _ = try TreeAudit.verify(log: log, quick: true, anchor: .init(checkpoint: checkpoint, publicKey: key.publicKey, label: "cp"),
                                 report: &tampered)
        #expect(tampered.firstBadPosition == 290)
        let texts = tampered.problems.map(\.what)
        #expect(texts.contains { $0.hasPrefix("merkle/: node 575 (level 0, completed by position 290) differs from the log") })
        #expect(texts.contains { $0.contains("the Merkle root of the first 300 events is") })
        #expect(texts.contains { $0.contains("h(300) is") })
    }

    @Test func anAlteredInnerNodeIsNamedAtThePositionThatCompletedIt() async throws {
        let dir = TemporaryDirectory()
        let log = try await ledgerWithEvents(dir.ledger, count: 40)
        defer { log.close() }
        let tree = try LedgerProver(log: log).tree
        _ = try tree.catchUp(with: log)
        // Node (level 2, index 3) covers leaves 12...15: completed by position 16.
        let k = TreeMath.nodeKey(level: 2, index: 3)
        try tree.env.write { txn throws in
            var value = try #require(try txn.value(tree.nodes, key: MerkleTree.u64be(k)))
            value[0] ^= 1
            try txn.put(tree.nodes, key: MerkleTree.u64be(k), value: value)
        }
        var report = try log.verify()
        _ = try TreeAudit.verify(log: log, quick: false, anchor: nil, report: &report)
        #expect(report.firstBadPosition == 16)
        #expect(report.problems.count == 1)
    }

    @Test func proveRefusesACheckpointWhoseHeadHashIsNotTheLogs() async throws {
        let dir = TemporaryDirectory()
        let log = try await ledgerWithEvents(dir.ledger, count: 50)
        defer { log.close() }
        let key = CheckpointSigningKey()
        let prover = try LedgerProver(log: log)
        let good = try prover.checkpoint(key: key)
        let root = try #require(MerkleHash(hex: good.rootHash))
        let forged = try Checkpoint.sign(ledgerId: log.ledgerIdentifier, treeSize: 50, root: root, head: [UInt8](repeating: 7, count: 32),
                                         date: Date(), key: key)
        _ = try forged.verify(with: key.publicKey, label: "forged")  // validly signed
        #expect(throws: ProofError.self) { try prover.inclusionProof(position: 3, checkpoint: forged) }
        do {
            _ = try prover.consistencyProof(old: good, new: forged)
            Issue.record("a wrong head hash was accepted")
        } catch let error as ProofError {
            #expect(error.description.contains("the new checkpoint signed the head hash 0707"))
        }
        _ = try prover.inclusionProof(position: 3, checkpoint: good)
    }

    /// Writes `text` to a file and reads it as a checkpoint; returns the error text, or nil.
    private func readCheckpoint(_ text: String, in dir: borrowing TemporaryDirectory) -> String? {
        let path = dir.path + "/cp-\(UUID().uuidString).json"
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        do {
            _ = try Checkpoint.read(path: path)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func filesThatBreakTheirSchemaAreRefusedNamingTheField() throws {
        let dir = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
        let key = CheckpointSigningKey()
        let cp = try Checkpoint.sign(ledgerId: [UInt8](repeating: 1, count: 16), treeSize: 237_254, root: MerkleHash.emptyTree,
                                     head: [UInt8](repeating: 2, count: 32), date: Date(), key: key)
        let text = String(decoding: try cp.encoded(), as: UTF8.self)
        #expect(readCheckpoint(text, in: dir) == nil)
        let cases: [(String, String)] = [
            (text.replacingOccurrences(of: "\"keyId\"", with: "\"extra\" : 1,\n  \"keyId\""), "field 'extra': not a field of a checkpoint"),
            (text.replacingOccurrences(of: cp.rootHash, with: cp.rootHash.uppercased()), "field 'rootHash': not 64 lowercase hex digits"),
            (text.replacingOccurrences(of: "237254", with: "237254.0"), "field 'treeSize': not an integer literal"),
            (text.replacingOccurrences(of: "237254", with: "2.37254e5"), "field 'treeSize': not an integer literal"),
            (text.replacingOccurrences(of: "237254", with: "\"237254\""), "field 'treeSize': not an integer"),
            (text.replacingOccurrences(of: "237254", with: "1099511627776"), "field 'treeSize': 1099511627776 is outside 0...1099511627775"),
            (text.replacingOccurrences(of: cp.signature, with: String(cp.signature.dropLast(2))), "field 'signature': not 64 bytes of standard base64"),
            (text.replacingOccurrences(of: "\"timestamp\"", with: "\"nope\""), "field 'nope'"),
            ("[]", "not a JSON object"),
        ]
        for (broken, expected) in cases {
            let error = readCheckpoint(broken, in: dir)
            #expect(error?.contains(expected) == true, "\(expected): got \(error ?? "no error")")
        }
    }
}

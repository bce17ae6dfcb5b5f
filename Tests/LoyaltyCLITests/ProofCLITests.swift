import Foundation
import Testing
@testable import LedgerProofs

/// The `loyalty` commands an operator and an auditor use: keys, checkpoint, prove, verify-proof, backup.
@Suite(.timeLimit(.minutes(2))) struct ProofCLITests {
    private func events(_ range: ClosedRange<Int>) -> String {
        range.map { #"{"type":"note.added","member":"M\#($0 % 5)","occurredAt":"2026-03-01T10:00:00Z","data":{"n":\#($0)}}"# }
            .joined(separator: "\n") + "\n"
    }

    @Test func keysCheckpointProveAndVerifyOffline() throws {
        let dir = TemporaryDirectory()
        let l = ["--ledger", dir.ledger], keys = dir.path + "/keys"
        #expect(try runTool("loyalty", ["init"] + l).status == 0)
        #expect(try runTool("loyalty", ["append"] + l, input: events(1...40)).status == 0)
        let generated = try runTool("loyalty", ["keys", "generate", "--out", keys])
        #expect(generated.status == 0, "\(generated.err)")
        let mode = try FileManager.default.attributesOfItem(atPath: keys + "/checkpoint-key.private.json")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let again = try runTool("loyalty", ["keys", "generate", "--out", keys])
        #expect(again.status == 1 && again.err.contains("already exists: refusing to overwrite"))
        let priv = keys + "/checkpoint-key.private.json", pub = keys + "/checkpoint-key.public.json"
        let old = dir.path + "/old.json", new = dir.path + "/new.json"
        #expect(try runTool("loyalty", ["checkpoint", "--key", priv, "--out", old] + l).status == 0)
        #expect(try runTool("loyalty", ["append"] + l, input: events(41...100)).status == 0)
        #expect(try runTool("loyalty", ["checkpoint", "--key", priv, "--out", new] + l).status == 0)
        #expect(try Checkpoint.read(path: old).treeSize == 40 && Checkpoint.read(path: new).treeSize == 100)

        let proof = dir.path + "/proof.json"
        let proved = try runTool("loyalty", ["prove", "17", "--checkpoint", old, "--out", proof] + l)
        #expect(proved.status == 0, "\(proved.err)")
        let ok = try runTool("loyalty", ["verify-proof", proof, "--checkpoint", old, "--public-key", pub])
        #expect(ok.status == 0 && ok.out.hasPrefix("ok: event 17 (leaf 16; note.added of 'M2', version 4) is in the tree of 40 events"), "\(ok.out)\(ok.err)")
        let wrong = try runTool("loyalty", ["verify-proof", proof, "--checkpoint", new, "--public-key", pub])
        #expect(wrong.status == 1 && wrong.err.contains("proof rejected: proof for a tree of 40 events, checkpoint of 100"))

        let consistency = dir.path + "/consistency.json"
        #expect(try runTool("loyalty", ["prove", "--consistency", old, new, "--out", consistency] + l).status == 0)
        let extends = try runTool("loyalty", ["verify-proof", consistency, "--old-checkpoint", old, "--checkpoint", new, "--public-key", pub])
        #expect(extends.status == 0 && extends.out.contains("the tree of 100 events"), "\(extends.out)\(extends.err)")
        let stdout = try runTool("loyalty", ["prove", "100", "--checkpoint", new] + l)
        #expect(stdout.status == 0 && stdout.out.contains(#""format" : "loyalty-inclusion-proof/1""#))
    }

    @Test func badInputIsOneLineAndExitOne() throws {
        let dir = TemporaryDirectory()
        let l = ["--ledger", dir.ledger], keys = dir.path + "/keys", otherKeys = dir.path + "/other"
        #expect(try runTool("loyalty", ["init"] + l).status == 0)
        #expect(try runTool("loyalty", ["append"] + l, input: events(1...5)).status == 0)
        #expect(try runTool("loyalty", ["keys", "generate", "--out", keys]).status == 0)
        #expect(try runTool("loyalty", ["keys", "generate", "--out", otherKeys]).status == 0)
        let priv = keys + "/checkpoint-key.private.json", pub = keys + "/checkpoint-key.public.json"
        let cp = dir.path + "/cp.json", proof = dir.path + "/p.json", junk = dir.path + "/junk.json"
        try "{not json".write(toFile: junk, atomically: true, encoding: .utf8)
        #expect(try runTool("loyalty", ["checkpoint", "--key", priv, "--out", cp] + l).status == 0)
        #expect(try runTool("loyalty", ["prove", "3", "--checkpoint", cp, "--out", proof] + l).status == 0)

        let cases: [([String], String)] = [
            (["checkpoint", "--key", dir.path + "/missing.json"] + l, "no such private key file"),
            (["checkpoint", "--key", junk] + l, "not a private key file: invalid JSON"),
            (["checkpoint", "--key", pub] + l, "not a private key file: field 'publicKey': not a field of a private key file"),
            (["prove", "6", "--checkpoint", cp] + l, "position 6 is outside the checkpoint's 1...5"),
            (["prove", "0", "--checkpoint", cp] + l, "POSITION must be a whole number from 1"),
            (["prove", "2", "--checkpoint", junk] + l, "not a checkpoint: invalid JSON"),
            (["verify-proof", proof, "--checkpoint", cp, "--public-key", otherKeys + "/checkpoint-key.public.json"],
             "proof rejected: checkpoint: signed by key"),
            (["verify-proof", junk, "--checkpoint", cp, "--public-key", pub], "not a proof file: invalid JSON"),
            (["verify-proof", proof, "--checkpoint", cp, "--public-key", priv], "not a public key file"),
            (["verify-proof", cp, "--checkpoint", cp, "--public-key", pub], "is not a proof"),
        ]
        for (arguments, message) in cases {
            let run = try runTool("loyalty", arguments)
            #expect(run.status == 1 && run.err.contains(message), "\(arguments): \(run.err)")
            #expect(run.err.split(separator: "\n").count <= 3, "\(arguments): a short reason, not a dump: \(run.err)")
        }
        // A proof whose record was edited is rejected with its reason.
        var edited = try String(contentsOfFile: proof, encoding: .utf8)
        let record = try #require(edited.range(of: #""record" : ""#))
        let at = edited.index(record.upperBound, offsetBy: 60)
        edited.replaceSubrange(at...at, with: edited[at] == "0" ? "1" : "0")
        try edited.write(toFile: proof, atomically: true, encoding: .utf8)
        let rejected = try runTool("loyalty", ["verify-proof", proof, "--checkpoint", cp, "--public-key", pub])
        #expect(rejected.status == 1 && rejected.err.contains("proof rejected: leafHash"), "\(rejected.err)")
    }

    @Test func verifyChecksMerkleAndAnchorsToACheckpointAndEveryFileIsCheckedAgainstItsSchema() throws {
        let dir = TemporaryDirectory()
        let l = ["--ledger", dir.ledger], keys = dir.path + "/keys"
        #expect(try runTool("loyalty", ["init"] + l).status == 0)
        #expect(try runTool("loyalty", ["append"] + l, input: events(1...20)).status == 0)
        #expect(try runTool("loyalty", ["keys", "generate", "--out", keys]).status == 0)
        let priv = keys + "/checkpoint-key.private.json", pub = keys + "/checkpoint-key.public.json", cp = dir.path + "/cp.json"
        #expect(try runTool("loyalty", ["checkpoint", "--key", priv, "--out", cp] + l).status == 0)
        let full = try runTool("loyalty", ["verify", "--checkpoint", cp, "--public-key", pub] + l)
        #expect(full.status == 0 && full.out.contains("merkle ok: all 38 of the 38 nodes of the tree of 20 events")
                && full.out.contains("checkpoint ok: signature, Merkle root and h(20) match the log"), "\(full.out)\(full.err)")
        let quick = try runTool("loyalty", ["verify", "--quick"] + l)
        #expect(quick.status == 0 && quick.out.contains("merkle ok: 38 sampled of the 38 nodes"), "\(quick.out)\(quick.err)")
        let alone = try runTool("loyalty", ["verify", "--checkpoint", cp] + l)
        #expect(alone.status == 64 && alone.err.contains("--checkpoint and --public-key go together"), "\(alone.err)")

        // Each edit breaks the schema: refused before any signature is checked, naming the field.
        let text = try String(contentsOfFile: cp, encoding: .utf8)
        let signature = try Checkpoint.read(path: cp).signature
        let edits: [(String, String)] = [
            (text.replacingOccurrences(of: "\"treeSize\" : 20", with: "\"treeSize\" : 20.0"), "field 'treeSize': not an integer literal"),
            (text.replacingOccurrences(of: "\"treeSize\" : 20", with: "\"treeSize\" : -1"), "field 'treeSize': -1 is outside"),
            (text.replacingOccurrences(of: signature, with: String(signature.dropLast(2))), "field 'signature': not 64 bytes of standard base64"),
            (text.replacingOccurrences(of: "{", with: "{\n  \"é\" : 1,"), "field 'é': not a field of a checkpoint"),
        ]
        let broken = dir.path + "/broken.json"
        for (edited, message) in edits {
            try edited.write(toFile: broken, atomically: true, encoding: .utf8)
            for arguments in [["verify", "--checkpoint", broken, "--public-key", pub] + l, ["prove", "3", "--checkpoint", broken] + l] {
                let run = try runTool("loyalty", arguments)
                #expect(run.status == 1 && run.err.contains(message), "\(arguments): \(run.err)")
            }
        }
    }

    @Test func backupIsACompactVerifiedCopyAndRefusesANonEmptyDestination() throws {
        let dir = TemporaryDirectory()
        let l = ["--ledger", dir.ledger], dest = dir.path + "/backup"
        #expect(try runTool("loyalty", ["init"] + l).status == 0)
        #expect(try runTool("loyalty", ["append"] + l, input: events(1...300)).status == 0)
        let head = try runTool("loyalty", ["verify"] + l).out.split(separator: " ").suffix(2).joined(separator: " ")
        let backup = try runTool("loyalty", ["backup", dest] + l)
        #expect(backup.status == 0 && backup.out.contains("backup ok: 300 events") && backup.out.contains("head \(head.dropLast())"),
                "\(backup.out)\(backup.err)")
        #expect(!FileManager.default.fileExists(atPath: dest + "/index") && !FileManager.default.fileExists(atPath: dest + "/merkle"))
        let verified = try runTool("loyalty", ["verify", "--ledger", dest])
        #expect(verified.status == 0 && verified.out.contains("300 events"))
        let refused = try runTool("loyalty", ["backup", dest] + l)
        #expect(refused.status == 1 && refused.err.contains("is not empty"))
    }

    @Test func backupKeepsTheServersKeysAndTheCopyTakesCommands() throws {
        let dir = try TemporaryDirectory.withLedger()
        let l = ["--ledger", dir.ledger], dest = dir.path + "/backup"
        #expect(try runTool("loyalty", ["enroll", "m1", "--store", "S1", "--at", "2026-01-01"] + l).status == 0)
        let made = try runTool("loyalty", ["api-keys", "create", "till-1", "--role", "till", "--stores", "S1"] + l)
        #expect(made.status == 0, "\(made.err)")
        let backup = try runTool("loyalty", ["backup", dest] + l)
        #expect(backup.status == 0 && backup.out.contains("also copied: api-keys.json"), "\(backup.out)\(backup.err)")
        let mode = try FileManager.default.attributesOfItem(atPath: dest + "/api-keys.json")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let listed = try runTool("loyalty", ["api-keys", "list", "--ledger", dest])
        #expect(listed.status == 0 && listed.out.contains("till-1"), "\(listed.out)\(listed.err)")
        // The decision state is rebuilt from the copied log: the copy refuses what the original would.
        let again = try runTool("loyalty", ["enroll", "m1", "--store", "S2", "--at", "2026-01-02", "--ledger", dest])
        #expect(again.status == 1 && again.err.contains("enroll:m1"), "\(again.out)\(again.err)")
        let bought = try runTool("loyalty", ["purchase", "m1", "--id", "P1", "--amount", "10.00", "--store", "S1", "--at", "2026-01-03", "--ledger", dest])
        #expect(bought.status == 0, "\(bought.err)")
    }

    @Test func backupWhileAWriterAppendsIsAConsistentSnapshot() throws {
        let dir = TemporaryDirectory()
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: builtExecutable("ledger-torture"))
        writer.arguments = [dir.ledger, "1", "2"]
        let out = Pipe()
        writer.standardOutput = out
        try writer.run()
        defer { writer.terminate(); writer.waitUntilExit() }
        var seen = ""
        while seen.components(separatedBy: "ack ").count < 30 {  // the writer is busy appending
            let chunk = out.fileHandleForReading.availableData
            #expect(!chunk.isEmpty, "ledger-torture ended early")
            if chunk.isEmpty { return }
            seen += String(decoding: chunk, as: UTF8.self)
        }
        let backup = try runTool("loyalty", ["backup", dir.path + "/copy", "--ledger", dir.ledger])
        #expect(backup.status == 0 && backup.out.hasPrefix("backup ok: "), "\(backup.out)\(backup.err)")
        let verified = try runTool("loyalty", ["verify", "--ledger", dir.path + "/copy"])
        #expect(verified.status == 0, "\(verified.err)")
    }
}

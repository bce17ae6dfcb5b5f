import Crypto
import Foundation
import LedgerJSON
import LedgerTestSupport
import Testing

/// `loyalty api-keys create/list/revoke` through the real tool: the key is printed once and
/// stored only as its SHA-256 in a 0600 file; bad input is refused with a message and a
/// non-zero exit.
@Suite struct APIKeysCLITests {
    static func run(_ ledger: String, _ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        try runTool("loyalty", ["api-keys"] + arguments + ["--ledger", ledger])
    }

    @Test func createListAndRevoke() throws {
        let dir = TemporaryDirectory()
        #expect(try runTool("loyalty", ["init", "--ledger", dir.ledger]).status == 0)
        let made = try Self.run(dir.ledger, ["create", "till-1", "--role", "till", "--stores", "S1,S2"])
        #expect(made.status == 0, "\(made)")
        let key = made.out.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(key.hasPrefix("ll_") && key.count == 3 + 43, "\(key)")  // 32 bytes in unpadded base64url
        #expect(key.dropFirst(3).allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        #expect(try Self.run(dir.ledger, ["create", "ops", "--role", "operator"]).status == 0)
        let other = try Self.run(dir.ledger, ["create", "feed", "--role", "consumer"])
        #expect(other.out != made.out)

        // The file: mode 0600, the key's hash and never the key.
        let path = dir.ledger + "/api-keys.json"
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let stored = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!stored.contains(key))
        let digest = SHA256.hash(data: Array(key.utf8)).map { String(format: "%02x", $0) }.joined()
        #expect(stored.contains(digest))
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))

        let list = try Self.run(dir.ledger, ["list"])
        #expect(list.status == 0 && list.out.contains("till-1") && list.out.contains("S1,S2") && list.out.contains("operator"), "\(list)")
        #expect(!list.out.contains(key) && !list.out.contains(digest))
        #expect(try Self.run(dir.ledger, ["revoke", "till-1"]).status == 0)
        let json = try Self.run(dir.ledger, ["list", "--format", "json"])
        let lines = json.out.split(separator: "\n").compactMap { try? JSONCanonical.parse(String($0)) }
        #expect(lines.count == 3)
        #expect(lines.first?["name"] == .string("till-1") && lines.first?["revoked"] != nil)
        #expect(lines.first?["stores"] == .array([.string("S1"), .string("S2")]))
        #expect(lines.dropFirst().allSatisfy { $0["revoked"] == nil })
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o600)
    }

    @Test func badInputIsRefusedWithAMessage() throws {
        let dir = TemporaryDirectory()
        #expect(try runTool("loyalty", ["init", "--ledger", dir.ledger]).status == 0)
        #expect(try Self.run(dir.ledger, ["create", "ops", "--role", "operator"]).status == 0)
        let refused: [([String], String)] = [
            (["create", "x", "--role", "admin"], "unknown role 'admin'"),
            (["create", "ops", "--role", "auditor"], "exists already"),
            (["create", "two words", "--role", "auditor"], "printable ASCII"),
            (["create", "", "--role", "auditor"], "must not be empty"),
            (["create", String(repeating: "k", count: 129), "--role", "auditor"], "over the limit"),
            (["create", "t1", "--role", "till"], "needs --stores"),
            (["create", "t1", "--role", "till", "--stores", "S1,,S2"], "is not a store id"),
            (["create", "a1", "--role", "auditor", "--stores", "S1"], "for till keys only"),
            (["revoke", "nobody"], "no key named 'nobody'"),
        ]
        for (arguments, message) in refused {
            let r = try Self.run(dir.ledger, arguments)
            #expect(r.status != 0 && r.err.contains(message), "\(arguments): \(r)")
            #expect(r.out.isEmpty, "no key printed: \(arguments)")
        }
        let missing = try Self.run(dir.path + "/nowhere", ["create", "k", "--role", "auditor"])
        #expect(missing.status != 0 && missing.err.contains("no ledger"), "\(missing)")
        // Only the first key was made.
        let list = try Self.run(dir.ledger, ["list", "--format", "json"])
        #expect(list.out.split(separator: "\n").count == 1)
    }

    /// `serve` refuses to start on a ledger without keys (unless --insecure-no-auth).
    @Test func serveNeedsAKey() throws {
        let dir = TemporaryDirectory()
        #expect(try runTool("loyalty", ["init", "--ledger", dir.ledger]).status == 0)
        let serve = try runTool("loyalty", ["serve", "--ledger", dir.ledger, "--listen", "127.0.0.1:0"])
        #expect(serve.status != 0 && serve.err.contains("no API key"), "\(serve)")
    }
}

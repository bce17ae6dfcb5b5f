import Foundation
import LedgerJSON

/// The JSON Schemas of `schemas/proofs/` as checks run on every key, checkpoint and proof file
/// before it is used (schemas/ledger-format.md 14.4 - 14.7): no field outside the schema, none
/// missing, every string of its exact form (lowercase hex, padded base64), every number an integer
/// literal in range. A file that breaks one is refused naming the field, before any signature or
/// hash is checked, so "the signature does not verify" always means a well-formed signature.
struct ProofSchema: Sendable {
    enum Rule: Sendable {
        case constant(String)
        /// Exactly `digits` lowercase hex digits.
        case hex(digits: Int)
        /// One or more bytes as lowercase hex (an even number of digits).
        case hexBytes
        /// `YYYY-MM-DDTHH:MM:SSZ`.
        case timestamp
        /// Standard base64 with padding of `bytes` bytes (`4 * ceil(bytes / 3)` characters).
        case base64(bytes: Int)
        /// An integer literal (no fraction, no exponent) in `min...max`.
        case integer(min: UInt64, max: UInt64)
        /// An array of at most 64 hashes, each 64 lowercase hex digits.
        case hashList
    }

    let what: String
    let fields: [(name: String, rule: Rule)]

    /// Tree sizes are positions: below 2^40 (format 12.1).
    static let treeSizeMax: UInt64 = (1 << 40) - 1

    static let checkpoint = ProofSchema(what: "checkpoint", fields: [
        ("format", .constant(Checkpoint.format)), ("ledgerId", .hex(digits: 32)),
        ("treeSize", .integer(min: 0, max: treeSizeMax)), ("rootHash", .hex(digits: 64)), ("headHash", .hex(digits: 64)),
        ("timestamp", .timestamp), ("keyId", .hex(digits: 16)), ("signature", .base64(bytes: 64)),
    ])
    static let inclusionProof = ProofSchema(what: "inclusion proof", fields: [
        ("format", .constant(InclusionProof.format)), ("ledgerId", .hex(digits: 32)),
        ("position", .integer(min: 1, max: .max)), ("leafIndex", .integer(min: 0, max: .max)),
        ("treeSize", .integer(min: 1, max: treeSizeMax)), ("record", .hexBytes), ("leafHash", .hex(digits: 64)),
        ("auditPath", .hashList),
    ])
    static let consistencyProof = ProofSchema(what: "consistency proof", fields: [
        ("format", .constant(ConsistencyProof.format)), ("ledgerId", .hex(digits: 32)),
        ("oldSize", .integer(min: 1, max: .max)), ("newSize", .integer(min: 1, max: treeSizeMax)),
        ("consistencyPath", .hashList),
    ])
    static let publicKey = ProofSchema(what: "public key file", fields: [
        ("format", .constant(CheckpointPublicKey.format)), ("algorithm", .constant("ed25519")),
        ("keyId", .hex(digits: 16)), ("publicKey", .base64(bytes: 32)),
    ])
    static let signingKey = ProofSchema(what: "private key file", fields: [
        ("format", .constant(CheckpointSigningKey.privateFormat)), ("algorithm", .constant("ed25519")),
        ("keyId", .hex(digits: 16)), ("privateKey", .base64(bytes: 32)),
    ])

    /// Parses `data` and checks it against the schema; throws naming the file and the field.
    func validate(_ data: Data, label: String) throws {
        try Self.validate(try Self.parse(data, label: label, what: what), schema: self, label: label)
    }

    /// Strict JSON (LedgerJSON): duplicate keys, invalid UTF-8 and numbers with a fraction or an
    /// exponent are refused. A refused number is named by the object key it is the value of.
    static func parse(_ data: Data, label: String, what: String) throws -> JSONValue {
        let bytes = [UInt8](data)
        do {
            return try JSONCanonical.parse(utf8: bytes)
        } catch {
            if error.reason.hasPrefix("numbers must be integers") || error.reason.hasPrefix("-0 "),
               let key = keyBefore(column: error.column, in: bytes) {
                throw ProofError("\(label): not a \(what): field '\(key)': not an integer literal (no fraction, no exponent)")
            }
            throw ProofError("\(label): not a \(what): invalid JSON at \(error)")
        }
    }

    /// The object key whose value starts before the 1-based `column` (`"key": value`), if any.
    static func keyBefore(column: Int, in bytes: [UInt8]) -> String? {
        var i = min(column - 1, bytes.count) - 1
        while i >= 0, bytes[i] != UInt8(ascii: ":") {
            if [UInt8(ascii: ","), UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: "\"")].contains(bytes[i]) { return nil }
            i -= 1
        }
        i -= 1
        while i >= 0, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i -= 1 }
        guard i >= 1, bytes[i] == UInt8(ascii: "\"") else { return nil }
        let end = i
        i -= 1
        while i >= 0, bytes[i] != UInt8(ascii: "\"") { i -= 1 }
        guard i >= 0 else { return nil }
        return String(decoding: bytes[(i + 1)..<end], as: UTF8.self)
    }

    static func validate(_ value: JSONValue, schema: ProofSchema, label: String) throws {
        guard case let .object(members) = value else { throw ProofError("\(label): not a \(schema.what): not a JSON object") }
        func bad(_ field: String, _ reason: String) -> ProofError {
            ProofError("\(label): not a \(schema.what): field '\(field)': \(reason)")
        }
        let known = Set(schema.fields.map(\.name))
        for member in members where !known.contains(member.key) {
            throw bad(member.key, "not a field of a \(schema.what) (the schema allows no other fields)")
        }
        for (name, rule) in schema.fields {
            guard let field = members.first(where: { $0.key == name })?.value else { throw bad(name, "missing") }
            if let reason = problem(field, rule) { throw bad(name, reason) }
        }
    }

    /// What is wrong with `value` under `rule`, or nil.
    static func problem(_ value: JSONValue, _ rule: Rule) -> String? {
        switch rule {
        case .integer(let min, let max):
            guard case let .integer(text) = value else { return "not an integer" }
            guard let n = UInt64(text), n >= min, n <= max else { return "\(text) is outside \(min)...\(max)" }
            return nil
        case .hashList:
            guard case let .array(items) = value else { return "not an array of hashes" }
            guard items.count <= MerkleVerify.pathLengthMax else { return "\(items.count) hashes, at most \(MerkleVerify.pathLengthMax)" }
            for (i, item) in items.enumerated() {
                if let reason = problem(item, .hex(digits: 64)) { return "item \(i): \(reason)" }
            }
            return nil
        default:
            guard case let .string(text) = value else { return "not a string" }
            return stringProblem(Array(text.utf8), rule)
        }
    }

    static func stringProblem(_ s: [UInt8], _ rule: Rule) -> String? {
        let lowerHex: (UInt8) -> Bool = { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
        let digit: (UInt8) -> Bool = { (0x30...0x39).contains($0) }
        switch rule {
        case .constant(let expected):
            return s.elementsEqual(expected.utf8) ? nil : "'\(String(decoding: s, as: UTF8.self))', expected '\(expected)'"
        case .hex(let digits):
            return s.count == digits && s.allSatisfy(lowerHex) ? nil : "not \(digits) lowercase hex digits"
        case .hexBytes:
            return !s.isEmpty && s.count % 2 == 0 && s.allSatisfy(lowerHex) ? nil : "not bytes in lowercase hex (an even number of digits 0-9, a-f)"
        case .timestamp:
            let pattern = Array("dddd-dd-ddTdd:dd:ddZ".utf8)
            let ok = s.count == pattern.count && zip(s, pattern).allSatisfy { c, p in p == UInt8(ascii: "d") ? digit(c) : c == p }
            return ok ? nil : "not an RFC 3339 UTC time YYYY-MM-DDTHH:MM:SSZ"
        case .base64(let bytes):
            let length = 4 * ((bytes + 2) / 3), padding = (3 - bytes % 3) % 3
            let alphabet: (UInt8) -> Bool = {
                (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || digit($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "/")
            }
            let ok = s.count == length && s.prefix(length - padding).allSatisfy(alphabet)
                && s.suffix(padding).allSatisfy { $0 == UInt8(ascii: "=") }
            return ok ? nil : "not \(bytes) bytes of standard base64 with padding (\(length) characters)"
        case .integer, .hashList:
            return "not a string"
        }
    }
}

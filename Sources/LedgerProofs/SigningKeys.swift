public import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The operator's Ed25519 checkpoint key, and its file formats (schemas/ledger-format.md 14.4).
public struct CheckpointSigningKey {
    public static let privateFormat = "loyalty-signing-key/1"
    public static let privateFileName = "checkpoint-key.private.json"
    public static let publicFileName = "checkpoint-key.public.json"

    public let key: Curve25519.Signing.PrivateKey
    public var publicKey: CheckpointPublicKey { CheckpointPublicKey(key: key.publicKey) }

    public init(key: Curve25519.Signing.PrivateKey = .init()) { self.key = key }

    struct File: Codable {
        var format: String
        var algorithm: String
        var keyId: String
        var privateKey: String
    }

    /// Writes `DIR/checkpoint-key.private.json` (mode 0600, created exclusively: never overwrites)
    /// and `DIR/checkpoint-key.public.json`; creates DIR (0700) when missing. Returns both paths.
    public func write(toDirectory directory: String) throws -> (privatePath: String, publicPath: String) {
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } else if !isDirectory.boolValue {
            throw ProofError("\(directory) exists and is not a directory")
        }
        let privatePath = directory + "/" + Self.privateFileName, publicPath = directory + "/" + Self.publicFileName
        for path in [privatePath, publicPath] where FileManager.default.fileExists(atPath: path) {
            throw ProofError("\(path) already exists: refusing to overwrite a key")
        }
        let file = File(format: Self.privateFormat, algorithm: "ed25519", keyId: publicKey.keyId,
                        privateKey: key.rawRepresentation.base64EncodedString())
        try ProofJSON.writeExclusive(try ProofJSON.encode(file), to: privatePath, mode: 0o600)
        try ProofJSON.writeExclusive(try ProofJSON.encode(publicKey.file), to: publicPath, mode: 0o644)
        return (privatePath, publicPath)
    }

    /// Reads a private key file; a one-line error names what is wrong.
    public static func read(path: String) throws -> CheckpointSigningKey {
        let file: File = try ProofJSON.decode(File.self, path: path, schema: .signingKey)
        guard file.format == privateFormat, file.algorithm == "ed25519" else {
            throw ProofError("\(path): not a private key file (format '\(file.format)', expected '\(privateFormat)')")
        }
        guard let raw = Data(base64Encoded: file.privateKey), raw.count == 32,
              let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw) else {
            throw ProofError("\(path): privateKey is not 32 bytes of base64")
        }
        let signing = CheckpointSigningKey(key: key)
        guard signing.publicKey.keyId == file.keyId else {
            throw ProofError("\(path): keyId \(file.keyId) does not belong to this key (\(signing.publicKey.keyId))")
        }
        return signing
    }
}

/// The public half, which auditors keep: verifies checkpoint signatures.
public struct CheckpointPublicKey {
    public static let format = "loyalty-public-key/1"
    public let key: Curve25519.Signing.PublicKey

    public init(key: Curve25519.Signing.PublicKey) { self.key = key }

    /// First 8 bytes of SHA-256 of the raw 32-byte public key, as 16 hex digits.
    public var keyId: String { Hex.encode(Array(SHA256.hash(data: key.rawRepresentation).prefix(8))) }

    struct File: Codable {
        var format: String
        var algorithm: String
        var keyId: String
        var publicKey: String
    }

    var file: File {
        File(format: Self.format, algorithm: "ed25519", keyId: keyId, publicKey: key.rawRepresentation.base64EncodedString())
    }

    public static func read(path: String) throws -> CheckpointPublicKey {
        let file: File = try ProofJSON.decode(File.self, path: path, schema: .publicKey)
        guard file.format == format, file.algorithm == "ed25519" else {
            throw ProofError("\(path): not a public key file (format '\(file.format)', expected '\(format)')")
        }
        guard let raw = Data(base64Encoded: file.publicKey), raw.count == 32,
              let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
            throw ProofError("\(path): publicKey is not 32 bytes of base64")
        }
        let publicKey = CheckpointPublicKey(key: key)
        guard publicKey.keyId == file.keyId else {
            throw ProofError("\(path): keyId \(file.keyId) does not belong to this key (\(publicKey.keyId))")
        }
        return publicKey
    }
}

/// JSON files of this module: sorted keys, pretty, a final newline; reading reports one line.
enum ProofJSON {
    /// Files larger than this are refused before parsing (a proof is a few KiB; a record at most 1 MiB as hex).
    static let fileBytesMax = 4 << 20

    static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        var data = try encoder.encode(value)
        data.append(0x0A)
        return data
    }

    static func decode<T: Decodable>(_ type: T.Type, path: String, schema: ProofSchema) throws -> T {
        let what = schema.what
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
            throw ProofError("\(path): no such \(what)")
        }
        if let size = attributes[.size] as? Int, size > fileBytesMax {
            throw ProofError("\(path): \(size) bytes, too large for a \(what) (at most \(fileBytesMax))")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw ProofError("\(path): cannot read the \(what)") }
        return try decode(type, data: data, label: "\(path)", schema: schema)
    }

    /// Checks `data` against `schema` (naming the field at fault), then decodes it.
    static func decode<T: Decodable>(_ type: T.Type, data: Data, label: String, schema: ProofSchema) throws -> T {
        try schema.validate(data, label: label)
        let what = schema.what
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw ProofError("\(label): not a \(what): field '\(key.stringValue)' missing")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw ProofError("\(label): not a \(what): field '\(field)' has the wrong type")
        } catch {
            throw ProofError("\(label): not a \(what): invalid JSON")
        }
    }

    /// Creates `path` exclusively (O_EXCL: fails if it exists) with `mode`, writes `data`, syncs.
    static func writeExclusive(_ data: Data, to path: String, mode: mode_t) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)
        guard fd >= 0 else {
            throw ProofError("\(path): cannot create (\(String(cString: strerror(errno))))")
        }
        defer { close(fd) }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == data.count, fsync(fd) == 0 else {
            throw ProofError("\(path): write failed (\(String(cString: strerror(errno))))")
        }
    }
}

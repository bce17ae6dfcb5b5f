/// A field that was missing or of the wrong type: says which (a dotted path) and why.
public struct JSONFieldError: Error, Equatable, Sendable, CustomStringConvertible {
    public let field: String
    public let reason: String
    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }
    public var description: String { "field '\(field)': \(reason)" }
}

/// Typed reads of a JSON object's members, for hand-written decoders.
public struct JSONObjectReader: Sendable {
    public let path: String
    private let members: [String: JSONValue]

    public init(_ value: JSONValue, path: String = "") throws(JSONFieldError) {
        guard case let .object(pairs) = value else {
            throw JSONFieldError(field: path.isEmpty ? "(root)" : path, reason: "expected an object")
        }
        self.path = path
        var members: [String: JSONValue] = [:]
        for (k, v) in pairs { members[k] = v }
        self.members = members
    }

    public var keys: Set<String> { Set(members.keys) }

    private func name(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    private func describe(_ v: JSONValue) -> String {
        let text = String(decoding: JSONCanonical.encode(v), as: UTF8.self)
        return text.count > 60 ? String(text.prefix(57)) + "..." : text
    }

    public func has(_ key: String) -> Bool {
        if let v = members[key], v != .null { return true }
        return false
    }

    public func value(_ key: String) -> JSONValue? {
        guard let v = members[key], v != .null else { return nil }
        return v
    }

    public func string(_ key: String) throws(JSONFieldError) -> String {
        guard let s = try optionalString(key) else { throw JSONFieldError(field: name(key), reason: "missing") }
        return s
    }

    public func optionalString(_ key: String) throws(JSONFieldError) -> String? {
        guard let v = value(key) else { return nil }
        guard case let .string(s) = v else { throw JSONFieldError(field: name(key), reason: "expected a string, got \(describe(v))") }
        return s
    }

    public func int(_ key: String) throws(JSONFieldError) -> Int64 {
        guard let n = try optionalInt(key) else { throw JSONFieldError(field: name(key), reason: "missing") }
        return n
    }

    public func optionalInt(_ key: String) throws(JSONFieldError) -> Int64? {
        guard let v = value(key) else { return nil }
        guard case let .integer(literal) = v, let n = Int64(literal) else {
            throw JSONFieldError(field: name(key), reason: "expected an integer (64-bit), got \(describe(v))")
        }
        return n
    }

    public func bool(_ key: String, default fallback: Bool) throws(JSONFieldError) -> Bool {
        guard let v = value(key) else { return fallback }
        guard case let .bool(b) = v else { throw JSONFieldError(field: name(key), reason: "expected true or false, got \(describe(v))") }
        return b
    }

    public func object(_ key: String) throws(JSONFieldError) -> JSONObjectReader {
        guard let r = try optionalObject(key) else { throw JSONFieldError(field: name(key), reason: "missing") }
        return r
    }

    public func optionalObject(_ key: String) throws(JSONFieldError) -> JSONObjectReader? {
        guard let v = value(key) else { return nil }
        return try JSONObjectReader(v, path: name(key))
    }

    /// The elements of an array member (empty when absent), each read as an object.
    public func objects(_ key: String) throws(JSONFieldError) -> [JSONObjectReader] {
        guard let v = value(key) else { return [] }
        guard case let .array(items) = v else { throw JSONFieldError(field: name(key), reason: "expected an array") }
        var out: [JSONObjectReader] = []
        for (i, item) in items.enumerated() { out.append(try JSONObjectReader(item, path: "\(name(key))[\(i)]")) }
        return out
    }

    public func strings(_ key: String) throws(JSONFieldError) -> [String] {
        guard let v = value(key) else { return [] }
        guard case let .array(items) = v else { throw JSONFieldError(field: name(key), reason: "expected an array") }
        var out: [String] = []
        for (i, item) in items.enumerated() {
            guard case let .string(s) = item else { throw JSONFieldError(field: "\(name(key))[\(i)]", reason: "expected a string") }
            out.append(s)
        }
        return out
    }

    /// Refuses members outside `allowed` (a misspelt optional field must not be ignored silently).
    public func rejectUnknown(_ allowed: Set<String>) throws(JSONFieldError) {
        if let extra = members.keys.filter({ !allowed.contains($0) }).sorted().first {
            throw JSONFieldError(field: name(extra), reason: "unknown field (expected one of \(allowed.sorted().joined(separator: ", ")))")
        }
    }
}

extension JSONValue {
    public static func int(_ v: Int64) -> JSONValue { .integer(String(v)) }
    public static func int(_ v: Int) -> JSONValue { .integer(String(v)) }

    /// An object from pairs, leaving out members whose value is nil.
    public static func object(_ pairs: KeyValuePairs<String, JSONValue?>) -> JSONValue {
        .object(pairs.compactMap { k, v in v.map { (key: k, value: $0) } })
    }
}

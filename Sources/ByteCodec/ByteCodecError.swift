/// Bytes a `ByteReader` could not read: short, or not in the form the read expects. Names the
/// field (when the caller gave one) and the offset where the read started.
public struct ByteCodecError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: Hashable, Sendable { case truncated, malformed }
        private let kind: Kind
        /// The bytes end before the value does.
        public static let truncated = Code(kind: .truncated)
        /// The bytes are there but not a value of the form read (a varint past 64 bits or not
        /// minimal, text that is not UTF-8, a value outside what the caller allows).
        public static let malformed = Code(kind: .malformed)
        public var description: String { kind == .truncated ? "truncated" : "malformed" }
    }

    public let code: Code
    /// The field read, as the caller named it ("" when it named none).
    public let field: String
    /// Where the read started.
    public let offset: Int
    public let reason: String

    public init(_ code: Code, field: String = "", offset: Int, _ reason: String) {
        (self.code, self.field, self.offset, self.reason) = (code, field, offset, reason)
    }

    public var description: String { field.isEmpty ? "\(reason) at byte \(offset)" : "\(field): \(reason)" }
}

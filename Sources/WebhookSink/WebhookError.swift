/// A webhook sink failure with a one-line reason: bad configuration (the secret file, the URL, the
/// state directory), a source that refuses, or too many dead letters.
public struct WebhookError: Error, CustomStringConvertible, Sendable {
    /// What failed; compare with the static members (adding one breaks no client).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String { case secret, url, state, source, deadLetters }
        private let value: Value
        private init(_ value: Value) { self.value = value }
        public static let secret = Code(.secret)
        public static let url = Code(.url)
        public static let state = Code(.state)
        public static let source = Code(.source)
        public static let deadLetters = Code(.deadLetters)
        public var description: String { value.rawValue }
    }

    public let code: Code
    public let description: String

    public init(_ code: Code, _ description: String) { (self.code, self.description) = (code, description) }
}

/// A request the application cannot carry out, with a one-line reason meant for the person who
/// made it: a bad input line, an unknown member, a filter that names no tier. Front ends print
/// `description` as it is (the CLI exits 1 with it; the server answers it in the body, with a
/// status chosen by `kind`).
public struct ApplicationError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// The request cannot be carried out as asked (the default).
        case refused
        /// What the request names does not exist (a member, a report).
        case notFound
        /// A parameter of the request is invalid (a filter naming no tier, a bad time).
        case invalidParameter(String)
    }

    public let description: String
    public let kind: Kind

    public init(_ description: String, kind: Kind = .refused) { (self.description, self.kind) = (description, kind) }

    /// "unknown member 'M'": the same words wherever a member is missing.
    public static func unknownMember(_ member: String, _ suffix: String = "") -> ApplicationError {
        ApplicationError("unknown member '\(member)'\(suffix)", kind: .notFound)
    }
}

/// A request the application cannot carry out, with a one-line reason meant for the person who
/// made it: a bad input line, an unknown member, a filter that names no tier. Front ends print
/// `description` as it is (the CLI exits 1 with it; the server answers it in the body).
public struct ApplicationError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

import Hummingbird
import LoyaltyDomain
import LoyaltyLedger

/// A request's query parameters, checked against the names a route takes: an unknown name, a
/// repeated one, or a value that does not parse is 400 `invalid-parameter` naming it.
struct QueryParameters {
    private let values: [String: String]

    init(_ request: Request, allowed: Set<String>) throws {
        var values: [String: String] = [:]
        for (name, value) in request.uri.queryParameters {
            let name = String(name)
            guard allowed.contains(name) else {
                let takes = allowed.isEmpty ? "this route takes none" : "this route takes " + allowed.sorted().joined(separator: ", ")
                throw Problem.invalidParameter(name, "unknown query parameter '\(name)' (\(takes))")
            }
            guard values[name] == nil else { throw Problem.invalidParameter(name, "query parameter '\(name)' is given more than once") }
            values[name] = String(value)
        }
        self.values = values
    }

    /// The parameter's text; an empty value is an error (a parameter left out means the default).
    func string(_ name: String) throws -> String? {
        guard let text = values[name] else { return nil }
        guard !text.isEmpty else { throw Problem.invalidParameter(name, "query parameter '\(name)' is empty") }
        return text
    }

    /// A time: RFC 3339, or a date `YYYY-MM-DD` (local midnight in the program's time zone).
    func time(_ name: String, _ app: LedgerApplication) throws -> Timestamp? {
        guard let text = try string(name) else { return nil }
        guard let requested = RequestedTime(text) else {
            throw Problem.invalidParameter(name, "'\(text)' is not an RFC 3339 time or a YYYY-MM-DD date")
        }
        return try app.resolve(requested)
    }

    /// A local date `YYYY-MM-DD`.
    func date(_ name: String) throws -> String? {
        guard let text = try string(name) else { return nil }
        guard text.utf8.count == 10, case .date? = RequestedTime(text) else {
            throw Problem.invalidParameter(name, "'\(text)' is not a date (YYYY-MM-DD)")
        }
        return text
    }

    /// One of `T`'s raw values.
    func choice<T: RawRepresentable & CaseIterable>(_ name: String, _: T.Type) throws -> T? where T.RawValue == String {
        guard let text = try string(name) else { return nil }
        guard let value = T(rawValue: text) else {
            throw Problem.invalidParameter(name, "'\(text)' is not one of " + T.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return value
    }
}

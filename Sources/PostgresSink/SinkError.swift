import PostgresNIO

/// Why the sink stopped: a message naming what failed and where (the URL without its password,
/// the position, the server's own message).
public struct SinkError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A failure of the PostgreSQL connection or of a statement on it, kept apart from the source's
/// errors so that the run loop can tell a lost connection (retried) from a refusal (fatal).
struct PostgresFailure: Error, CustomStringConvertible {
    var underlying: any Error
    var description: String { PostgresFailure.describe(underlying) }

    /// Whether asking again on a new connection can help: the connection failed or closed, or
    /// the server is shutting down or starting (SQLSTATE classes 08 and 57).
    var isConnectionLoss: Bool {
        guard let error = underlying as? PSQLError else { return true }
        guard error.code == .server else { return true }
        let state = error.serverInfo?[.sqlState] ?? ""
        return state.hasPrefix("08") || state.hasPrefix("57")
    }

    /// The server's message and SQLSTATE (`PSQLError` hides them from `description`).
    static func describe(_ error: any Error) -> String {
        guard let e = error as? PSQLError else { return "\(error)" }
        if let info = e.serverInfo {
            var text = (info[.severity] ?? "ERROR") + ": " + (info[.message] ?? "?")
            if let state = info[.sqlState] { text += " (SQLSTATE \(state))" }
            if let detail = info[.detail] { text += "; " + detail }
            return text
        }
        var text = "\(e.code)"
        if let underlying = e.underlying { text += ": \(underlying)" }
        return text
    }
}

/// Runs `body`, its errors as `PostgresFailure`.
func onPostgres<R>(_ body: () async throws -> R) async throws -> R {
    do {
        return try await body()
    } catch let error as PostgresFailure {
        throw error
    } catch let error as SinkError {
        throw error
    } catch is CancellationError {
        throw CancellationError()
    } catch {
        throw PostgresFailure(underlying: error)
    }
}

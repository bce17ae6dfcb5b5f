import Foundation

/// `loyalty serve` running as a child process on a free loopback port, for tests of what only a
/// real process shows (signals, restarts). SIGKILLed at deinit if still running.
public final class ServedLedger: Sendable {
    public let tool: RunningTool
    public let port: Int

    /// Starts `loyalty serve --ledger LEDGER --listen LISTEN ARGS` and waits (up to 60 s) for its
    /// `listening on HOST:PORT` line.
    public init(ledger: String, listen: String = "127.0.0.1:0", arguments: [String] = []) throws {
        tool = try RunningTool(["serve", "--ledger", ledger, "--listen", listen] + arguments)
        let line = try tool.waitForLineBlocking { $0.hasPrefix("listening on ") }
        guard let port = line.split(separator: ":").last.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) else {
            tool.stop(signal: SIGKILL)
            throw RunningToolError("serve printed no port: \(line)")
        }
        self.port = port
    }

    public var baseURL: String { "http://127.0.0.1:\(port)" }
    /// `HOST:PORT`, to start a server again on the same address.
    public var address: String { "127.0.0.1:\(port)" }

    /// Sends `signal` (SIGTERM: a graceful shutdown) and waits for the exit; returns its status.
    @discardableResult
    public func stop(signal: Int32 = 15) -> Int32 { tool.stop(signal: signal) }  // 15: SIGTERM

    /// What the server wrote on standard error.
    public func errors() -> String { tool.errors() }
}

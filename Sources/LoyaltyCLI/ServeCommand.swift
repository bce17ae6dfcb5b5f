import ArgumentParser
import Foundation
import Logging
import LoyaltyLedger
import LoyaltyServer

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the ledger over HTTP (API v1, schemas/openapi.yaml) until SIGTERM or SIGINT.")

    @OptionGroup var options: LedgerOptions
    @Option(help: "The address to listen on, HOST:PORT (port 0: any free port, printed).") var listen = "127.0.0.1:8080"
    @Option(name: .customLong("jobs-at"), help: "When expiry and tier evaluation run each day, HH:MM in the program's time zone.")
    var jobsAt = "03:00"
    @Flag(name: .customLong("no-jobs"), help: "Run no daily jobs (expiry and tiers are run by hand).") var noJobs = false
    @Flag(help: "Serve without API keys (every request allowed, events without an actor): for local development only.")
    var insecureNoAuth = false
    @Flag(name: .customLong("read-only"), help: "Serve reads only (a replica that `loyalty replicate` keeps appending to): commands are refused with 405, no daily jobs run, the writer lock is not taken.")
    var readOnly = false
    @Option(help: "Log level: trace, debug (every request: route, status, duration, key name), info, notice, warning, error.")
    var logLevel = "info"

    func validate() throws {
        guard Self.address(listen) != nil else {
            throw ValidationError("--listen: '\(listen)' is not HOST:PORT with a port 0 to 65535")
        }
        guard DailyJobs(time: jobsAt) != nil else { throw ValidationError("--jobs-at: '\(jobsAt)' is not HH:MM (00:00 to 23:59)") }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level: '\(logLevel)' is not one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    static func address(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }

    func run() async throws {
        guard let (host, port) = Self.address(listen) else { throw ValidationError("--listen: '\(listen)'") }
        let app = try options.open(writable: !readOnly)
        defer { app.close() }
        var configuration = ServerConfiguration(host: host, port: port)
        configuration.dailyJobs = noJobs ? nil : DailyJobs(time: jobsAt)
        configuration.insecureNoAuth = insecureNoAuth
        configuration.readOnly = readOnly
        let server: LedgerServer
        do {
            server = try LedgerServer(app: app, configuration: configuration)
        } catch let e as ServerSetupError {
            throw CLIError(e.description)
        }
        var logger = Logger(label: "loyalty.serve")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        if insecureNoAuth { logger.warning("serving without API keys (--insecure-no-auth): every request is allowed") }
        try await server.run(logger: logger) { port in
            // One line on standard output once the socket listens (scripts wait for it).
            FileHandle.standardOutput.write(Data("listening on \(host):\(port)\n".utf8))
        }
    }
}

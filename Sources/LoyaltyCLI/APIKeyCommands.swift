import ArgumentParser
import LoyaltyDomain
import LoyaltyServer

// The server's API keys (`loyalty serve`): made, listed and revoked in the ledger directory's
// key file (`APIKeyFile`). A running server sees every change at its next request.

struct APIKeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api-keys", abstract: "The API keys of `loyalty serve`: create, list, revoke.",
        subcommands: [APIKeysCreateCommand.self, APIKeysListCommand.self, APIKeysRevokeCommand.self])
}

struct APIKeysCreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Make a key and print it (once: only its SHA-256 is kept, in LEDGER/api-keys.json, mode 0600).",
        discussion: """
            Roles: till (enrollments, purchases and returns at its --stores; member and balance lookups), \
            operator (every command, import and read; tailing), auditor (every read and tailing; no writes), \
            consumer (tailing only). The name is recorded as the actor of every event written with the key.
            """)

    @OptionGroup var options: LedgerOptions
    @Argument(help: "The key's name: printable ASCII without spaces, at most \(APIKeyFile.nameBytesMax) bytes, never used before.")
    var name: String
    @Option(help: "till, operator, auditor or consumer.") var role: String
    @Option(help: "For a till: the stores it records for, comma-separated (S1,S2).") var stores: String?

    func run() throws {
        guard let role = Role(rawValue: role) else {
            throw CLIError("unknown role '\(role)' (one of \(Role.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let storeList = stores.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let key = try keyError { try APIKeyFile.create(ledger: options.path, name: name, role: role, stores: storeList, now: .now()) }
        print(key)
        printError("key '\(name)' (\(role.rawValue)) created: the key above is shown only this once")
    }
}

struct APIKeysListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "The keys: name, role, stores, created, revoked (never the key).")

    @OptionGroup var options: LedgerOptions
    @Option(help: "table or json (one JSON object per key).") var format: OutputFormat = .table

    func run() throws {
        let keys = try keyError { try APIKeyFile.load(ledger: options.path) }
        switch format {
        case .json:
            for key in keys {
                printJSON(.object(["name": .string(key.name), "role": .string(key.role.rawValue),
                                   "stores": key.stores.map { .array($0.map { .string($0) }) },
                                   "created": .string(key.created.rfc3339), "revoked": key.revoked.map { .string($0.rfc3339) }]))
            }
        case .table:
            let rows = [["NAME", "ROLE", "STORES", "CREATED", "REVOKED"]] + keys.map { key in
                [key.name, key.role.rawValue, key.stores?.joined(separator: ",") ?? "-", key.created.rfc3339, key.revoked?.rfc3339 ?? "-"]
            }
            let widths = (0..<5).map { c in rows.map { $0[c].count }.max() ?? 0 }
            for row in rows { print(row.indices.map { padded(row[$0], widths[$0] + 2) }.joined().trimmingTrailingSpaces) }
        }
    }
}

struct APIKeysRevokeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke", abstract: "Revoke a key: a running server refuses it from its next request on (the name stays taken).")

    @OptionGroup var options: LedgerOptions
    @Argument(help: "The key's name.") var name: String

    func run() throws {
        try keyError { try APIKeyFile.revoke(ledger: options.path, name: name, now: .now()) }
        print("key '\(name)' revoked")
    }
}

/// `body`, an `APIKeyError` reported as the CLI reports its own errors.
private func keyError<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as APIKeyError { throw CLIError(e.description) }
}

private extension String {
    var trimmingTrailingSpaces: String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}

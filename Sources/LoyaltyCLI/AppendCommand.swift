import ArgumentParser
import Foundation
import LedgerStore
import LoyaltyDomain
import LoyaltyLedger

struct AppendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append",
        abstract: "Append events from JSON Lines (stdin or a file).",
        discussion: """
        One event a line: {"type": "...", "member": "...", "occurredAt": "RFC 3339", "data": {...}}
        with optional "idempotencyKey" and "expectedVersion". Every --batch lines commit atomically.
        A bad line is reported with its line number and field, and nothing of its batch is written.
        Domain event types (member.enrolled, purchase.recorded, points.earned, ...) are refused:
        only the domain writes them, from commands (`loyalty import` or the command subcommands).
        """
    )

    @OptionGroup var options: LedgerOptions

    @Option(help: "Events per atomic batch (1...\(LogLimits.batchEventsMax)).")
    var batch: Int = 1000

    @Argument(help: "A JSON Lines file (default: standard input).")
    var file: String?

    func validate() throws {
        guard (1...LogLimits.batchEventsMax).contains(batch) else {
            throw ValidationError("--batch must be between 1 and \(LogLimits.batchEventsMax), got \(batch)")
        }
    }

    func run() async throws {
        var fd: Int32 = 0
        if let file {
            fd = open(file, O_RDONLY)
            guard fd >= 0 else { throw CLIError("cannot open \(file): \(String(cString: strerror(errno)))") }
        }
        defer { if fd != 0 { close(fd) } }
        var input = LineReader(fd: fd)
        let log = try options.openLog(writable: true)
        defer { log.close() }
        var appended = 0, deduplicated = 0, lineNumber = 0
        var pending: [EventDraft] = []
        var firstLineOfBatch = 1
        func flush() async throws {
            guard !pending.isEmpty else { return }
            let result: AppendResult
            do {
                result = try await log.append(pending)
            } catch let error as LedgerError {
                throw CLIError("batch of lines \(firstLineOfBatch)-\(lineNumber) not written: \(Self.describe(error, firstLine: firstLineOfBatch))")
            }
            for event in result.events { if event.deduplicated { deduplicated += 1 } else { appended += 1 } }
            pending.removeAll(keepingCapacity: true)
        }
        while let read = try input.nextLine() {
            lineNumber += 1
            if pending.isEmpty { firstLineOfBatch = lineNumber }
            do {
                guard case .bytes(let line) = read else {
                    if case .tooLong(let n) = read { throw CLIError(InputText.tooLongReason(byteCount: n)) }
                    continue
                }
                if InputText.isBlank(line) { continue }
                let draft = try EventLine.parse(line)
                if let refusal = Self.domainTypeRefusal(draft.type) { throw CLIError(refusal) }
                pending.append(draft)
            } catch {
                throw CLIError("line \(lineNumber): \(error); nothing of lines \(firstLineOfBatch)-\(lineNumber) was written (\(appended) events from earlier batches were)")
            }
            if pending.count == batch { try await flush() }
        }
        try await flush()
        let head = try log.head()
        print("appended \(appended) events, \(deduplicated) already present (idempotent replays); head position \(head.position), hash \(head.hash.hex)")
    }

    /// Why `type` may not be appended raw (nil: it may). Domain events are what the domain decided
    /// from a command; one appended raw could claim points no purchase earned, spend a lot that
    /// does not exist, or carry a value no fold can apply.
    static func domainTypeRefusal(_ type: String) -> String? {
        if type == Neutralisation.eventType {
            return "type '\(type)' records a neutralisation: only `loyalty neutralise` writes it (with its entry in the log's neutralised table)"
        }
        guard DomainEvent.isDomainType(type) else { return nil }
        let command: String
        switch type {
        case "member.enrolled": command = #"{"command":"enroll",...} (or `loyalty enroll`)"#
        case "member.profile_updated": command = #"{"command":"update-profile",...}"#
        case "member.closed": command = #"{"command":"close-member",...}"#
        case "purchase.recorded", "points.earned": command = #"{"command":"purchase",...} (or `loyalty purchase`)"#
        case "purchase.returned": command = #"{"command":"return",...} (or `loyalty return`)"#
        case "points.redeemed": command = #"{"command":"redeem",...} (or `loyalty redeem`)"#
        case "redemption.reversed": command = #"{"command":"reverse-redemption",...}"#
        case "points.adjusted": command = #"{"command":"adjust",...} (or `loyalty adjust`)"#
        case "points.expired": command = #"{"command":"expire",...} (or `loyalty expire`)"#
        case "points.held": command = #"{"command":"hold",...} (or `loyalty hold`)"#
        case "points.hold_released": command = #"{"command":"release",...}"#
        case "points.transferred_out", "points.transferred_in": command = #"{"command":"transfer",...}"#
        case "tier.changed": command = #"{"command":"evaluate-tiers",...} (or `loyalty tiers evaluate`)"#
        case "reward.defined": command = #"{"command":"define-reward",...} (or `loyalty reward define`)"#
        case "card.issued": command = #"{"command":"issue-card",...} (or `loyalty card issue`, `loyalty card replace`)"#
        case "card.blocked": command = #"{"command":"block-card",...} (or `loyalty card block`)"#
        case "tier.set": command = #"{"command":"set-tier",...} (or `loyalty tier set`)"#
        default: command = #"{"command":"publish-program",...} (or `loyalty program publish`)"#
        }
        return "type '\(type)' is a domain event: only the domain writes it, from a command; use `loyalty import` with \(command)"
    }

    /// Re-words an error that names an event index in terms of input lines.
    static func describe(_ error: LedgerError, firstLine: Int) -> String {
        switch error {
        case let .wrongExpectedVersion(member, expected, actual, index):
            return "line \(firstLine + index): wrong expectedVersion for member '\(member)': expected \(expected), stream is at \(actual)"
        case let .idempotencyConflict(key, position, index):
            let earlier = position == 0 ? "an earlier line of the same batch" : "position \(position)"
            return "line \(firstLine + index): idempotencyKey '\(key)' was already used for a different event (\(earlier))"
        case let .invalidEvent(index, field, reason):
            return "line \(firstLine + index): field '\(field)': \(reason)"
        default:
            return error.description
        }
    }
}

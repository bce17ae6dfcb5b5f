public import AsyncHTTPClient
import Foundation
public import LedgerStore
import LedgerTailClient
public import Logging

/// Keeps a replica of a ledger served by `loyalty serve`: pages of stored records
/// (`GET /v1/records`) are appended to the local log with `EventLog.appendReplicated`, which
/// checks each record's chain hash against the replica's own chain before it stores it. The
/// replica's log is then the primary's byte for byte (same ledger id, records, chain, proofs).
///
/// It resumes from the replica's own head: a crash (even SIGKILL) loses nothing committed and
/// repeats nothing. The first run creates the replica with the primary's identity.
public struct Replicator: Sendable {
    public var url: String
    public var apiKey: String?
    public var ledgerPath: String
    /// Records asked for per page (the server's most is `RecordPage.recordsMax`).
    public var pageRecords = 4_096
    /// How long a caught-up replica's request waits on the server for new records (`--follow`).
    public var waitSeconds = 10
    /// The largest page body accepted.
    public var pageBytesMax = 512 << 20
    /// The first wait before asking again after a failure, doubled up to `backoffMax`.
    public var backoffMin: Duration = .milliseconds(100)
    public var backoffMax: Duration = .seconds(5)
    /// Called after each commit with the replica's head and the primary's (as of the page).
    public var onProgress: (@Sendable (_ head: UInt64, _ primaryHead: UInt64) -> Void)?
    public var logger = Logger(label: "loyalty.replica")
    /// How long to wait for another process's writer lock on the replica before giving up.
    public var writerLockWaitMilliseconds = 0

    public init(url: String, apiKey: String?, ledgerPath: String) {
        (self.url, self.apiKey, self.ledgerPath) = (url, apiKey, ledgerPath)
    }

    /// Copies every record up to the primary's head (with `follow`, then every new one until
    /// the task is cancelled). Returns the replica's head. Throws `ReplicationError` when the
    /// replica must stop (a chain mismatch names the position and both hashes), `TailClientError`
    /// when the server refuses the requests.
    @discardableResult
    public func run(follow: Bool, http: HTTPClient) async throws -> LogHead {
        let client = LedgerTailClient(url: url, apiKey: apiKey, http: http)
        let opened = try await openReplica(client)
        let log = opened.log
        var pending = opened.first
        defer { log.close() }
        var head = try log.head()
        let identity = try log.identity()
        while true {
            let page: RecordPage
            if let prefetched = pending {
                page = prefetched
            } else {
                page = try await fetch(client, after: head.position, wait: follow ? waitSeconds : 0)
            }
            pending = nil
            try check(page, identity: identity, head: head)
            let caughtUp = page.after + UInt64(page.records.count) >= page.head
            if page.records.isEmpty {
                if caughtUp && !follow { return head }
                continue
            }
            // The next page is asked for while this one commits (the commit waits for the disk).
            let last = page.records[page.records.count - 1]
            async let next = fetch(client, after: last.position, wait: caughtUp ? waitSeconds : 0, if: follow || !caughtUp)
            do {
                _ = try await log.appendReplicated(page.records)
            } catch let refusal as ReplicationRefusal {
                throw ReplicationError(refusal)
            }
            (head.position, head.hash) = (last.position, last.hash)
            onProgress?(head.position, page.head)
            pending = try await next
            if pending == nil { return try log.head() }
        }
    }

    /// The replica's log, opened for appending; the first run creates it with the identity of
    /// the primary's first page (which is then the first page to apply).
    private func openReplica(_ client: LedgerTailClient) async throws -> (log: EventLog, first: RecordPage?) {
        var options = EventLogOptions()
        options.writable = true
        options.logger = logger
        options.writerLockWaitMilliseconds = writerLockWaitMilliseconds
        if FileManager.default.fileExists(atPath: ledgerPath + "/data.mdb") {
            return (try EventLog.open(path: ledgerPath, options: options), nil)
        }
        let first = try await fetch(client, after: 0, wait: 0)
        guard first.ledgerId.count == 16 else { throw ReplicationError("the primary's ledger id has \(first.ledgerId.count) bytes") }
        options.create = true
        options.replicaOf = LedgerIdentity(ledgerId: first.ledgerId, createdAtMicros: first.createdAtMicros)
        logger.info("creating the replica", metadata: ["ledger": "\(ledgerPath)", "primary": "\(options.replicaOf?.hex ?? "")"])
        return (try EventLog.open(path: ledgerPath, options: options), first)
    }

    /// The page continues this replica: same ledger, starts at its head, whose hash it shares.
    private func check(_ page: RecordPage, identity: LedgerIdentity, head: LogHead) throws {
        guard page.ledgerId == identity.ledgerId else {
            throw ReplicationError("\(url) serves ledger \(LedgerIdentity(ledgerId: page.ledgerId, createdAtMicros: 0).hex), this replica is of ledger \(identity.hex)")
        }
        guard page.after == head.position else {
            throw ReplicationError("the server answered records after position \(page.after), asked for after \(head.position)")
        }
        guard page.previousHash == head.hash else {
            throw ReplicationError(ReplicationRefusal(position: head.position, reason: "chain mismatch: the primary's chain differs at this replica's head",
                                                      expectedHash: head.hash, receivedHash: page.previousHash))
        }
    }

    /// `fetch` when `wanted`, else nil.
    private func fetch(_ client: LedgerTailClient, after: UInt64, wait: Int, if wanted: Bool) async throws -> RecordPage? {
        wanted ? try await fetch(client, after: after, wait: wait) : nil
    }

    /// One page after `after`, asked again with backoff while the failure may pass.
    private func fetch(_ client: LedgerTailClient, after: UInt64, wait: Int) async throws -> RecordPage {
        var delay = backoffMin
        while true {
            try Task.checkCancellation()
            do {
                let bytes = try await client.recordPage(after: after, limit: pageRecords, waitSeconds: wait, bodyBytesMax: pageBytesMax)
                do {
                    return try RecordPage.decode(bytes)
                } catch {
                    throw ReplicationError("\(url): the answer is not a records page: \(error)")
                }
            } catch let error as TailClientError {
                throw ReplicationError("\(url): \(error.description)")
            } catch let error as ReplicationError {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                logger.info("asking again", metadata: ["error": "\(error)", "after": "\(after)"])
            }
            try await Task.sleep(for: delay)
            delay = min(delay * 2, backoffMax)
        }
    }
}

/// Why a replica stopped. For a record it refused, `refusal` names the position and, for a
/// chain mismatch, the hash expected by the replica's chain and the one received.
public struct ReplicationError: Error, Sendable, CustomStringConvertible {
    public var refusal: ReplicationRefusal?
    public var description: String

    public init(_ refusal: ReplicationRefusal) {
        self.refusal = refusal
        description = "record refused at \(refusal)"
    }

    public init(_ description: String) { (self.refusal, self.description) = (nil, description) }
}

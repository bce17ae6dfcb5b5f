import Foundation
public import Logging
import Synchronization

/// Options for `EventLog.open`. Every limit is explicit; defaults suit a production ledger.
public struct EventLogOptions: Sendable {
    public var lmdb = LMDBOptions()
    /// Create the ledger if the directory holds none.
    public var create = false
    /// Open for appending (takes the writer lock) or only for reading (never blocks a writer).
    public var writable = true
    /// How long a second writing process waits for the writer lock before "in use by process N".
    public var writerLockWaitMilliseconds = 0
    /// The writer hands index entries to the background flusher at least this often...
    public var indexFlushIntervalMilliseconds = 2_000
    /// ...or as soon as this many entries are waiting in memory.
    public var indexFlushEntries = 500_000
    /// Back-pressure: appends wait for the flusher when this many entries are in memory.
    public var indexOverlayEntriesMax = 4_000_000
    /// Extra time the writer waits to gather more appends into one commit (0: commit at once;
    /// appends that arrive during a commit still share the next one).
    public var commitLingerMicroseconds = 0
    /// Tail subscribers re-read the log at least this often (commits of other processes are only
    /// seen this way; in-process commits wake them at once).
    public var tailPollIntervalMilliseconds = 50
    public var logger = Logger(label: "loyalty.ledger")
    /// Sees every commit group of the writer (see `CommitObserver`).
    public var commitObserver: (any CommitObserver)?
    /// A replica's primary: a new ledger takes its id and creation time, an existing one must
    /// have its id (see `appendReplicated`).
    public var replicaOf: LedgerIdentity?

    public init() {}
}

/// The append-only event log: gapless positions, a SHA-256 hash chain, per-member streams with
/// optimistic concurrency, permanent idempotency keys, group commit and tailing.
///
/// One process at a time appends (the writer lock); any number read alongside it.
public final class EventLog: Sendable {
    public let path: String
    let store: LogStore
    let index: LogIndex?
    /// Why a read-only open left the index aside (see `verify`).
    let indexProblem: String?
    let writer: LogWriter?
    private let lock: WriterLock?
    let signal: CommitSignal
    let ledgerId: [UInt8]
    let options: EventLogOptions
    private let closed = Mutex(false)

    /// Opens the ledger at `path` (a directory). With `options.writable` it takes the writer lock,
    /// catches the index up with the log, and starts the writer.
    public static func open(path: String, options: EventLogOptions = EventLogOptions()) throws -> EventLog {
        do {
            return try EventLog(path: path, options: options)
        } catch {
            throw LedgerError.wrap(error, mapSizeMaxBytes: options.lmdb.mapSizeMaxBytes)
        }
    }

    private init(path: String, options: EventLogOptions) throws {
        self.path = path
        self.options = options
        // Only `create` makes a ledger: a mistyped path is an error, not a new empty ledger.
        if !options.create && !FileManager.default.fileExists(atPath: path + "/data.mdb") {
            throw LedgerError.noLedger(path: path)
        }
        if options.writable {
            // Owner only: a ledger holds members' personal data (birth dates).
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            lock = try WriterLock(path: path + "/writer.lock", waitMilliseconds: options.writerLockWaitMilliseconds)
        } else {
            lock = nil
        }
        // Readers open every environment read-only: they work on read-only media and never
        // write a file of the ledger.
        var lmdb = options.lmdb
        lmdb.readOnly = lmdb.readOnly || !options.writable
        let env = try LMDBEnvironment.open(path: path, options: lmdb)
        let store = try LogStore(env: env, create: options.writable)
        self.store = store
        ledgerId = try store.checkFormat(path: path, create: options.create && options.writable, identity: options.replicaOf)
        // The writer continues the chain and `recordedAt` from the last event, so it needs that
        // event whole; a reader only the position (a damaged last event is then for `verify` or
        // the read that reaches it to name).
        let head = try env.read { txn in
            options.writable ? try store.head(txn: txn)
                : LogHead(position: try Self.readerHead(store, txn), hash: .genesis, recordedAt: 0)
        }
        signal = CommitSignal(head: head.position)

        let indexPath = path + "/index"
        if options.writable {
            // The writer lock is held: a damaged index is rebuilt from the log.
            let index = try DerivedFolder.open(indexPath, logger: options.logger) {
                try LogIndex(env: try LMDBEnvironment.open(path: indexPath, options: lmdb), create: true, logHead: head.position)
            }
            self.index = index
            indexProblem = nil
            try index.adopt(ledgerId: ledgerId, logHead: head.position)
            try Self.catchUp(index: index, store: store, head: head.position, logger: options.logger)
            let writer = LogWriter(store: store, index: index, head: head, signal: signal, options: options,
                                   logger: options.logger, observer: options.commitObserver)
            writer.start()
            self.writer = writer
        } else if FileManager.default.fileExists(atPath: indexPath + "/data.mdb") {
            // The index only speeds readers up: one that fails to open is left aside (reads
            // scan the log instead) and `verify` reports it.
            do {
                let env = try LMDBEnvironment.open(path: indexPath, options: lmdb)
                index = try LogIndex(env: env, create: false, logHead: head.position.multipliedReportingOverflow(by: 2).partialValue)
                indexProblem = nil
            } catch {
                index = nil
                indexProblem = "\(indexPath): \(error): delete it, it is rebuilt from the log"
            }
            writer = nil
        } else {
            index = nil
            indexProblem = nil
            writer = nil
        }
    }

    /// A reader's head at open: a last key that is not a position (not 8 bytes) is for `verify`
    /// to name in its report, so the reader opens at the last 8-byte key before it.
    private static func readerHead(_ store: LogStore, _ txn: LMDBTransaction) throws -> UInt64 {
        do {
            return try store.headPosition(txn: txn)
        } catch LedgerError.corrupt {
            return try EventKeys.lastPosition(store: store, txn: txn).position
        }
    }

    /// Brings the index environment up to the log head (after a crash, or on a first open).
    private static func catchUp(index: LogIndex, store: LogStore, head: UInt64, logger: Logger) throws {
        var through = try index.env.read { txn in try index.indexedThrough(txn) }
        if through < head {
            logger.info("catching the index up with the log", metadata: ["from": "\(through)", "to": "\(head)"])
        }
        while through < head {
            var generation = IndexGeneration()
            generation.through = through
            while generation.through < head && generation.entryCount < 1_000_000 {
                let batch = try store.env.read { txn in
                    try store.events(after: generation.through, limit: LogLimits.readBatchEventsMax, hashFrom: nil, txn: txn)
                }
                guard !batch.isEmpty else { break }
                for event in batch {
                    generation.record(StagedEntry(member: event.member, memberHash: KeyHash.of(event.member),
                                                  head: MemberHead(version: event.version, position: event.position),
                                                  keyHash: event.idempotencyKey.map(KeyHash.of)))
                }
            }
            precondition(generation.through > through, "catch-up makes progress")
            try index.write(generation)
            through = generation.through
        }
    }

    /// Stops the writer after the appends already queued, writes the index, releases the lock.
    /// Appends after `close` fail. Reads keep working until the object is released.
    public func close() {
        let wasClosed = closed.withLock { c in
            defer { c = true }
            return c
        }
        guard !wasClosed else { return }
        writer?.stop()
        lock?.release()
    }

    deinit { close() }

    // MARK: Appending

    /// Appends `drafts` as one atomic batch and returns after it is durably committed.
    public func append(_ drafts: [EventDraft]) async throws -> AppendResult {
        guard let writer else { throw LedgerError.notWritable(reason: "opened read-only") }
        guard (1...LogLimits.batchEventsMax).contains(drafts.count) else {
            throw LedgerError.invalidBatchSize(count: drafts.count, max: LogLimits.batchEventsMax)
        }
        return try await writer.submit(.events(drafts))
    }

    /// Runs `decision` on the writer thread, after everything committed or staged before it, and
    /// appends the events it returns as one atomic batch (none: nothing is written). Its errors
    /// reach the caller unchanged.
    public func append(deciding decision: @escaping AppendDecision) async throws -> AppendResult {
        guard let writer else { throw LedgerError.notWritable(reason: "opened read-only") }
        return try await writer.submit(.decide(decision))
    }

    /// `append(deciding:)` without waiting: queues `decision` behind everything queued before and
    /// returns at once; `reply` gets the outcome on the writer thread after the commit. Throws
    /// (without calling `reply`) when the log is read-only or closing. It takes no lock but the
    /// writer queue's, so a caller can hold its own lock around its decisions and their queueing
    /// and so make its order of calls the log's order.
    public func enqueue(deciding decision: @escaping AppendDecision, reply: @escaping AppendReply) throws {
        guard let writer else { throw LedgerError.notWritable(reason: "opened read-only") }
        try writer.enqueue(.decide(decision), reply: reply)
    }

    public func append(_ draft: EventDraft) async throws -> AppendedEvent {
        try await append([draft]).events[0]
    }

    /// Commits made and events committed by this process's writer since open (group-commit
    /// efficiency: events per commit).
    public var commitStatistics: (commits: Int, events: Int) {
        writer?.counters.withLock { $0 } ?? (0, 0)
    }

    /// Calls `observe` with the number of events of every commit from now on (nil: stop), on
    /// the writer's thread right after the commit: it must be quick (metrics). A log opened
    /// read-only never commits.
    public func observeCommits(_ observe: (@Sendable (_ events: Int) -> Void)?) {
        writer?.commitSizeObserver.withLock { $0 = observe }
    }

    // MARK: Reading

    /// The last position, its chain hash and ledger time (position 0 and the genesis hash when empty).
    public func head() throws -> LogHead {
        try read { txn in try store.head(txn: txn) }
    }

    public func headPosition() throws -> UInt64 {
        try read { txn in try store.headPosition(txn: txn) }
    }

    /// At most `limit` events after `position`, in order. With `withHashes`, each carries its
    /// chain hash (costs one SHA-256 per event plus at most 255 to find the starting hash).
    public func events(after position: UInt64, limit: Int, withHashes: Bool = false) throws -> [RecordedEvent] {
        precondition(limit >= 0, "limit must not be negative")
        return try read { txn in
            var start: ChainHash?
            if withHashes {
                guard let hash = try chainHashToContinue(after: position, txn: txn) else { return [] }
                start = hash
            }
            return try store.events(after: position, limit: min(limit, LogLimits.readBatchEventsMax), hashFrom: start, txn: txn)
        }
    }

    /// Events after `position`, continuing a read whose last chain hash was `previousHash`.
    public func events(after position: UInt64, limit: Int, previousHash: ChainHash?) throws -> [RecordedEvent] {
        try read { txn in
            guard let start = try previousHash ?? chainHashToContinue(after: position, txn: txn) else { return [] }
            return try store.events(after: position, limit: min(limit, LogLimits.readBatchEventsMax), hashFrom: start, txn: txn)
        }
    }

    /// The chain hash at `position`, to hash the events after it; nil when `position` is at or past
    /// the head (nothing follows, and past the head there is no hash to compute). Only a read that
    /// starts without a hash pays for the head lookup: a tail continuing with its last hash does not.
    private func chainHashToContinue(after position: UInt64, txn: LMDBTransaction) throws -> ChainHash? {
        guard position < (try store.headPosition(txn: txn)) else { return nil }
        return try store.chainHash(at: position, txn: txn)
    }

    /// The position of the committed event whose idempotency key is `key`, or nil. Only a writable
    /// log answers (its key table holds every committed key from open on); a read-only one says nil.
    public func position(ofKey key: String) throws -> UInt64? {
        guard let writer else { return nil }
        var candidates: [UInt64] = []
        writer.committedKeyPositions(KeyHash.of(key), into: &candidates, overlay: true)
        guard !candidates.isEmpty else { return nil }  // (most keys asked about are new: no read transaction)
        return try read { txn in
            try store.event(withKey: key, among: candidates, through: try store.headPosition(txn: txn), txn: txn)?.position
        }
    }

    /// The event at `position`, or nil past the head.
    public func event(at position: UInt64) throws -> RecordedEvent? {
        try read { txn in
            guard position >= 1, position <= (try store.headPosition(txn: txn)) else { return nil }
            return try store.event(at: position, txn: txn)
        }
    }

    /// The member's current version (0 when the member has no events).
    public func memberVersion(_ member: String) throws -> UInt64 {
        try memberHead(member)?.version ?? 0
    }

    /// Every event of `member`, in stream order (version 1 first).
    public func stream(member: String) throws -> [RecordedEvent] {
        guard let head = try memberHead(member) else { return [] }
        return try read { txn in
            var out: [RecordedEvent] = []
            out.reserveCapacity(Int(min(head.version, 1 << 16)))
            var next: UInt64? = head.position
            var version = head.version
            while let position = next {
                let event = try store.event(at: position, txn: txn)
                guard event.member == member, event.version == version else {
                    throw LedgerError.corrupt(position: position, reason: "stream link of '\(member)' broken (version \(event.version), expected \(version))")
                }
                out.append(event)
                next = event.previousPosition
                version -= 1
            }
            guard version == 0 else { throw LedgerError.corrupt(position: head.position, reason: "stream of '\(member)' ends at version \(version + 1)") }
            out.reverse()  // in place: `reversed()` would copy every event once more
            return out
        }
    }

    /// The positions of `member`'s events in stream order (version 1 first), from one walk of
    /// the stream's links that reads only each record's header. With `events(at:)` a reader can
    /// fetch and decode the stream in forward chunks on other threads (events never change once
    /// written, so later read transactions see the same records).
    public func streamPositions(member: String) throws -> [UInt64] {
        guard let head = try memberHead(member) else { return [] }
        var id = member
        return try id.withUTF8 { want in
            try read { txn in
                var out = [UInt64](repeating: 0, count: Int(head.version))
                var next: UInt64? = head.position
                var version = head.version
                while let position = next {
                    guard version > 0 else { throw LedgerError.corrupt(position: position, reason: "stream of '\(member)' longer than its head version \(head.version)") }
                    let link = try store.link(at: position, txn: txn)
                    guard link.version == version, link.member.elementsEqual(UnsafeRawBufferPointer(want)) else {
                        throw LedgerError.corrupt(position: position, reason: "stream link of '\(member)' broken (version \(link.version), expected \(version))")
                    }
                    out[Int(version - 1)] = position
                    next = link.previousPosition
                    version -= 1
                }
                guard version == 0 else { throw LedgerError.corrupt(position: head.position, reason: "stream of '\(member)' ends at version \(version + 1)") }
                return out
            }
        }
    }

    /// The events at `positions`, in that order, read in one short transaction.
    public func events(at positions: some Collection<UInt64>) throws -> [RecordedEvent] {
        try read { txn in
            var out: [RecordedEvent] = []
            out.reserveCapacity(positions.count)
            for p in positions { out.append(try store.event(at: p, txn: txn)) }
            return out
        }
    }

    /// Returns when this process's writer commits past `position`, after `timeoutMilliseconds`, or
    /// on cancellation, whichever comes first. Commits of other processes are not signalled: the
    /// caller re-reads the log in every case (the timeout is its polling interval).
    public func waitForCommit(after position: UInt64, timeoutMilliseconds: Int) async {
        precondition(timeoutMilliseconds >= 0, "timeout must not be negative")
        await signal.wait(after: position, timeoutNanoseconds: UInt64(timeoutMilliseconds) * 1_000_000)
    }

    /// Follows the log from `position` (exclusive): history first, then live commits.
    public func subscribe(after position: UInt64, follow: Bool = true) -> LogSubscription {
        LogSubscription(log: self, after: position, follow: follow)
    }

    func read<T>(_ body: (LMDBTransaction) throws -> T) throws -> T {
        do {
            return try store.env.read(body)
        } catch {
            throw LedgerError.wrap(error, mapSizeMaxBytes: options.lmdb.mapSizeMaxBytes)
        }
    }

    /// Where `member`'s stream ends. In the writing process the overlay answers for unindexed
    /// commits; elsewhere the log after `indexedThrough` is scanned (bounded by the flush interval).
    func memberHead(_ member: String) throws -> MemberHead? {
        do {
            if let writer, let index {
                // Under the overlay lock, so the writer cannot drop a generation between the
                // overlay lookup and the index lookup.
                return try writer.overlay.withLock { state -> MemberHead? in
                    let hash = KeyHash.of(member)
                    if let head = state.active.members[member, hash] ?? state.frozen?.members[member, hash] { return head }
                    return try index.env.read { txn in try index.memberHead(txn, member: member) }
                }
            }
            var (through, head): (UInt64, MemberHead?) = (0, nil)
            if let index {
                (through, head) = try index.env.read { txn in
                    (try index.indexedThrough(txn), try index.memberHead(txn, member: member))
                }
            }
            return try read { txn in
                let last = try store.headPosition(txn: txn)
                guard through < last else { return head }
                return try scanForMember(member, after: through, head: head, txn: txn)
            }
        } catch {
            throw LedgerError.wrap(error, mapSizeMaxBytes: options.lmdb.mapSizeMaxBytes)
        }
    }

    private func scanForMember(_ member: String, after position: UInt64, head: MemberHead?, txn: LMDBTransaction) throws -> MemberHead? {
        var found = head
        let target = Array(member.utf8)
        try txn.withCursor(store.events) { cursor in
            try ByteCoding.positionKey(position + 1).withUnsafeBytes { k in
                var entry = try cursor.seek(atLeast: k)
                while let e = entry {
                    let m = try EventRecord.member(e.value)
                    if m.elementsEqual(target), let p = ByteCoding.readUInt64BE(e.key) {
                        found = MemberHead(version: (found?.version ?? 0) + 1, position: p)
                    }
                    entry = try cursor.next()
                }
            }
        }
        return found
    }
}

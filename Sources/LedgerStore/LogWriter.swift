import Foundation
import Logging
import Synchronization

/// The single writer: one thread that coalesces concurrent appends into one LMDB transaction
/// (group commit) and answers each caller only after that transaction committed.
///
/// Everything the commit path needs is on this thread or in memory: the head, the chain hash, and
/// the index overlay. The only random-key B-tree it reads is the index environment (lookups, no
/// writes); the only pages it writes are the tail of `events` and `chain` (sequential keys).
final class LogWriter: @unchecked Sendable {
    // @unchecked: `pending`/`stopping` are guarded by `condition`; `head`, `headHash` and
    // `lastRecordedAt` are touched only on the writer thread after `start()`; shared state
    // (`overlay`, `signal`) is Mutex-protected or Sendable.
    enum Work {
        case events([EventDraft])
        case decide(AppendDecision)
        /// One `ledger.neutralised` event and its `neutralised` entry (EventLog+Neutralise.swift).
        case neutralise(EventDraft, position: UInt64)
        /// Records a replica copies from its primary, already hashed (LogWriter+Replicate.swift).
        case replicate([ReplicatedRecord])
    }

    struct Request {
        let work: Work
        /// Answered once, on the writer thread, after the commit that carried the request (or
        /// its failure).
        let reply: Reply

        enum Reply {
            /// An awaiting caller (`submit`): resumed directly, no closure to allocate per append.
            case resume(CheckedContinuation<AppendResult, any Error>)
            case call(AppendReply)
        }

        func answer(_ result: Result<AppendResult, any Error>) {
            switch reply {
            case .resume(let continuation): continuation.resume(with: result)
            case .call(let reply): reply(result)
            }
        }

        /// Events counted against the commit limits (a decision counts as one until it has run).
        var eventCount: Int {
            if case let .events(drafts) = work { return drafts.count }
            if case let .replicate(records) = work { return records.count }
            return 1
        }

        var payloadBytes: Int {
            if case let .events(drafts) = work { return drafts.reduce(0) { $0 + $1.data.count } }
            if case let .replicate(records) = work { return records.reduce(0) { $0 + $1.record.count } }
            return 0
        }
    }

    let store: LogStore
    let index: LogIndex
    let overlay: IndexOverlay
    private let signal: CommitSignal
    private let options: EventLogOptions
    private let logger: Logger

    private let condition = NSCondition()
    private var pending: [Request] = []
    private var pendingEvents = 0
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)

    private var head: UInt64
    private var headHash: ChainHash
    private(set) var lastRecordedAt: Int64
    private var lastRotationAt = ContinuousClock.now
    /// Committed stream heads of the members this writer has seen, exact for every member it
    /// holds: only this thread writes the log, and it updates an entry after each commit that
    /// touches the member. It spares the overlay lock and the index B-tree a lookup per event
    /// (after each overlay rotation most members were only in the index). Bounded by
    /// `LogLimits.writerMemberHeadsMax`: past that, new members are not added (still exact).
    private var knownHeads = MemberTable()
    /// Set (for good) once the key table failed to take a group's keys and the overlay holds them.
    private var overlayHoldsKeys = false
    /// The hashes of the batch being staged (`warm`), and where its loads are folded so they stay.
    private var draftHashes: [DraftHashes] = []
    private var warmSink: UInt64 = 0
    /// Scratch for `insertKeys`, kept to reuse its storage.
    private var keyEntries: [(hash: UInt64, position: UInt64)] = []
    /// Commits and events committed by this writer (for `commitStatistics`).
    let counters = Mutex<(commits: Int, events: Int)>((0, 0))
    /// Told the events of each commit, on this thread after the commit (see `EventLog.observeCommits`).
    let commitSizeObserver = Mutex<(@Sendable (Int) -> Void)?>(nil)
    private let flusher: IndexFlusher
    /// Hashes the chain of large batches beside the writer thread (see `ChainHasher`).
    private let hasher = ChainHasher()
    /// Scratch for encoding one record.
    private var recordScratch: [UInt8] = []
    private let observer: (any CommitObserver)?

    init(store: LogStore, index: LogIndex, head: LogHead, signal: CommitSignal, options: EventLogOptions, logger: Logger,
         observer: (any CommitObserver)?) {
        self.observer = observer
        self.store = store
        self.index = index
        self.head = head.position
        self.headHash = head.hash
        self.lastRecordedAt = head.recordedAt
        self.signal = signal
        self.options = options
        self.logger = logger
        self.overlay = IndexOverlay()
        self.flusher = IndexFlusher(index: index, logger: logger)
    }

    func start() {
        flusher.start(overlay: overlay)
        hasher.start()
        let thread = Thread { [self] in run() }
        thread.name = "ledger-writer"
        thread.start()
    }

    /// Appends one atomic batch (or the events a decision returns); returns after the commit
    /// that carried it.
    func submit(_ work: Work) async throws -> AppendResult {
        try await withCheckedThrowingContinuation { continuation in
            do {
                try enqueue(Request(work: work, reply: .resume(continuation)))
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }

    /// Queues `work` behind everything queued before it and returns at once; `reply` gets the
    /// outcome after the commit. Throws (and never calls `reply`) once the log is closing. Takes
    /// only the queue's lock, so callers may hold their own locks around it (the order of their
    /// calls is then the order in the log).
    func enqueue(_ work: Work, reply: @escaping AppendReply) throws {
        try enqueue(Request(work: work, reply: .call(reply)))
    }

    private func enqueue(_ request: Request) throws {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { throw LedgerError.notWritable(reason: "the log is closing") }
        pending.append(request)
        pendingEvents += request.eventCount
        condition.signal()
    }

    /// Drains queued appends, writes the whole overlay to the index, and stops both threads.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
        finished.wait()
    }

    private func run() {
        while true {
            let (group, stop) = takeGroup()
            if !group.isEmpty {
                rotateOverlayIfDue(force: false)
                commit(group)
            } else {
                rotateOverlayIfDue(force: false)
            }
            if stop { break }
        }
        flushEverything()
        flusher.stop()
        hasher.stop()
        finished.signal()
    }

    /// Waits for requests and takes as many whole requests as fit the commit limits.
    private func takeGroup() -> ([Request], stop: Bool) {
        condition.lock()
        defer { condition.unlock() }
        let idleDeadline = Date(timeIntervalSinceNow: Double(options.indexFlushIntervalMilliseconds) / 1000)
        while pending.isEmpty && !stopping {
            if !condition.wait(until: idleDeadline) { return ([], false) }
        }
        if options.commitLingerMicroseconds > 0, !stopping, pendingEvents < LogLimits.commitEventsMax {
            let lingerDeadline = Date(timeIntervalSinceNow: Double(options.commitLingerMicroseconds) / 1_000_000)
            _ = condition.wait(until: lingerDeadline)
        }
        var taken = 0, bytes = 0, count = 0
        for request in pending {
            let size = request.payloadBytes
            if count > 0 && (taken + request.eventCount > LogLimits.commitEventsMax || bytes + size > LogLimits.commitBytesMax) { break }
            taken += request.eventCount
            bytes += size
            count += 1
        }
        let group = Array(pending.prefix(count))
        pending.removeFirst(count)
        pendingEvents -= taken
        return (group, stopping && pending.isEmpty)
    }

    // MARK: Commit

    private func commit(_ requests: [Request]) {
        do {
            try store.env.growIfFuller(than: LogLimits.mapGrowAheadFraction)
        } catch {
            logger.warning("growing the map ahead of need failed; a full map grows at commit", metadata: ["error": "\(error)"])
        }
        var outcomes: [Result<AppendResult, any Error>] = []
        var staged = StagedGroup(position: head, hash: headHash, recordedAt: max(Self.nowMicros(), lastRecordedAt))
        do {
            try index.env.read { indexTxn in
                try store.env.write { txn in
                    // The body may run again after the map grew: start from the committed state.
                    staged = StagedGroup(position: head, hash: headHash, recordedAt: staged.recordedAt)
                    outcomes = []
                    observer?.groupStarted()
                    for (i, request) in requests.enumerated() {
                        outcomes.append(try stage(request.work, txn: txn, indexTxn: indexTxn, staged: &staged,
                                                  laterRequests: i < requests.count - 1))
                    }
                }
            }
        } catch {
            let failure = LedgerError.wrap(error, mapSizeMaxBytes: store.env.options.mapSizeMaxBytes)
            logger.error("commit failed", metadata: ["error": "\(failure)", "requests": "\(requests.count)"])
            observer?.groupEnded(committed: false)
            for request in requests { request.answer(.failure(failure)) }
            return
        }
        observer?.groupEnded(committed: true)
        precondition(staged.position >= head, "the head never moves back")
        let committedEvents = Int(staged.position - head)
        counters.withLock { $0.commits += 1; $0.events += committedEvents }
        commitSizeObserver.withLock { $0 }?(committedEvents)
        // The time of the last event written (a group that wrote nothing leaves it).
        if let replicated = staged.replicatedRecordedAt {
            lastRecordedAt = replicated
        } else if staged.position > head {
            lastRecordedAt = staged.recordedAt
        }
        head = staged.position
        headHash = staged.hash
        if !staged.indexed.isEmpty {
            // Keys go straight into the key table (committed events only), so that a lookup is
            // one probe there instead of three (overlay generations, then the table). Should the
            // table fail to take them (it could not grow), the overlay holds them as before.
            let keysInTable = insertKeys(staged.indexed)
            overlay.withLock { state in
                if keysInTable {
                    for entry in staged.indexed { state.active.recordHead(entry) }
                } else {
                    for entry in staged.indexed { state.active.record(entry) }
                }
            }
            if !keysInTable { overlayHoldsKeys = true }
            for entry in staged.indexed { rememberHead(entry.member, hash: entry.memberHash, entry.head) }
        }
        signal.publish(head: head)
        for (request, outcome) in zip(requests, outcomes) {
            switch outcome {
            case .success(var result):
                result.headPosition = head
                request.answer(.success(result))
            case .failure(let error):
                request.answer(.failure(error))
            }
        }
    }

    /// Validates one caller's batch against everything committed or staged before it, then writes
    /// it. A batch that fails validation writes nothing and leaves `staged` untouched.
    private func stage(_ work: Work, txn: LMDBTransaction, indexTxn: LMDBTransaction,
                       staged: inout StagedGroup, laterRequests: Bool) throws -> Result<AppendResult, any Error> {
        let drafts: [EventDraft]
        switch work {
        case let .events(batch):
            drafts = batch
        case let .replicate(records):
            return try stageReplicated(records, txn: txn, indexTxn: indexTxn, staged: &staged)
        case let .decide(decision):
            do {
                drafts = try decision()
            } catch {
                return .failure(error)  // the decision's own (domain) error, nothing staged
            }
            if drafts.isEmpty { return .success(AppendResult(events: [], headPosition: staged.position)) }
        case let .neutralise(draft, n):
            if let refusal = try neutralisationRefusal(n, txn: txn, staged: staged) { return .failure(refusal) }
            drafts = [draft]
        }
        guard (1...LogLimits.batchEventsMax).contains(drafts.count) else {
            return .failure(LedgerError.invalidBatchSize(count: drafts.count, max: LogLimits.batchEventsMax))
        }
        var plan = BatchPlan()
        let warmed = drafts.count >= Self.warmBatchMin
        if warmed { warm(drafts) }
        // A large batch: each planned event is encoded at once and handed to the chain hasher,
        // which hashes it while this thread plans the next ones.
        let pipelined = drafts.count >= ChainHasher.batchMin
        if pipelined {
            hasher.begin(count: drafts.count, bytes: Self.recordBytesBound(drafts), after: staged.hash, position: staged.position + 1)
        }
        for i in drafts.indices {  // (indices, not `enumerated()`: no copy of each draft)
            do {
                try EventDraftValidation.validate(drafts[i], index: i)
                let hashes = warmed ? draftHashes[i] : DraftHashes(drafts[i])
                try planEvent(drafts[i], index: i, hashes: hashes, drafts: drafts, txn: txn, indexTxn: indexTxn,
                              staged: staged, plan: &plan)
                if pipelined && plan.newEvents.count > hasher.written, let event = plan.newEvents.last {
                    encodeRecord(event, drafts: drafts, recordedAt: staged.recordedAt)
                    recordScratch.withUnsafeBytes { hasher.publish($0) }
                }
            } catch let error as LedgerError {
                if pipelined { hasher.abandon() }
                return .failure(error)
            } catch let error as LMDBError {
                if pipelined { hasher.abandon() }
                throw error  // the transaction is unusable: fail (or, for a full map, retry) the group
            } catch {
                if pipelined { hasher.abandon() }
                return .failure(LedgerError.wrap(error, mapSizeMaxBytes: store.env.options.mapSizeMaxBytes))
            }
        }
        // A failed put leaves the transaction unusable: it propagates and fails the whole group,
        // or, for a full map, makes `LMDBEnvironment.write` grow the map and run the group again.
        if pipelined {
            try writePipelined(plan, drafts: drafts, txn: txn, staged: &staged, laterRequests: laterRequests)
        } else {
            try write(plan, drafts: drafts, txn: txn, staged: &staged, laterRequests: laterRequests)
        }
        if case let .neutralise(_, n) = work, let written = plan.newEvents.first, let neutralised = store.neutralised {
            try txn.put(neutralised, key: ByteCoding.positionKey(n), value: ByteCoding.positionKey(written.position))
        }
        if let observer, !plan.newEvents.isEmpty {
            observer.staged(StagedEvents(drafts: drafts, planned: plan.newEvents, recordedAt: staged.recordedAt))
        }
        return .success(AppendResult(events: plan.outcomes.enumerated().map { i, outcome in
            var o = outcome
            if !o.deduplicated || plan.sameBatchReplays.contains(i) { o.recordedAt = staged.recordedAt }
            return o
        }, headPosition: staged.position))
    }

    /// Batches at least this long get a `warm` pass first (for a single event it would only add work).
    static let warmBatchMin = 8

    /// Hashes each draft's member and key once, then loads the slots the lookups will need (the
    /// member-head tables, the key table): a batch of 1,000 events spread over 100,000 members
    /// and millions of keys takes several cache misses per event, and issued together they overlap.
    private func warm(_ drafts: [EventDraft]) {
        draftHashes.removeAll(keepingCapacity: true)
        var sink: UInt64 = 0
        for i in drafts.indices {
            let h = DraftHashes(drafts[i])
            draftHashes.append(h)
            sink &+= knownHeads.touch(h.member)
        }
        sink &+= index.touchKeys(draftHashes.lazy.compactMap(\.key))
        sink &+= overlay.withLock { state in
            var s: UInt64 = 0
            for h in draftHashes { s &+= state.active.members.touch(h.member) }
            return s
        }
        warmSink = sink
    }

    private func planEvent(_ draft: EventDraft, index i: Int, hashes: DraftHashes, drafts: [EventDraft], txn: LMDBTransaction,
                           indexTxn: LMDBTransaction, staged: StagedGroup, plan: inout BatchPlan) throws {
        var keyHash: UInt64?
        if let key = draft.idempotencyKey, let hash = hashes.key {
            keyHash = hash
            if plan.pendingKeys.contains(hash),
               let earlier = plan.newEvents.firstIndex(where: { drafts[$0.draftIndex].idempotencyKey == key }) {
                // The same key twice in one batch: the second is a replay of the first, or a conflict.
                let first = plan.newEvents[earlier]
                // The same comparison as for a key from an earlier batch (expectedVersion is not
                // part of the request's identity). Position 0: the first is in this very batch.
                guard drafts[first.draftIndex].isSameRequest(draft) else {
                    throw LedgerError.idempotencyConflict(key: key, position: 0, eventIndex: i)
                }
                plan.outcomes.append(AppendedEvent(position: first.position, version: first.version, recordedAt: 0, deduplicated: true))
                plan.sameBatchReplays.insert(plan.outcomes.count - 1)
                return
            }
            if let original = try findKeyed(key: key, hash: hash, txn: txn, indexTxn: indexTxn, staged: staged) {
                guard original.isSameRequest(as: draft) else {
                    throw LedgerError.idempotencyConflict(key: key, position: original.position, eventIndex: i)
                }
                plan.outcomes.append(AppendedEvent(position: original.position, version: original.version,
                                                   recordedAt: original.recordedAt, deduplicated: true))
                return
            }
        }
        let memberHash = hashes.member
        let current = try (plan.members.count > 0 ? plan.members[draft.member, memberHash] : nil)
            ?? memberHead(draft.member, hash: memberHash, indexTxn: indexTxn, staged: staged)
        let actual = current?.version ?? 0
        if let expected = draft.expectedVersion, expected != actual {
            throw LedgerError.wrongExpectedVersion(member: draft.member, expected: expected, actual: actual, eventIndex: i)
        }
        let position = staged.position + UInt64(plan.newEvents.count) + 1
        let next = MemberHead(version: actual + 1, position: position)
        plan.members[draft.member, memberHash] = next
        if let keyHash { plan.pendingKeys.insert(keyHash) }
        plan.newEvents.append(.init(draftIndex: i, position: position, version: next.version,
                                    previousDelta: current.map { position - $0.position } ?? 0,
                                    memberHash: memberHash, keyHash: keyHash))
        plan.outcomes.append(AppendedEvent(position: position, version: next.version, recordedAt: 0, deduplicated: false))
    }

    /// Puts the plan's records. The group's member heads and keys are only needed by requests
    /// staged after this one, so the last request of a group (every bulk batch) skips them.
    private func write(_ plan: BatchPlan, drafts: [EventDraft], txn: LMDBTransaction, staged: inout StagedGroup,
                       laterRequests: Bool) throws {
        var key = [UInt8](repeating: 0, count: 8)
        for event in plan.newEvents {
            precondition(event.position == staged.position + 1, "positions are gapless")
            encodeRecord(event, drafts: drafts, recordedAt: staged.recordedAt)
            Self.storeBigEndian(event.position, into: &key)
            let hash = recordScratch.withUnsafeBytes { staged.hash.next(position: event.position, record: $0) }
            try key.withUnsafeBytes { k in
                try recordScratch.withUnsafeBytes { v in try txn.put(store.events, key: k, value: v, flags: .append) }
            }
            if event.position % LogLimits.chainCheckpointInterval == 0 {
                try putCheckpoint(hash, at: event.position, key: &key, txn: txn)
            }
            staged.hash = hash
            stageWritten(event, drafts: drafts, staged: &staged, laterRequests: laterRequests)
        }
    }

    /// `write` for a batch whose records the chain hasher holds (encoded during planning): puts
    /// them, then waits for the hasher and puts the chain checkpoints it computed.
    private func writePipelined(_ plan: BatchPlan, drafts: [EventDraft], txn: LMDBTransaction, staged: inout StagedGroup,
                                laterRequests: Bool) throws {
        precondition(hasher.written == plan.newEvents.count, "every new event was handed to the hasher")
        var key = [UInt8](repeating: 0, count: 8)
        do {
            for (j, event) in plan.newEvents.enumerated() {
                precondition(event.position == staged.position + 1, "positions are gapless")
                Self.storeBigEndian(event.position, into: &key)
                try key.withUnsafeBytes { k in try txn.put(store.events, key: k, value: hasher.record(j), flags: .append) }
                stageWritten(event, drafts: drafts, staged: &staged, laterRequests: laterRequests)
            }
        } catch {
            hasher.abandon()
            throw error
        }
        let (head, checkpoints) = hasher.finish()
        for checkpoint in checkpoints { try putCheckpoint(checkpoint.hash, at: checkpoint.position, key: &key, txn: txn) }
        staged.hash = head
    }

    /// Encodes the record of a planned event into `recordScratch`.
    private func encodeRecord(_ event: BatchPlan.NewEvent, drafts: [EventDraft], recordedAt: Int64) {
        recordScratch.removeAll(keepingCapacity: true)
        // (read in place: a `let` copy of the draft costs four retains)
        EventRecord.encode(drafts[event.draftIndex], recordedAt: recordedAt, version: event.version,
                           previousDelta: event.previousDelta, into: &recordScratch)
    }

    func putCheckpoint(_ hash: ChainHash, at position: UInt64, key: inout [UInt8], txn: LMDBTransaction) throws {
        Self.storeBigEndian(position, into: &key)
        try key.withUnsafeBytes { k in
            try hash.withUnsafeBytes { v in try txn.put(store.chain, key: k, value: v, flags: .append) }
        }
    }

    /// What the group remembers of an event just put (its hash is set by the caller).
    private func stageWritten(_ event: BatchPlan.NewEvent, drafts: [EventDraft], staged: inout StagedGroup, laterRequests: Bool) {
        let d = event.draftIndex
        staged.position = event.position
        let head = MemberHead(version: event.version, position: event.position)
        if laterRequests {
            staged.members[drafts[d].member, event.memberHash] = head
            if let h = event.keyHash { staged.keys.add(hash: h, position: event.position) }
        }
        staged.indexed.append(StagedEntry(member: drafts[d].member, memberHash: event.memberHash, head: head, keyHash: event.keyHash))
    }

    /// An upper bound of the record bytes of `drafts` (EventRecord.encode: two bytes, two u64, eight
    /// varints of at most 10 bytes, and the texts and data).
    private static func recordBytesBound(_ drafts: [EventDraft]) -> Int {
        var total = 0
        for i in drafts.indices {
            total += 2 + 16 + 8 * 10 + drafts[i].type.utf8.count + drafts[i].member.utf8.count
                + (drafts[i].idempotencyKey?.utf8.count ?? 0) + (drafts[i].actor?.utf8.count ?? 0) + drafts[i].data.count
        }
        return total
    }

    /// Puts the keys of a committed group into the key table; false (logged) when it failed.
    private func insertKeys(_ entries: [StagedEntry]) -> Bool {
        keyEntries.removeAll(keepingCapacity: true)
        for entry in entries {
            if let hash = entry.keyHash { keyEntries.append((hash, entry.head.position)) }
        }
        guard !keyEntries.isEmpty else { return true }
        do {
            try index.insertKeys(keyEntries)
            return true
        } catch {
            logger.error("key table insert failed; the keys stay in memory until the index is written",
                         metadata: ["error": "\(error)", "keys": "\(keyEntries.count)"])
            return false
        }
    }

    /// The stored event carrying `key`, if any: staged in this group, in the key table, or (after a
    /// failed insert) in the overlay.
    func findKeyed(key: String, hash: UInt64, txn: LMDBTransaction, indexTxn: LMDBTransaction,
                           staged: StagedGroup) throws -> RecordedEvent? {
        var candidates: [UInt64] = []
        if staged.keys.count > 0 { staged.keys.positions(hash, into: &candidates) }
        committedKeyPositions(hash, into: &candidates, overlay: overlayHoldsKeys)
        return try store.event(withKey: key, among: candidates, through: staged.position, txn: txn)
    }

    /// Positions of committed events whose key may hash to `hash` (fingerprint matches): the key
    /// table's, and with `overlay` the overlay's (it holds keys only after a failed table insert;
    /// callers off the writer thread cannot know, so they ask for both).
    func committedKeyPositions(_ hash: UInt64, into candidates: inout [UInt64], overlay: Bool) {
        if overlay {
            self.overlay.withLock { state in
                state.active.keys.positions(hash, into: &candidates)
                state.frozen?.keys.positions(hash, into: &candidates)
            }
        }
        index.keyPositions(hash: hash, into: &candidates)
    }

    func memberHead(_ member: String, hash: UInt64, indexTxn: LMDBTransaction, staged: StagedGroup) throws -> MemberHead? {
        if staged.members.count > 0, let head = staged.members[member, hash] { return head }
        if let known = knownHeads[member, hash] { return known }
        let cached = overlay.withLock { state in state.active.members[member, hash] ?? state.frozen?.members[member, hash] }
        // Committed state either way (the overlay is recorded before the next group stages).
        guard let committed = try cached ?? index.memberHead(indexTxn, member: member) else { return nil }
        rememberHead(member, hash: hash, committed)
        return committed
    }

    /// Records a committed head in `knownHeads` (updates always; new members while under the bound).
    private func rememberHead(_ member: String, hash: UInt64, _ head: MemberHead) {
        if knownHeads.count < LogLimits.writerMemberHeadsMax || knownHeads[member, hash] != nil {
            assert(knownHeads[member, hash].map { $0.version <= head.version } ?? true, "stream heads only move forward")
            knownHeads[member, hash] = head
        }
    }

    @inline(__always)
    static func storeBigEndian(_ value: UInt64, into key: inout [UInt8]) {
        var v = value
        for i in stride(from: 7, through: 0, by: -1) {
            key[i] = UInt8(truncatingIfNeeded: v)
            v >>= 8
        }
    }

    static func nowMicros() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1_000
    }

    // MARK: Index overlay

    /// Hands the active generation to the flusher when it is big or old enough (or on `force`).
    /// Runs on the writer thread between groups: the only place `frozen` is replaced or dropped.
    private func rotateOverlayIfDue(force: Bool) {
        let due = force || ContinuousClock.now - lastRotationAt >= .milliseconds(options.indexFlushIntervalMilliseconds)
        var mustWait = false
        let rotated = overlay.withLock { state -> Bool in
            if state.frozenWritten {
                state.frozen = nil
                state.frozenWritten = false
            }
            let size = state.active.entryCount
            if state.frozen != nil {
                mustWait = size >= options.indexOverlayEntriesMax
                return false
            }
            guard size > 0, due || size >= options.indexFlushEntries else { return false }
            state.frozen = state.active
            // Sized like the last one, so that it does not rehash as it fills.
            state.active = IndexGeneration(reservingLike: state.active)
            return true
        }
        if rotated {
            lastRotationAt = .now
            flusher.wake()
        } else if mustWait {
            // Back-pressure: memory is bounded; wait for the flusher before taking more appends.
            flusher.waitUntilIdle()
            rotateOverlayIfDue(force: force)
        }
    }

    /// At close: write whatever the overlay holds, on this thread, after the flusher is idle.
    private func flushEverything() {
        flusher.waitUntilIdle()
        let generations = overlay.withLock { state -> [IndexGeneration] in
            var out: [IndexGeneration] = []
            if let frozen = state.frozen, !state.frozenWritten { out.append(frozen) }
            if state.active.entryCount > 0 { out.append(state.active) }
            return out
        }
        do {
            for generation in generations { try index.write(generation) }
            overlay.withLock { $0 = OverlayState() }
        } catch {
            logger.error("index flush at close failed; it is rebuilt from the log at next open", metadata: ["error": "\(error)"])
        }
    }
}

/// Decides, on the writer thread, which events to append: it runs after every earlier request of
/// its commit group was staged, so decisions never race. It must not block or await.
public typealias AppendDecision = @Sendable () throws -> [EventDraft]

/// Receives an append's outcome, on the writer thread: it must return quickly and must not wait
/// for the writer.
public typealias AppendReply = @Sendable (Result<AppendResult, any Error>) -> Void

/// Follows commit groups on the writer thread, so that an in-memory model can apply what each
/// request staged at once (later decisions in the group see it) and drop it if the group fails.
public protocol CommitObserver: AnyObject, Sendable {
    /// A group starts, or starts again after the map grew: forget anything staged before.
    func groupStarted()
    /// One request's new events were staged (in order, with positions and versions).
    func staged(_ events: StagedEvents)
    /// The group committed (keep what was staged) or failed (drop it).
    func groupEnded(committed: Bool)
}

/// One request's staged events, as `RecordedEvent`s made on demand: an observer that applied the
/// events already (a batch decision) only needs each one's position and key, so no copy of an
/// event is built unless asked for.
public struct StagedEvents: RandomAccessCollection, Sendable {
    let drafts: [EventDraft]
    let planned: [BatchPlan.NewEvent]
    let recordedAt: Int64

    public var startIndex: Int { 0 }
    public var endIndex: Int { planned.count }

    public subscript(i: Int) -> RecordedEvent {
        let e = planned[i]
        let d = drafts[e.draftIndex]
        return RecordedEvent(position: e.position, recordedAt: recordedAt, occurredAt: d.occurredAt, type: d.type,
                             schemaVersion: d.schemaVersion, member: d.member, version: e.version,
                             previousPosition: e.previousDelta == 0 ? nil : e.position - e.previousDelta,
                             idempotencyKey: d.idempotencyKey, actor: d.actor, data: d.data, hash: nil)
    }

    /// The position of event `i` (no copy of the event).
    public func position(_ i: Int) -> UInt64 { planned[i].position }

    /// The idempotency key of event `i` (no copy of the event).
    public func idempotencyKey(_ i: Int) -> String? { drafts[planned[i].draftIndex].idempotencyKey }
}

/// What one commit group has written so far (the transaction is not committed yet).
struct StagedGroup {
    var position: UInt64
    var hash: ChainHash
    let recordedAt: Int64
    var members = MemberTable()
    var keys = KeyPositions()
    var indexed: [StagedEntry] = []
    /// The `recordedAt` of the last replicated record staged (they carry their own times).
    var replicatedRecordedAt: Int64?

    init(position: UInt64, hash: ChainHash, recordedAt: Int64) {
        self.position = position
        self.hash = hash
        self.recordedAt = recordedAt
    }
}

/// A draft's member and idempotency-key hashes (`KeyHash`), computed once per event.
struct DraftHashes {
    let member: UInt64
    let key: UInt64?

    init(_ draft: EventDraft) {
        member = KeyHash.of(draft.member)
        key = draft.idempotencyKey.map(KeyHash.of)
    }
}

/// One caller's batch, validated but not yet written.
struct BatchPlan {
    struct NewEvent: Sendable {
        let draftIndex: Int
        let position: UInt64
        let version: UInt64
        let previousDelta: UInt64
        let memberHash: UInt64
        let keyHash: UInt64?
    }
    var newEvents: [NewEvent] = []
    var outcomes: [AppendedEvent] = []
    var members = MemberTable()
    /// Key hashes of this batch's new events: a hit means the key may repeat inside the batch
    /// (then `newEvents` is searched for it; rare).
    var pendingKeys = Set<UInt64>()
    /// Outcomes that replay an event of this same batch (their recordedAt is this commit's).
    var sameBatchReplays = Set<Int>()
}

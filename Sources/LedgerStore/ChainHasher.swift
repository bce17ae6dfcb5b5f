import Foundation
import Synchronization

/// Hashes the chain of a large batch on a second thread while the writer thread is still
/// planning and encoding the batch's later events.
///
/// The chain is sequential (`h(n)` needs `h(n-1)`), but it is the only thing that needs it: the
/// writer plans event `n`, encodes its record into `arena`, publishes it, and moves on to `n+1`,
/// while this thread hashes every published record in order. SHA-256 is a large part of the
/// writer's CPU per event, and in a bulk append the appender waits on the commit, so a core is free.
///
/// Protocol (one job at a time, all calls but `run` on the writer thread):
/// `begin` (the thread is idle: the arena may be resized) → `publish` after each record is
/// fully written → `finish` (waits until every published record is hashed; returns the head hash
/// and the checkpoint hashes) or `abandon` (the batch failed validation: stop and wait). Records
/// are never moved or overwritten while a job runs; this thread only reads published bytes.
final class ChainHasher: @unchecked Sendable {
    // @unchecked: `arena`, `ends` and the job fields are written by the writer thread only while
    // no job runs (before `begin` signals, after `finish`/`abandon` saw `idle`), and read by the
    // hasher thread only during a job, each record only after `published` says it is complete.
    // The atomics carry the happens-before edges.

    /// Batches at least this long are hashed on the second thread.
    static let batchMin = 64
    /// The hasher, having caught up, sleeps until this many more records are published (or the
    /// batch ends) rather than spin: a spinning thread takes a core's share from the appender,
    /// and one wake-up per chunk costs the writer a few microseconds.
    static let wakeEvery = 128
    /// The writer spins this often, then yields this often, then sleeps until the hasher's last
    /// chunk is done: with both cores busy (an import), a writer that kept yielding would keep
    /// a core the hasher needs.
    private static let spinsBeforeYield = 200
    private static let yieldsBeforeSleep = 4

    private var arena: UnsafeMutableRawPointer
    private var arenaBytes: Int
    /// `ends[i]`: end offset of record `i` in `arena` (record `i` starts at `ends[i-1]`, or 0).
    private var ends: UnsafeMutablePointer<Int>
    private var endsCapacity: Int
    private(set) var written = 0

    private var startHash = ChainHash.genesis
    private var firstPosition: UInt64 = 1
    private var resultHash = ChainHash.genesis
    private var resultCheckpoints: [(position: UInt64, hash: ChainHash)] = []

    private let published = Atomic<Int>(0)
    private let cancelled = Atomic<Bool>(false)
    /// Job number the thread finished last; `jobsStarted` the last one handed to it.
    private let jobsDone = Atomic<Int>(0)
    private var jobsStarted = 0
    private let condition = NSCondition()
    /// True while the hasher thread waits in `condition` for records (read by the writer to
    /// decide whether a chunk needs a wake-up; see `publish`).
    private let sleeping = Atomic<Bool>(false)
    /// True while the writer sleeps in `doneCondition` until the job ends (see `waitIdle`).
    private let writerSleeping = Atomic<Bool>(false)
    private let doneCondition = NSCondition()
    private var pendingJob = false
    private var stopping = false
    private let stopped = DispatchSemaphore(value: 0)

    init() {
        arenaBytes = 1 << 20
        arena = .allocate(byteCount: arenaBytes, alignment: 16)
        endsCapacity = 4096
        ends = .allocate(capacity: endsCapacity)
    }

    deinit {
        arena.deallocate()
        ends.deallocate()
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "ledger-chain-hasher"
        thread.start()
    }

    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
        stopped.wait()
    }

    /// Starts a job of at most `count` records of at most `bytes` bytes in all, chained after
    /// `hash` from `position`.
    func begin(count: Int, bytes: Int, after hash: ChainHash, position: UInt64) {
        precondition(jobsDone.load(ordering: .acquiring) == jobsStarted, "one chain job at a time")
        if bytes > arenaBytes {
            arena.deallocate()
            arenaBytes = max(bytes, arenaBytes * 2)
            arena = .allocate(byteCount: arenaBytes, alignment: 16)
        }
        if count > endsCapacity {
            ends.deallocate()
            endsCapacity = max(count, endsCapacity * 2)
            ends = .allocate(capacity: endsCapacity)
        }
        written = 0
        startHash = hash
        firstPosition = position
        resultCheckpoints.removeAll(keepingCapacity: true)
        published.store(0, ordering: .relaxed)
        cancelled.store(false, ordering: .relaxed)
        jobsStarted += 1
        condition.lock()
        pendingJob = true
        condition.signal()
        condition.unlock()
    }

    /// Copies the next record into the arena and hands it to the hasher thread.
    func publish(_ record: UnsafeRawBufferPointer) {
        let start = written == 0 ? 0 : ends[written - 1]
        precondition(written < endsCapacity && start + record.count <= arenaBytes, "chain job sized by begin()")
        if let base = record.baseAddress { (arena + start).copyMemory(from: base, byteCount: record.count) }
        ends[written] = start + record.count
        written += 1
        // Sequentially consistent with the hasher's `sleeping` store and `published` load: one
        // of the two sides sees the other's store, so a chunk is never left unhashed.
        published.store(written, ordering: .sequentiallyConsistent)
        if written % Self.wakeEvery == 0 { wakeIfSleeping() }
    }

    private func wakeIfSleeping() {
        guard sleeping.load(ordering: .sequentiallyConsistent) else { return }
        condition.lock()
        condition.signal()
        condition.unlock()
    }

    /// The record `i` as published (for the writer's put).
    func record(_ i: Int) -> UnsafeRawBufferPointer {
        let start = i == 0 ? 0 : ends[i - 1]
        return UnsafeRawBufferPointer(start: arena + start, count: ends[i] - start)
    }

    /// Waits until every published record is hashed: the hash after the last one, and the hash at
    /// each position that is a multiple of `LogLimits.chainCheckpointInterval`.
    func finish() -> (head: ChainHash, checkpoints: [(position: UInt64, hash: ChainHash)]) {
        cancelled.store(true, ordering: .sequentiallyConsistent)  // no more records: stop once all are hashed
        wakeIfSleeping()
        waitIdle()
        return (resultHash, resultCheckpoints)
    }

    /// Drops the job (its batch was refused): ends it like `finish` and ignores its result.
    func abandon() { _ = finish() }

    private func waitIdle() {
        var spins = 0
        while jobsDone.load(ordering: .acquiring) != jobsStarted {
            spins += 1
            guard spins > Self.spinsBeforeYield else { continue }
            guard spins > Self.spinsBeforeYield + Self.yieldsBeforeSleep else {
                sched_yield()
                continue
            }
            // Sequentially consistent with the hasher's `jobsDone` increment and `writerSleeping`
            // load: either it sees this flag and signals, or this thread sees the job done.
            doneCondition.lock()
            writerSleeping.store(true, ordering: .sequentiallyConsistent)
            while jobsDone.load(ordering: .sequentiallyConsistent) != jobsStarted { doneCondition.wait() }
            writerSleeping.store(false, ordering: .sequentiallyConsistent)
            doneCondition.unlock()
        }
    }

    private func run() {
        while true {
            condition.lock()
            while !pendingJob && !stopping { condition.wait() }
            if !pendingJob {
                condition.unlock()
                break
            }
            pendingJob = false
            condition.unlock()
            hashJob()
            jobsDone.add(1, ordering: .sequentiallyConsistent)
            if writerSleeping.load(ordering: .sequentiallyConsistent) {
                doneCondition.lock()
                doneCondition.signal()
                doneCondition.unlock()
            }
        }
        stopped.signal()
    }

    /// Hashes records in order as they are published, until cancelled with none left.
    private func hashJob() {
        var hash = startHash
        var i = 0
        while true {
            let available = published.load(ordering: .acquiring)
            if i < available {
                while i < available {
                    let position = firstPosition + UInt64(i)
                    hash = hash.next(position: position, record: record(i))
                    if position % LogLimits.chainCheckpointInterval == 0 { resultCheckpoints.append((position, hash)) }
                    i += 1
                }
                continue
            }
            // Cancelled is set after the last publish: re-read `published` once more after seeing it.
            if cancelled.load(ordering: .acquiring) {
                if published.load(ordering: .acquiring) == i { break }
                continue
            }
            sleepUntilChunk(after: i)
        }
        resultHash = hash
    }

    /// Waits until the chunk after record `i` is complete or the job ends. The writer signals at
    /// every multiple of `wakeEvery` and at the end, when it sees `sleeping`; the stores and loads
    /// on both sides are sequentially consistent, and the signal is sent under the lock this
    /// thread holds until it waits, so no wake-up is lost.
    private func sleepUntilChunk(after i: Int) {
        let target = (i / Self.wakeEvery + 1) * Self.wakeEvery
        condition.lock()
        sleeping.store(true, ordering: .sequentiallyConsistent)
        while published.load(ordering: .sequentiallyConsistent) < target && !cancelled.load(ordering: .sequentiallyConsistent) {
            condition.wait()
        }
        sleeping.store(false, ordering: .sequentiallyConsistent)
        condition.unlock()
    }
}

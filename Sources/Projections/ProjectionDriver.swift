import LedgerStore
import LoyaltyDomain

/// Progress of a catch-up or rebuild: projection name, events done, events to do.
public typealias ProjectionProgress = (_ name: String, _ done: UInt64, _ total: UInt64) -> Void

/// One projection's workers behind a type-erased face, so the runner can hold several folds.
protocol ProjectionDriving: AnyObject {
    var name: String { get }
    var version: Int { get }
    /// Brings the live projection up to the head (creating it, or rebuilding it when its version
    /// changed or the log was replaced). Returns the events applied.
    func catchUp(eventsPerStep: Int, progress: ProjectionProgress?) throws -> UInt64
    /// One bounded live step (for the following service). Returns the events applied.
    func liveStep(eventsMax: Int) throws -> Int
    /// The checkpoint the live worker last committed or read (0: none yet).
    var liveCheckpoint: UInt64 { get }
    /// Builds from position 0 into the other table while the live one keeps answering, then swaps.
    func rebuild(eventsPerStep: Int, progress: ProjectionProgress?) throws
    /// A fresh fold in memory through `through`, digested like the stored table.
    func digestOfFreshFold(through: UInt64) throws -> (entries: Int, digest: String)
}

final class ProjectionDriver<F: ProjectionFold>: ProjectionDriving {
    let store: ProjectionStore
    let log: EventLog
    let live: ProjectionWorker<F>

    init(store: ProjectionStore, log: EventLog) {
        self.store = store
        self.log = log
        live = ProjectionWorker<F>(store: store, log: log, role: .live)
    }

    var name: String { F.name }
    var version: Int { F.version }
    var liveCheckpoint: UInt64 { live.expected?.checkpoint ?? 0 }

    func catchUp(eventsPerStep: Int, progress: ProjectionProgress?) throws -> UInt64 {
        let meta = try store.meta(F.name, .live)
        if meta == nil {
            // The first build of this projection: build it, then it is live.
            try rebuild(eventsPerStep: eventsPerStep, progress: progress)
            return try store.meta(F.name, .live)?.checkpoint ?? 0
        }
        if let meta, try meta.version != F.version || meta.checkpoint > log.headPosition() {
            try rebuild(eventsPerStep: eventsPerStep, progress: progress)
            return try store.meta(F.name, .live)?.checkpoint ?? 0
        }
        let from = meta?.checkpoint ?? 0
        var applied: UInt64 = 0
        let head = try log.headPosition()
        while true {
            let n = try live.step(eventsMax: eventsPerStep)
            if n == 0 { break }
            applied += UInt64(n)
            progress?(F.name, applied, max(head, from + applied) - from)
        }
        return applied
    }

    func liveStep(eventsMax: Int) throws -> Int {
        do {
            return try live.step(eventsMax: eventsMax)
        } catch let error as ProjectionError {
            guard case .aheadOfLog = error else { throw error }
            try rebuild(eventsPerStep: eventsMax, progress: nil)
            return 1
        }
    }

    func rebuild(eventsPerStep: Int, progress: ProjectionProgress?) throws {
        // A build left by a process that stopped resumes if it is of this version.
        if try store.meta(F.name, .build)?.version != F.version {
            _ = try ProjectionWorker<F>.startBuild(store: store)
        }
        let builder = ProjectionWorker<F>(store: store, log: log, role: .build)
        while true {
            let target = try log.headPosition()
            let n = try builder.step(eventsMax: eventsPerStep)
            if let b = try store.meta(F.name, .build) { progress?(F.name, b.checkpoint, max(target, b.checkpoint)) }
            if n == 0, try swapIfCaughtUp() { return }
        }
    }

    /// Makes the build live if it has reached the head (checked in the swapping transaction, so
    /// nothing committed meanwhile is missed), then empties the old table.
    private func swapIfCaughtUp() throws -> Bool {
        let head = try log.headPosition()
        let old: ProjectionMeta?? = try store.env.write { txn in
            guard let b = try store.meta(F.name, .build, txn: txn), b.checkpoint >= head else { return .none }
            let previous = try store.meta(F.name, .live, txn: txn)
            try store.putMeta(b, F.name, .live, txn: txn)
            try store.putMeta(nil, F.name, .build, txn: txn)
            return .some(previous)
        }
        guard let old else { return false }
        if let old, old.slot != (try store.meta(F.name, .live))?.slot {
            try store.env.write { txn in
                // Only if no new build started in that table meanwhile.
                if try store.meta(F.name, .build, txn: txn) == nil { try txn.clear(store.table(F.name, slot: old.slot)) }
            }
        }
        return true
    }

    func digestOfFreshFold(through: UInt64) throws -> (entries: Int, digest: String) {
        let fold = F()
        let state = FoldState<F.Value>()
        var position: UInt64 = 0
        while position < through {
            let batch = try log.events(after: position, limit: Int(min(through - position, 4_096)))
            guard !batch.isEmpty else { break }
            for e in batch {
                position = e.position
                if let pe = try ProjectionEvent.decode(e) { try fold.apply(pe, to: state) }
            }
        }
        var digest = ProjectionDigest()
        for (key, value) in state.dirtyEntries(F.encoded) {
            guard let value else { continue }
            Array(key.utf8).withUnsafeBytes { k in value.withUnsafeBytes { v in digest.add(key: k, value: v) } }
        }
        return (digest.count, digest.hex)
    }
}

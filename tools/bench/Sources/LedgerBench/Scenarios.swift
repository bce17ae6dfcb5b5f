import Foundation
import Histogram
import LedgerStore
import Synchronization

final class Counter: Sendable {
    let value = Atomic<Int>(0)
    func add(_ n: Int) { value.add(n, ordering: .relaxed) }
    var current: Int { value.load(ordering: .relaxed) }
}

/// Samples taken on a plain thread (the cooperative pool is saturated by the appenders, so a
/// task's sleep would wake late): CPU and I/O at the window's start and end, acknowledgements per second.
final class WindowMonitor: @unchecked Sendable {
    // @unchecked: every field is written by the monitor thread before `done` is signalled and read after.
    private(set) var start = CPUBreakdown.Sample()
    private(set) var end = CPUBreakdown.Sample()
    private(set) var commitsAtStart = (commits: 0, events: 0)
    private(set) var commitsAtEnd = (commits: 0, events: 0)
    private(set) var perSecond: [Int] = []
    private let done = DispatchSemaphore(value: 0)

    init(log: EventLog, counter: Counter, fromNanos: Int64, toNanos: Int64) {
        let thread = Thread { [self] in
            Self.sleep(until: fromNanos)
            start = CPUBreakdown.Sample()
            commitsAtStart = log.commitStatistics
            var last = counter.current
            var tick = fromNanos
            while tick < toNanos {
                tick = min(tick + 1_000_000_000, toNanos)
                Self.sleep(until: tick)
                let now = counter.current
                perSecond.append(now - last)
                last = now
            }
            end = CPUBreakdown.Sample()
            commitsAtEnd = log.commitStatistics
            done.signal()
        }
        thread.name = "bench-monitor"
        thread.start()
    }

    func wait() { done.wait() }

    static func sleep(until nanos: Int64) {
        while true {
            let left = nanos - monotonicNanos()
            if left <= 0 { return }
            usleep(UInt32(min(left / 1_000, 100_000)))
        }
    }
}

enum Scenarios {
    // MARK: online

    static func online(appenders: Int, seconds: Int, warmup: Int, lingerMicros: Int, durability: Durability,
                       quiet: Bool) async throws -> Outcome {
        let (log, path) = try Workload.openFresh(durability: durability, lingerMicros: lingerMicros)
        defer { Workload.remove(path) }
        _ = Workload.payloads  // built before the clock starts
        _ = Workload.memberIds
        if !quiet { Reporter.progress("online: \(appenders) appenders, \(warmup) s warm-up + \(seconds) s, durability \(durability)") }
        let counter = Counter()
        let t0 = monotonicNanos()
        let fromNanos = t0 + Int64(warmup) * 1_000_000_000
        let toNanos = fromNanos + Int64(seconds) * 1_000_000_000
        let monitor = WindowMonitor(log: log, counter: counter, fromNanos: fromNanos, toNanos: toNanos)
        let (acked, histogram) = try await withThrowingTaskGroup(of: (Int, Histogram<UInt64>).self) { group in
            for a in 0..<appenders {
                group.addTask {
                    var h = newHistogram()
                    var n = a, counted = 0
                    while true {
                        let sent = monotonicNanos()
                        if sent >= toNanos { break }
                        _ = try await log.append(Workload.draft(n))
                        let done = monotonicNanos()
                        counter.add(1)
                        if done >= fromNanos && done < toNanos {
                            _ = h.record(UInt64(max(1, (done - sent) / 1_000)))
                            counted += 1
                        }
                        n += appenders
                    }
                    return (counted, h)
                }
            }
            var total = 0
            var merged = newHistogram()
            for try await (count, h) in group {
                total += count
                merged.add(h)
            }
            return (total, merged)
        }
        monitor.wait()
        let head = try log.headPosition()
        log.close()

        var o = Outcome(scenario: "online", headline: "eventsPerSecond")
        o.parameters = [("appenders", .int(appenders)), ("seconds", .int(seconds)), ("warmupSeconds", .int(warmup)),
                        ("lingerMicros", .int(lingerMicros)), ("durability", .text(durability.rawValue)),
                        ("eventsPerAppend", 1)]
        o.add("eventsPerSecond", (Double(acked) / Double(seconds)).rounded(), "events/s")
        o.addLatency("ack", histogram)
        let commits = monitor.commitsAtEnd.commits - monitor.commitsAtStart.commits
        let events = monitor.commitsAtEnd.events - monitor.commitsAtStart.events
        o.add("commitsPerSecond", (Double(commits) / Double(seconds)).rounded(), "commits/s")
        o.add("eventsPerCommit", (Double(events) / Double(max(1, commits)) * 10).rounded() / 10, "events")
        let cpu = CPUBreakdown(from: monitor.start, to: monitor.end)
        o.addCPU(cpu)
        if let w = cpu.io["write_bytes"], events > 0 {
            o.add("diskWriteBytesPerEvent", (Double(w) / Double(events)).rounded(), "bytes")
        }
        let perSecond = monitor.perSecond
        o.add("slowestSecondEvents", perSecond.min() ?? 0, "events")
        o.add("fastestSecondEvents", perSecond.max() ?? 0, "events")
        o.add("logHead", Int(head), "events")
        o.notes.append("acknowledgement latency = time from the append call to its return, per append, for appends returning inside the measured window")
        o.notes.append("per-second acknowledgements: \(perSecond.map(String.init).joined(separator: " "))")
        return o
    }

    // MARK: bulk + size

    static func bulk(events: Int, batch: Int, durability: Durability, scenario: String, quiet: Bool) async throws -> Outcome {
        let (log, path) = try Workload.openFresh(durability: durability)
        defer { Workload.remove(path) }
        _ = Workload.payloads
        _ = Workload.memberIds
        if !quiet { Reporter.progress("\(scenario): \(events) events in batches of \(batch), one appender, durability \(durability)") }
        let a = CPUBreakdown.Sample()
        let start = monotonicNanos()
        var building: Int64 = 0, appending: Int64 = 0
        var n = 0
        var maxAppendNanos: Int64 = 0
        while n < events {
            let t0 = monotonicNanos()
            let drafts = Workload.drafts(n..<min(n + batch, events))
            let t1 = monotonicNanos()
            _ = try await log.append(drafts)
            let t2 = monotonicNanos()
            building += t1 - t0
            appending += t2 - t1
            maxAppendNanos = max(maxAppendNanos, t2 - t1)
            n += drafts.count
        }
        let elapsed = monotonicNanos() - start
        let b = CPUBreakdown.Sample()
        let (commits, committed) = log.commitStatistics
        let closeStart = monotonicNanos()
        log.close()
        let closeNanos = monotonicNanos() - closeStart

        var o = Outcome(scenario: scenario, headline: scenario == "size" ? "bytesPerEvent" : "eventsPerSecond")
        o.parameters = [("events", .int(events)), ("batch", .int(batch)), ("durability", .text(durability.rawValue))]
        o.add("eventsPerSecond", (Double(events) / (Double(elapsed) / 1e9)).rounded(), "events/s")
        o.add("elapsedSeconds", Double(elapsed) / 1e9, "s")
        o.add("eventsPerSecondInsideAppend", (Double(events) / (Double(appending) / 1e9)).rounded(), "events/s")
        o.add("buildDraftsSeconds", Double(building) / 1e9, "s")
        o.add("appendMeanMicros", (Double(appending) / Double(max(1, commits)) / 1e3).rounded(), "µs")
        o.add("appendMaxMicros", Double(maxAppendNanos / 1_000), "µs")
        o.add("eventsPerCommit", Double(committed) / Double(max(1, commits)), "events")
        o.add("closeSeconds", Double(closeNanos) / 1e9, "s")
        let cpu = CPUBreakdown(from: a, to: b)
        o.addCPU(cpu)
        if let w = cpu.io["write_bytes"] { o.add("diskWriteBytesPerEvent", (Double(w) / Double(events)).rounded(), "bytes") }
        addSize(path: path, events: events, to: &o)
        return o
    }

    /// Bytes on disk per event (after close), per file, and what the public API tells of the
    /// LMDB environments (pages used, entries per database).
    static func addSize(path: String, events: Int, to o: inout Outcome) {
        let files = Probe.files(under: path)
        let total = files.values.reduce(0) { $0 + $1.apparent }
        let allocated = files.values.reduce(0) { $0 + $1.allocated }
        let d = Double(max(1, events))
        o.add("bytesPerEvent", (Double(total) / d * 10).rounded() / 10, "bytes")
        o.add("allocatedBytesPerEvent", (Double(allocated) / d * 10).rounded() / 10, "bytes")
        o.add("logBytesPerEvent", (Double(files["data.mdb"]?.apparent ?? 0) / d * 10).rounded() / 10, "bytes")
        let indexBytes = files.filter { $0.key.hasPrefix("index/") }.values.reduce(0) { $0 + $1.apparent }
        o.add("indexBytesPerEvent", (Double(indexBytes) / d * 10).rounded() / 10, "bytes")
        o.add("totalFileBytes", total, "bytes")
        o.files = files.mapValues(\.apparent)
        do {
            var options = EventLogOptions()
            options.writable = false
            let reader = try EventLog.open(path: path, options: options)
            let stats = try reader.stats()
            o.add("members", stats.memberCount, "")
            o.add("logMapUsedBytes", stats.mapUsedBytes, "bytes")
            var readOnly = LMDBOptions()
            readOnly.readOnly = true
            for (dir, names) in [("", ["meta", "events", "chain"]), ("/index", ["state", "members"])] {
                let env = try LMDBEnvironment.open(path: path + dir, options: readOnly)
                let usage = try env.usage()
                let label = dir.isEmpty ? "log" : "index"
                o.add("\(label)PagesUsed", usage.usedPages, "pages of \(usage.pageSizeBytes) B")
                for name in names {
                    let db = try env.database(name, create: false)
                    let count = try env.read { txn in try txn.entryCount(db) }
                    o.add("\(label)Entries.\(name)", count, "entries")
                }
            }
            reader.close()
        } catch {
            o.notes.append("LMDB statistics unavailable: \(error)")
        }
        o.notes.append("bytesPerEvent = apparent size of every file under the ledger directory after close / events")
    }

    // MARK: latency

    static func latency(appends: Int, durability: Durability, quiet: Bool) async throws -> Outcome {
        let (log, path) = try Workload.openFresh(durability: durability)
        defer { Workload.remove(path) }
        _ = Workload.payloads
        if !quiet { Reporter.progress("latency: \(appends) single-event appends, one appender, durability \(durability)") }
        var h = newHistogram()
        let a = CPUBreakdown.Sample()
        for n in 0..<appends {
            let draft = Workload.draft(n)
            let sent = monotonicNanos()
            _ = try await log.append(draft)
            _ = h.record(UInt64(max(1, (monotonicNanos() - sent) / 1_000)))
        }
        let cpu = CPUBreakdown(from: a, to: CPUBreakdown.Sample())
        log.close()
        if !quiet { Reporter.progress("latency: fdatasync probe of the disk (1,000 x 4 KiB)") }
        let disk = Probe.fdatasyncLatency(dir: NSTemporaryDirectory(), count: 1_000)
        var o = Outcome(scenario: "latency", headline: "ackP99Micros")
        o.parameters = [("appends", .int(appends)), ("durability", .text(durability.rawValue))]
        o.addLatency("ack", h)
        o.add("eventsPerSecond", (1e6 / h.mean).rounded(), "events/s")
        o.addCPU(cpu)
        o.add("diskFdatasyncP50Micros", Double(disk.valueAtPercentile(50)), "µs")
        o.add("diskFdatasyncP99Micros", Double(disk.valueAtPercentile(99)), "µs")
        o.notes.append("diskFdatasync* = write(4 KiB) + fdatasync on the same filesystem, measured after the appends; a full-durability LMDB commit syncs twice")
        return o
    }

    // MARK: read

    static func read(events: Int, limit: Int, quiet: Bool) async throws -> Outcome {
        let (log, path) = try Workload.openFresh(durability: .full)
        defer { Workload.remove(path) }
        if !quiet { Reporter.progress("read: filling \(events) events (not measured)") }
        try await Workload.fill(log, count: events)
        let sampleStart = CPUBreakdown.Sample()

        func pass(_ name: String, _ body: () async throws -> Int) async throws -> Double {
            let start = monotonicNanos()
            let count = try await body()
            let elapsed = monotonicNanos() - start
            precondition(count == events, "\(name) read \(count) of \(events) events")
            if !quiet { Reporter.progress("read: \(name): \(count) events in \(Double(elapsed) / 1e9) s") }
            return (Double(count) / (Double(elapsed) / 1e9)).rounded()
        }
        var o = Outcome(scenario: "read", headline: "eventsPerSecond")
        o.parameters = [("events", .int(events)), ("limit", .int(limit))]
        o.add("eventsPerSecond", try await pass("events(after:limit:)") {
            var position: UInt64 = 0, count = 0
            while true {
                let batch = try log.events(after: position, limit: limit)
                guard let last = batch.last else { return count }
                count += batch.count
                position = last.position
            }
        }, "events/s")
        o.add("eventsPerSecondWithHashes", try await pass("events(after:limit:withHashes: true)") {
            var position: UInt64 = 0, count = 0
            while true {
                let batch = try log.events(after: position, limit: limit, withHashes: true)
                guard let last = batch.last else { return count }
                count += batch.count
                position = last.position
            }
        }, "events/s")
        o.add("eventsPerSecondWithHashesContinued", try await pass("events(after:limit:previousHash:)") {
            var position: UInt64 = 0, count = 0
            var hash: ChainHash? = nil
            while true {
                let batch = try log.events(after: position, limit: limit, previousHash: hash)
                guard let last = batch.last else { return count }
                count += batch.count
                position = last.position
                hash = last.hash
            }
        }, "events/s")
        o.add("eventsPerSecondSubscribeReplay", try await pass("subscribe(after: 0, follow: false)") {
            var count = 0
            for try await _ in log.subscribe(after: 0, follow: false) { count += 1 }
            return count
        }, "events/s")
        o.addCPU(CPUBreakdown(from: sampleStart, to: CPUBreakdown.Sample()))
        log.close()
        o.notes.append("one pass each over a log just written (page cache warm); every event decoded into a RecordedEvent")
        o.notes.append("withHashes: true re-derives the batch's starting hash from the nearest checkpoint (up to 255 SHA-256) per batch; previousHash: continues from the last event's hash")
        return o
    }

    // MARK: tail

    static func tail(seconds: Int, batch: Int, intervalMillis: Int, durability: Durability, quiet: Bool) async throws -> Outcome {
        let (log, path) = try Workload.openFresh(durability: durability)
        defer { Workload.remove(path) }
        try await Workload.fill(log, count: 10_000)
        let startHead = try log.headPosition()
        if !quiet { Reporter.progress("tail: subscriber after \(startHead); batches of \(batch) every \(intervalMillis) ms for \(seconds) s") }
        let progressBox = Progress(startHead)

        // The subscriber: receive time (realtime ns) of each position, and receive − recordedAt.
        let subscriber = Task { () -> ([Int64], Histogram<UInt64>) in
            var received: [Int64] = []
            received.reserveCapacity(seconds * 1_000 / max(1, intervalMillis) * batch + 1_000)
            var fromRecorded = newHistogram()
            do {
                for try await event in log.subscribe(after: startHead, follow: true) {
                    let now = realtimeNanos()
                    received.append(now)
                    _ = fromRecorded.record(UInt64(max(1, now / 1_000 - event.recordedAt)))
                    progressBox.store(event.position)
                }
            } catch is CancellationError {
            }
            return (received, fromRecorded)
        }

        // The appender: a steady schedule (start + k × interval), not sleep-after-append.
        let sampleStart = CPUBreakdown.Sample()
        var returned: [(last: UInt64, at: Int64)] = []
        var ackHistogram = newHistogram()
        let clock = ContinuousClock()
        let start = clock.now
        let end = start + .seconds(seconds)
        var k = 0
        var n = 10_000
        var late = 0
        while true {
            let due = start + .milliseconds(intervalMillis * k)
            if due >= end { break }
            if clock.now < due { try await Task.sleep(until: due, clock: clock) } else if k > 0 { late += 1 }
            let drafts = Workload.drafts(n..<(n + batch))
            let t0 = monotonicNanos()
            let result = try await log.append(drafts)
            let at = realtimeNanos()
            _ = ackHistogram.record(UInt64(max(1, (monotonicNanos() - t0) / 1_000)))
            returned.append((result.events.last!.position, at))
            n += batch
            k += 1
        }
        let appendedSeconds = Double((clock.now - start).components.attoseconds) / 1e18 + Double((clock.now - start).components.seconds)
        let lastPosition = returned.last?.last ?? startHead
        let waitStart = monotonicNanos()
        while progressBox.load() < lastPosition && monotonicNanos() - waitStart < 10_000_000_000 {
            try await Task.sleep(for: .milliseconds(1))
        }
        subscriber.cancel()
        let (received, fromRecorded) = try await subscriber.value
        let cpu = CPUBreakdown(from: sampleStart, to: CPUBreakdown.Sample())
        log.close()

        // Commit (append returned) -> subscriber, per position.
        var deltas: [Int64] = []
        deltas.reserveCapacity(received.count)
        var batchIndex = 0
        for (i, recv) in received.enumerated() {
            let position = startHead + UInt64(i) + 1
            while batchIndex < returned.count && returned[batchIndex].last < position { batchIndex += 1 }
            guard batchIndex < returned.count else { break }
            deltas.append((recv - returned[batchIndex].at) / 1_000)
        }
        deltas.sort()
        func pct(_ p: Double) -> Double {
            deltas.isEmpty ? 0 : Double(deltas[min(deltas.count - 1, Int((Double(deltas.count) * p / 100).rounded(.up)) - 1)])
        }
        var o = Outcome(scenario: "tail", headline: "commitToSubscriberP99Micros")
        o.parameters = [("seconds", .int(seconds)), ("batch", .int(batch)), ("intervalMillis", .int(intervalMillis)),
                        ("durability", .text(durability.rawValue))]
        o.add("commitToSubscriberP50Micros", pct(50), "µs")
        o.add("commitToSubscriberP99Micros", pct(99), "µs")
        o.add("commitToSubscriberP999Micros", pct(99.9), "µs")
        o.add("commitToSubscriberMaxMicros", Double(deltas.last ?? 0), "µs")
        o.add("commitToSubscriberMinMicros", Double(deltas.first ?? 0), "µs")
        o.add("receivedBeforeAppendReturnedPercent", (Double(deltas.filter { $0 < 0 }.count) / Double(max(1, deltas.count)) * 1000).rounded() / 10, "%")
        o.addLatency("recordedAtToSubscriber", fromRecorded)
        o.addLatency("appendAck", ackHistogram)
        o.add("eventsAppended", Int(lastPosition - startHead), "events")
        o.add("eventsReceived", received.count, "events")
        o.add("appendRateEventsPerSecond", (Double(lastPosition - startHead) / appendedSeconds).rounded(), "events/s")
        o.add("appendsStartedLate", late, "appends")
        o.addCPU(cpu)
        o.notes.append("commitToSubscriber = subscriber receive time − time the append call returned (CLOCK_REALTIME, per position); negative when the subscriber, woken by the commit signal, got the event before the appender's continuation ran")
        o.notes.append("recordedAtToSubscriber = receive time − the event's recordedAt (taken when the writer starts staging the group, so it includes the commit's fsyncs)")
        return o
    }
}

/// The subscriber's last received position, read by the appender to know when it caught up.
final class Progress: Sendable {
    private let value: Atomic<UInt64>
    init(_ initial: UInt64) { value = Atomic(initial) }
    func store(_ v: UInt64) { value.store(v, ordering: .releasing) }
    func load() -> UInt64 { value.load(ordering: .acquiring) }
}

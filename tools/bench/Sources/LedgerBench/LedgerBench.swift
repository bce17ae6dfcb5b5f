import ArgumentParser
import Foundation
import Histogram
import LedgerStore
import Synchronization

@main
struct LedgerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger-bench",
        abstract: "Benchmarks of the event log under full durability (see BENCHMARKS.md).",
        subcommands: [Online.self, Bulk.self, Latency.self, Read.self, Tail.self])
}

struct Common: ParsableArguments {
    @Option(help: "Write the figures as JSON here (default: tools/bench/results/<scenario>-<time>.json).")
    var json: String?

    func write(_ scenario: String, parameters: [String: Int], figures: [String: Double]) throws {
        let report = Report(scenario: scenario, parameters: parameters, figures: figures)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(report)
        let path = json ?? {
            let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("results").path
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            return dir + "/\(scenario)-\(Int(Date().timeIntervalSince1970)).json"
        }()
        try data.write(to: URL(fileURLWithPath: path))
        for key in figures.keys.sorted() {
            print("  " + key.padding(toLength: 28, withPad: " ", startingAt: 0) + String(format: "%14.1f", figures[key]!))
        }
        print("  (json: \(path))")
    }
}

struct Report: Codable {
    var scenario: String
    var parameters: [String: Int]
    var figures: [String: Double]
    var machine = Machine()
    var date = ISO8601DateFormatter().string(from: Date())
}

struct Machine: Codable {
    var cores = ProcessInfo.processInfo.activeProcessorCount
    var memoryBytes = Int(ProcessInfo.processInfo.physicalMemory)
    var kernel = (try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8))?
        .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
}

func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

func latencyFigures(_ h: Histogram<UInt64>, prefix: String) -> [String: Double] {
    [prefix + "P50Micros": Double(h.valueAtPercentile(50)), prefix + "P99Micros": Double(h.valueAtPercentile(99)),
     prefix + "P999Micros": Double(h.valueAtPercentile(99.9)), prefix + "MaxMicros": Double(h.max)]
}

/// 256 concurrent appenders, one event per append, each waiting for its acknowledgement.
struct Online: AsyncParsableCommand {
    @Option var appenders = 256
    @Option var seconds = 10
    @Option(name: .customLong("warmup-seconds")) var warmupSeconds = 1
    @Option(help: "Writer linger before a commit, microseconds (EventLogOptions.commitLingerMicroseconds).")
    var lingerMicros = 0
    @OptionGroup var common: Common

    func run() async throws {
        let (log, path) = try Workload.openFresh(lingerMicros: lingerMicros)
        defer { Workload.remove(path) }
        let clock = ContinuousClock()
        let start = clock.now
        let measureFrom = start + .seconds(warmupSeconds)
        let end = measureFrom + .seconds(seconds)
        let results = try await withThrowingTaskGroup(of: (Int, Histogram<UInt64>).self) { group in
            for a in 0..<appenders {
                group.addTask {
                    var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
                    var n = a, counted = 0
                    while true {
                        let sent = clock.now
                        if sent >= end { break }
                        _ = try await log.append(Workload.draft(n))
                        let done = clock.now
                        if sent >= measureFrom {
                            _ = histogram.record(UInt64(max(1, (done - sent) / .microseconds(1))))
                            counted += 1
                        }
                        n += appenders
                    }
                    return (counted, histogram)
                }
            }
            var total = 0
            var merged = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
            for try await (count, h) in group {
                total += count
                merged.add(h)
            }
            return (total, merged)
        }
        let (commits, committed) = log.commitStatistics
        log.close()
        let stats = try EventLog.open(path: path, options: { var o = EventLogOptions(); o.writable = false; return o }()).stats()
        print("online: \(committed / max(1, commits)) events per commit on average; \(appenders) appenders, 1 event per append, full durability, \(seconds) s after \(warmupSeconds) s warm-up")
        var figures = latencyFigures(results.1, prefix: "ack")
        figures["eventsPerSecond"] = Double(results.0) / Double(seconds)
        figures["bytesPerEvent"] = Double(stats.bytesPerEvent ?? 0)
        figures["peakMemoryMiB"] = Double(Workload.peakMemoryBytes() >> 20)
        figures["eventsPerCommit"] = Double(committed) / Double(max(1, commits))
        try common.write("online", parameters: ["appenders": appenders, "seconds": seconds, "lingerMicros": lingerMicros], figures: figures)
    }
}

/// One appender, atomic batches of 1,000, then the bytes on disk per event (after close, so the
/// index is written).
struct Bulk: AsyncParsableCommand {
    @Option var events = 3_000_000
    @Option var batch = 1_000
    @OptionGroup var common: Common

    func run() async throws {
        let (log, path) = try Workload.openFresh()
        defer { Workload.remove(path) }
        let clock = ContinuousClock()
        let start = clock.now
        var n = 0
        while n < events {
            let count = min(batch, events - n)
            _ = try await log.append((n..<(n + count)).map { Workload.draft($0) })
            n += count
        }
        let elapsed = clock.now - start
        log.close()
        let files = Workload.directoryBytes(path)
        let total = files.values.reduce(0, +)
        print("bulk: one appender, batches of \(batch), \(events) events, full durability; sizes after close: \(files.sorted { $0.key < $1.key })")
        try common.write("bulk", parameters: ["events": events, "batch": batch], figures: [
            "eventsPerSecond": Double(events) / LedgerBenchSeconds(elapsed),
            "bytesPerEvent": Double(total) / Double(events),
            "logBytesPerEvent": Double(files["data.mdb", default: 0]) / Double(events),
            "indexBytesPerEvent": Double(files["index/data.mdb", default: 0] + files["index/keys.table", default: 0]) / Double(events),
            "peakMemoryMiB": Double(Workload.peakMemoryBytes() >> 20),
        ])
    }
}

func LedgerBenchSeconds(_ d: Duration) -> Double { seconds(d) }

/// One appender, one event per append: the acknowledgement latency of a single durable commit.
struct Latency: AsyncParsableCommand {
    @Option var appends = 5_000
    @OptionGroup var common: Common

    func run() async throws {
        let (log, path) = try Workload.openFresh()
        defer { Workload.remove(path); log.close() }
        let clock = ContinuousClock()
        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
        let start = clock.now
        for n in 0..<appends {
            let sent = clock.now
            _ = try await log.append(Workload.draft(n))
            _ = histogram.record(UInt64(max(1, (clock.now - sent) / .microseconds(1))))
        }
        let elapsed = clock.now - start
        print("latency: one appender, one event per append, \(appends) appends, full durability")
        var figures = latencyFigures(histogram, prefix: "ack")
        figures["eventsPerSecond"] = Double(appends) / seconds(elapsed)
        try common.write("latency", parameters: ["appends": appends], figures: figures)
    }
}

/// Full-log read throughput, in batches of 4,096 with short read transactions.
struct Read: AsyncParsableCommand {
    @Option var events = 2_000_000
    @OptionGroup var common: Common

    func run() async throws {
        let (log, path) = try Workload.openFresh()
        defer { Workload.remove(path); log.close() }
        var n = 0
        while n < events {
            _ = try await log.append((n..<min(n + 1_000, events)).map { Workload.draft($0) })
            n += 1_000
        }
        func scan(hashes: Bool) throws -> Double {
            let clock = ContinuousClock()
            let start = clock.now
            var position: UInt64 = 0, count = 0
            var hash: ChainHash?
            while true {
                let batch = hashes ? try log.events(after: position, limit: 4_096, previousHash: hash ?? .genesis)
                                   : try log.events(after: position, limit: 4_096)
                guard let last = batch.last else { break }
                count += batch.count
                position = last.position
                hash = last.hash
            }
            precondition(count == events)
            return Double(count) / seconds(clock.now - start)
        }
        let plain = try scan(hashes: false)
        let hashed = try scan(hashes: true)
        print("read: \(events) events, batches of 4,096 (decoded), without and with the chain hash of each event")
        try common.write("read", parameters: ["events": events], figures: [
            "eventsPerSecond": plain, "eventsPerSecondWithHashes": hashed])
    }
}

/// A subscriber in the same process while one appender commits batches of 100 every 2 ms:
/// latency from the append call returning (commit done) to the subscriber receiving the event.
struct Tail: AsyncParsableCommand {
    @Option var seconds = 5
    @Option var batch = 100
    @OptionGroup var common: Common

    func run() async throws {
        let (log, path) = try Workload.openFresh()
        defer { Workload.remove(path); log.close() }
        let committedAt = Mutex<[UInt64: Int64]>([:])
        let clock = ContinuousClock()
        let end = clock.now + .seconds(seconds)
        let subscriber = Task {
            var fromCommit = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
            var fromRecorded = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
            var received = 0
            for try await event in log.subscribe(after: 0) {
                let now = Workload.nowMicros()
                received += 1
                _ = fromRecorded.record(UInt64(max(1, now - event.recordedAt)))
                // The appender stores the commit time of each batch's last position; it may land a
                // moment after the subscriber sees the event, so wait for it briefly.
                if event.position % UInt64(batch) == 0 {
                    var at: Int64?
                    for _ in 0..<1_000 {
                        at = committedAt.withLock { $0.removeValue(forKey: event.position) }
                        if at != nil { break }
                        await Task.yield()
                    }
                    if let at { _ = fromCommit.record(UInt64(max(1, now - at))) }
                }
                if event.type == "bench.stop" { break }
            }
            return (received, fromCommit, fromRecorded)
        }
        var n = 0
        while clock.now < end {
            let result = try await log.append((n..<(n + batch)).map { Workload.draft($0) })
            let at = Workload.nowMicros()
            committedAt.withLock { $0[result.events.last!.position] = at }
            n += batch
            try await Task.sleep(for: .milliseconds(2))
        }
        _ = try await log.append(EventDraft(type: "bench.stop", member: "bench", occurredAt: 0, data: []))
        let (received, fromCommit, fromRecorded) = try await subscriber.value
        print("tail: \(received) events, batches of \(batch) every 2 ms; latency commit-returned -> subscriber, and recordedAt -> subscriber")
        var figures = latencyFigures(fromCommit, prefix: "commitToSubscriber")
        figures.merge(latencyFigures(fromRecorded, prefix: "recordedToSubscriber")) { $1 }
        try common.write("tail", parameters: ["seconds": seconds, "batch": batch], figures: figures)
    }
}

import ArgumentParser
import Foundation
import LedgerJSON
import LedgerStore
import LoyaltyDomain
import LoyaltyLedger

/// `loyalty bench-fold` (hidden): how fast stored events decode into `DomainEvent` (the byte
/// decoder and, for comparison, the general JSON path) and how fast `Ledger.open` folds the log.
/// Reads the whole log into memory first, so decoding is timed alone. Prints one JSON object.
struct FoldBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-fold", abstract: "Decode and fold throughput (benchmark).",
                                                    shouldDisplay: false)
    @OptionGroup var options: LedgerOptions
    @Option(help: "Passes over the events for each decoder.") var passes = 3

    func run() throws {
        let events = try loadEvents()
        let fast = try timed { for e in events { _ = try DomainEvent.decode(type: e.type, schemaVersion: e.schemaVersion, bytes: e.data) } }
        let general = try timed {
            for e in events {
                let json = try JSONCanonical.parse(String(decoding: e.data, as: UTF8.self))
                _ = try DomainEvent.decode(type: e.type, schemaVersion: e.schemaVersion, json: json)
            }
        }
        let fold = try timed(passes: 1) {
            let ledger = try Ledger.open(path: options.path, writable: false)
            ledger.close()
        }
        let n = Double(events.count)
        let report: [String: Any] = [
            "events": events.count,
            "decodeFastEventsPerCpuSecond": Int(n / fast.cpu), "decodeFastEventsPerSecond": Int(n / fast.wall),
            "decodeGeneralEventsPerCpuSecond": Int(n / general.cpu), "decodeGeneralEventsPerSecond": Int(n / general.wall),
            "foldEventsPerCpuSecond": Int(n / fold.cpu), "foldEventsPerSecond": Int(n / fold.wall), "foldSeconds": fold.wall,
        ]
        let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    /// Every domain event of the log (raw `append` events of other types are left out).
    func loadEvents() throws -> [RecordedEvent] {
        let log = try options.openLog(writable: false)
        defer { log.close() }
        var out: [RecordedEvent] = []
        var position: UInt64 = 0
        while true {
            let batch = try log.events(after: position, limit: 4_096)
            guard let last = batch.last else { break }
            out += batch.filter { DomainEvent.isDomainType($0.type) }
            position = last.position
        }
        return out
    }

    /// The best of `passes` runs of `body`: wall seconds and this thread's CPU seconds.
    func timed(passes: Int? = nil, _ body: () throws -> Void) throws -> (wall: Double, cpu: Double) {
        var best = (wall: Double.infinity, cpu: Double.infinity)
        for _ in 0..<(passes ?? self.passes) {
            let (w0, c0) = (Self.clock(CLOCK_MONOTONIC), Self.clock(CLOCK_THREAD_CPUTIME_ID))
            try body()
            let (w1, c1) = (Self.clock(CLOCK_MONOTONIC), Self.clock(CLOCK_THREAD_CPUTIME_ID))
            if c1 - c0 < best.cpu { best = (w1 - w0, c1 - c0) }
        }
        return best
    }

    static func clock(_ id: clockid_t) -> Double {
        var ts = timespec()
        clock_gettime(id, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

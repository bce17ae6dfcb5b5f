import ArgumentParser
import Foundation
import LedgerStore

@main
struct LedgerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger-bench",
        abstract: "Benchmarks of the LedgerStore event log (full durability unless --durability relaxed).",
        discussion: """
            Every scenario appends to a fresh ledger in a new temporary directory (removed afterwards),
            prints a table and writes a JSON report. Payloads: 200 bytes of purchase JSON, 100,000
            members, a unique 17-byte idempotency key per event. See BENCHMARKS.md and run.sh.
            """,
        subcommands: [Online.self, Bulk.self, Size.self, Latency.self, Read.self, Tail.self, Disk.self, Proof.self, All.self,
                      ProjectionsRebuild.self, ProjectionsLag.self, AppBench.self])
}

extension Durability: @retroactive ExpressibleByArgument {}

struct Online: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Concurrent appenders, one event per append, each awaiting its acknowledgement.")
    @Option(help: "Concurrent appenders (tasks in a TaskGroup).") var appenders = 256
    @Option(help: "Measured seconds (after the warm-up).") var seconds = 10
    @Option(help: "Warm-up seconds (not measured).") var warmup = 1
    @Option(help: "EventLogOptions.commitLingerMicroseconds.") var lingerMicros = 0
    @Option var durability = Durability.full
    @OptionGroup var common: Common

    func run() async throws {
        try Reporter.emit(try await Scenarios.online(appenders: appenders, seconds: seconds, warmup: warmup,
                                                     lingerMicros: lingerMicros, durability: durability, quiet: common.quiet),
                          json: common.json)
    }
}

struct Bulk: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "One appender, atomic batches; then closes the log and reports the bytes on disk (size).")
    @Option var events = 3_000_000
    @Option var batch = 1_000
    @Option var durability = Durability.full
    @OptionGroup var common: Common

    func run() async throws {
        try Reporter.emit(try await Scenarios.bulk(events: events, batch: batch, durability: durability,
                                                   scenario: "bulk", quiet: common.quiet), json: common.json)
    }
}

struct Size: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The bulk load, then bytes on disk per event (every file, every index) after close.")
    @Option var events = 3_000_000
    @Option var batch = 1_000
    @Option var durability = Durability.full
    @OptionGroup var common: Common

    func run() async throws {
        try Reporter.emit(try await Scenarios.bulk(events: events, batch: batch, durability: durability,
                                                   scenario: "size", quiet: common.quiet), json: common.json)
    }
}

struct Latency: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "One appender, one event per append: acknowledgement latency of a lone durable commit.")
    @Option var appends = 5_000
    @Option var durability = Durability.full
    @OptionGroup var common: Common

    func run() async throws {
        try Reporter.emit(try await Scenarios.latency(appends: appends, durability: durability, quiet: common.quiet),
                          json: common.json)
    }
}

struct Read: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Full-log read throughput, events(after:limit:) in batches of 4,096, without and with hashes.")
    @Option(help: "Events in the log that is read.") var events = 1_000_000
    @Option var limit = 4_096
    @OptionGroup var common: Common

    func run() async throws {
        try Reporter.emit(try await Scenarios.read(events: events, limit: limit, quiet: common.quiet), json: common.json)
    }
}

struct Tail: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A subscriber following the log while one appender appends at a steady rate: commit-to-subscriber latency.")
    @Option var seconds = 5
    @Option var batch = 100
    @Option(help: "Milliseconds between the starts of two appends.") var intervalMillis = 2
    @Option var durability = Durability.full
    @OptionGroup var common: Common

    func run() async throws {
        try Reporter.emit(try await Scenarios.tail(seconds: seconds, batch: batch, intervalMillis: intervalMillis,
                                                   durability: durability, quiet: common.quiet), json: common.json)
    }
}

struct Disk: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The disk alone: latency of write(4 KiB) + fdatasync in the temporary directory.")
    @Option var count = 2_000
    @OptionGroup var common: Common

    func run() async throws {
        var o = Outcome(scenario: "disk", headline: "fdatasyncP50Micros")
        o.parameters = [("count", .int(count)), ("dir", .text(NSTemporaryDirectory()))]
        o.addLatency("fdatasync", Probe.fdatasyncLatency(dir: NSTemporaryDirectory(), count: count))
        o.notes.append("A commit under full durability syncs twice (data pages, then the meta page), so 1/(2 x p50) bounds serial commits per second.")
        try Reporter.emit(o, json: common.json)
    }
}

struct All: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Every scenario once, with its defaults (JSON reports in tools/bench/results/).")
    @Option(help: "Seconds of the online scenario.") var seconds = 10
    @Option(help: "Events of the bulk+size scenario.") var events = 3_000_000
    @Flag var quiet = false

    func run() async throws {
        try Reporter.emit(try await Scenarios.online(appenders: 256, seconds: seconds, warmup: 1, lingerMicros: 0,
                                                     durability: .full, quiet: quiet), json: nil)
        try Reporter.emit(try await Scenarios.bulk(events: events, batch: 1_000, durability: .full, scenario: "bulk",
                                                   quiet: quiet), json: nil)
        try Reporter.emit(try await Scenarios.latency(appends: 5_000, durability: .full, quiet: quiet), json: nil)
        try Reporter.emit(try await Scenarios.read(events: 1_000_000, limit: 4_096, quiet: quiet), json: nil)
        try Reporter.emit(try await Scenarios.tail(seconds: 5, batch: 100, intervalMillis: 2, durability: .full,
                                                   quiet: quiet), json: nil)
    }
}

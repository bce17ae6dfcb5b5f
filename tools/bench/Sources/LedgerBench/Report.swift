import ArgumentParser
import Foundation
import Histogram

/// A parameter value in the JSON report (a number or a word).
enum Param: Codable, Sendable, CustomStringConvertible, ExpressibleByIntegerLiteral, ExpressibleByStringLiteral {
    case int(Int)
    case text(String)

    init(integerLiteral value: Int) { self = .int(value) }
    init(stringLiteral value: String) { self = .text(value) }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case let .int(v): try c.encode(v)
        case let .text(v): try c.encode(v)
        }
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let v = try? c.decode(Int.self) { self = .int(v) } else { self = .text(try c.decode(String.self)) }
    }

    var description: String {
        switch self {
        case let .int(v): return String(v)
        case let .text(v): return v
        }
    }
}

/// One figure: a name (the JSON key), a value and a unit for the table.
struct Figure: Sendable {
    var name: String
    var value: Double
    var unit: String
}

/// What one scenario run produced.
struct Outcome: Sendable {
    var scenario: String
    /// The figure run.sh summarises (median and spread over runs).
    var headline: String
    var parameters: [(String, Param)] = []
    var figures: [Figure] = []
    var notes: [String] = []
    var files: [String: Int]? = nil

    init(scenario: String, headline: String) {
        self.scenario = scenario
        self.headline = headline
    }

    mutating func add(_ name: String, _ value: Double, _ unit: String) {
        figures.append(Figure(name: name, value: value, unit: unit))
    }

    mutating func add(_ name: String, _ value: Int, _ unit: String) { add(name, Double(value), unit) }

    /// p50, p99, p99.9 and max of a histogram of microseconds.
    mutating func addLatency(_ prefix: String, _ h: Histogram<UInt64>) {
        add(prefix + "P50Micros", Double(h.valueAtPercentile(50)), "µs")
        add(prefix + "P99Micros", Double(h.valueAtPercentile(99)), "µs")
        add(prefix + "P999Micros", Double(h.valueAtPercentile(99.9)), "µs")
        add(prefix + "MaxMicros", Double(h.max), "µs")
        add(prefix + "MeanMicros", h.mean, "µs")
        add(prefix + "Count", Double(h.totalCount), "")
    }

    mutating func addCPU(_ cpu: CPUBreakdown) {
        for (name, value, unit) in cpu.figures() { add(name, value, unit) }
    }
}

struct Report: Encodable {
    var scenario: String
    var headline: String
    var parameters: [String: Param]
    var figures: [String: Double]
    var units: [String: String]
    var notes: [String]
    var files: [String: Int]?
    var machine: Machine
    var gitCommit: String?
    /// True when Sources/ or Package.swift of the main package differ from that commit.
    var gitDirty: Bool?
    var date: String
}

struct Machine: Codable {
    var nproc = ProcessInfo.processInfo.activeProcessorCount
    var cpuModel = Probe.cpuModel()
    var memoryBytes = Int(ProcessInfo.processInfo.physicalMemory)
    var kernel = Probe.firstLine("/proc/sys/kernel/osrelease") ?? "?"
    var loadAverageAtStart: String
    var loadAverageAtEnd = Probe.firstLine("/proc/loadavg") ?? "?"
    var filesystem = Probe.filesystem(of: NSTemporaryDirectory())
    var swift = "6.x (see `swift --version`)"
}

/// Options every scenario takes.
struct Common: ParsableArguments {
    @Option(help: "Write the report as JSON here (default: tools/bench/results/<scenario>-<timestamp>.json).")
    var json: String?

    @Flag(help: "Print only the table (no progress lines).")
    var quiet = false
}

enum Reporter {
    /// Repository root, from this file's path (tools/bench/Sources/LedgerBench/Report.swift).
    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static let loadAtStart = Probe.firstLine("/proc/loadavg") ?? "?"

    static func progress(_ line: String) {
        FileHandle.standardError.write(Data(("  … " + line + "\n").utf8))
    }

    /// Prints the table and writes the JSON report.
    static func emit(_ outcome: Outcome, json: String?) throws {
        let stamp: String = {
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.timeZone = TimeZone(identifier: "UTC")
            f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
            return f.string(from: Date())
        }()
        let path = json ?? {
            let dir = repoRoot.appendingPathComponent("tools/bench/results").path
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            return dir + "/\(outcome.scenario)-\(stamp).json"
        }()
        let (commit, dirty) = gitState()
        let report = Report(
            scenario: outcome.scenario, headline: outcome.headline,
            parameters: Dictionary(outcome.parameters, uniquingKeysWith: { $1 }),
            figures: Dictionary(outcome.figures.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 }),
            units: Dictionary(outcome.figures.map { ($0.name, $0.unit) }, uniquingKeysWith: { $1 }),
            notes: outcome.notes, files: outcome.files,
            machine: Machine(loadAverageAtStart: loadAtStart), gitCommit: commit, gitDirty: dirty,
            date: ISO8601DateFormatter().string(from: Date()))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try encoder.encode(report).write(to: URL(fileURLWithPath: path))

        // The table.
        let params = outcome.parameters.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
        print("")
        print("== \(outcome.scenario)  (\(params))")
        print("   machine: \(report.machine.nproc) cores, \(report.machine.cpuModel), kernel \(report.machine.kernel), "
              + "load \(report.machine.loadAverageAtStart.split(separator: " ").prefix(3).joined(separator: " ")); "
              + "commit \(commit ?? "?")\(dirty == true ? " (+ uncommitted changes)" : "")")
        let width = max(28, outcome.figures.map(\.name.count).max() ?? 0)
        print("   " + "figure".padding(toLength: width, withPad: " ", startingAt: 0) + "          value")
        print("   " + String(repeating: "-", count: width + 15))
        for f in outcome.figures {
            let mark = f.name == outcome.headline ? " *" : "  "
            print(" \(mark)" + f.name.padding(toLength: width, withPad: " ", startingAt: 0)
                  + format(f.value).leftPadded(15) + " " + f.unit)
        }
        if let files = outcome.files {
            print("   files (bytes):")
            for (name, size) in files.sorted(by: { $0.key < $1.key }) {
                print("     " + name.padding(toLength: width - 2, withPad: " ", startingAt: 0) + format(Double(size)).leftPadded(15))
            }
        }
        for note in outcome.notes { print("   note: " + note) }
        print("   (* headline)  json: \(path)")
    }

    static func format(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e15 {
            return Int(v).formatted(.number.grouping(.automatic).locale(Locale(identifier: "en_US")))
        }
        return String(format: abs(v) >= 100 ? "%.1f" : "%.3f", v)
    }

    /// `git rev-parse --short HEAD` of the repository, and whether the main package's sources differ.
    static func gitState() -> (String?, Bool?) {
        guard let commit = run(["git", "-C", repoRoot.path, "rev-parse", "--short", "HEAD"]) else { return (nil, nil) }
        let status = run(["git", "-C", repoRoot.path, "status", "--porcelain", "--", "Sources", "Package.swift"])
        return (commit, status.map { !$0.isEmpty })
    }

    private static func run(_ argv: [String]) -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = argv
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

func newHistogram() -> Histogram<UInt64> {
    Histogram<UInt64>(highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: .three)
}

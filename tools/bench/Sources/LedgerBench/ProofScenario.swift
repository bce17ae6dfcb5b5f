import ArgumentParser
import Foundation
import LedgerProofs
import LedgerStore

struct Proof: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Merkle tree build (catch-up from the log) and inclusion-proof latency at random positions.",
        discussion: """
            With --ledger PATH the log is kept there and reused by later runs (only its merkle/ is rebuilt),
            so a 10-million-event log is filled once.
            """)
    @Option(help: "Events in the log.") var events = 1_000_000
    @Option(help: "Inclusion proofs measured (random positions).") var proofs = 2_000
    @Option(help: "Keep (and reuse) the ledger here instead of a temporary directory.") var ledger: String?
    @OptionGroup var common: Common

    func run() async throws {
        try Reporter.emit(try await Scenarios.proof(events: events, proofs: proofs, ledger: ledger, quiet: common.quiet),
                          json: common.json)
    }
}

extension Scenarios {
    static func proof(events: Int, proofs: Int, ledger: String?, quiet: Bool) async throws -> Outcome {
        let (log, path) = try await openProofLedger(events: events, at: ledger, quiet: quiet)
        defer { if ledger == nil { Workload.remove(path) } }
        try? FileManager.default.removeItem(atPath: path + "/merkle")
        var o = Outcome(scenario: "proof", headline: "inclusionProofP50Micros")
        o.parameters = [("events", .int(events)), ("proofs", .int(proofs))]

        let buildStart = monotonicNanos()
        let prover = try LedgerProver(log: log)
        let size = try prover.tree.catchUp(with: log)
        let buildSeconds = Double(monotonicNanos() - buildStart) / 1e9
        precondition(size == UInt64(events), "tree covers the log")
        if !quiet { Reporter.progress("proof: tree of \(size) leaves built in \(buildSeconds) s") }
        o.add("treeBuildSeconds", buildSeconds, "s")
        o.add("treeBuildLeavesPerSecond", (Double(size) / buildSeconds).rounded(), "leaves/s")
        o.add("treeFileBytes", fileBytes(path + "/merkle/data.mdb"), "bytes")
        o.add("logFileBytes", fileBytes(path + "/data.mdb"), "bytes")

        let key = CheckpointSigningKey()
        let checkpoint = try prover.checkpoint(key: key)
        var random = SplitMix(seed: 6962)
        var endToEnd: [Int64] = [], pathOnly: [Int64] = [], verify: [Int64] = []
        for _ in 0..<proofs {
            let position = random.next() % UInt64(events) + 1
            var t = monotonicNanos()
            let proof = try prover.inclusionProof(position: position, checkpoint: checkpoint)
            endToEnd.append(monotonicNanos() - t)
            t = monotonicNanos()
            let path = try prover.tree.read { try $0.inclusionPath(leafIndex: position - 1, treeSize: size) }
            pathOnly.append(monotonicNanos() - t)
            precondition(path.map(\.hex) == proof.auditPath, "same path")
            t = monotonicNanos()
            _ = try ProofVerifier.verify(proof, checkpoint: checkpoint, publicKey: key.publicKey, label: "bench")
            verify.append(monotonicNanos() - t)
        }
        addQuantiles(&o, "inclusionProof", endToEnd)
        addQuantiles(&o, "auditPathOnly", pathOnly)
        addQuantiles(&o, "verifyOffline", verify)
        o.add("auditPathLength", Double(Int(64 - (UInt64(events) - 1).leadingZeroBitCount)), "hashes")
        log.close()
        o.notes.append("inclusionProof = LedgerProver.inclusionProof: tree catch-up check, record read, leaf check against the tree, root of the checkpoint's size recomputed and compared, audit path (in-process, page cache warm)")
        o.notes.append("auditPathOnly = the audit path alone in one read transaction; verifyOffline = checkpoint Ed25519 signature + leaf hash + RFC 9162 path check")
        return o
    }

    private static func openProofLedger(events: Int, at ledger: String?, quiet: Bool) async throws -> (EventLog, String) {
        let path = ledger ?? NSTemporaryDirectory() + "ledger-bench-" + UUID().uuidString
        var options = EventLogOptions()
        options.create = true
        options.lmdb.mapSizeBytes = 8 << 30
        let log = try EventLog.open(path: path, options: options)
        let head = try log.headPosition()
        precondition(head == 0 || head == UInt64(events), "--ledger holds \(head) events, not \(events)")
        if head == 0 {
            if !quiet { Reporter.progress("proof: filling \(events) events (not measured)") }
            try await Workload.fill(log, count: events)
        }
        return (log, path)
    }

    private static func addQuantiles(_ o: inout Outcome, _ prefix: String, _ nanos: [Int64]) {
        let sorted = nanos.sorted()
        func at(_ q: Double) -> Double { Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))]) / 1000 }
        o.add(prefix + "P50Micros", at(0.5), "µs")
        o.add(prefix + "P99Micros", at(0.99), "µs")
        o.add(prefix + "MaxMicros", Double(sorted.last ?? 0) / 1000, "µs")
        o.add(prefix + "MeanMicros", Double(nanos.reduce(0, +)) / Double(max(1, nanos.count)) / 1000, "µs")
    }

    private static func fileBytes(_ path: String) -> Double {
        Double((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
    }
}

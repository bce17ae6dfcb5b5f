import Foundation
import Testing
@testable import LedgerStore

/// A real child process appends in a loop and prints each acknowledged batch; it is killed with
/// SIGKILL at random moments. After each kill the ledger must open, verify, and hold every
/// acknowledged batch whole (and no partial batch of any kind).
@Suite(.serialized) struct CrashTests {
    struct Ack: Hashable { let run: Int; let batch: Int; let first: UInt64; let last: UInt64; let size: Int }

    @Test(.timeLimit(.minutes(5)))
    func sigkillNeverLosesAnAcknowledgedBatchNorLeavesAPartialOne() async throws {
        let dir = TemporaryDirectory()
        var acknowledged: [Ack] = []
        var random = SystemRandomNumberGenerator()
        let runs = 16
        for run in 0..<runs {
            let output = try await runAndKill(ledger: dir.ledger, run: run,
                                              afterMilliseconds: Int.random(in: 150...700, using: &random))
            let acks = output.split(separator: "\n").compactMap { line -> Ack? in
                let f = line.split(separator: " ")
                guard f.count == 6, f[0] == "ack", let r = Int(f[1]), let b = Int(f[2]), let first = UInt64(f[3]),
                      let last = UInt64(f[4]), let size = Int(f[5]) else { return nil }
                return Ack(run: r, batch: b, first: first, last: last, size: size)
            }
            #expect(!output.contains("error"), "child reported: \(output.split(separator: "\n").filter { $0.hasPrefix("error") })")
            acknowledged += acks
            try checkLedger(dir.ledger, acknowledged: acknowledged)
        }
        #expect(acknowledged.count > runs, "the child got to acknowledge batches before being killed")
    }

    private func runAndKill(ledger: String, run: Int, afterMilliseconds: Int) async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: builtExecutable("ledger-torture"))
        process.arguments = [ledger, String(run), "4"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        // Wait until it is appending, then let it run a random while before the kill.
        let reader = Task.detached { pipe.fileHandleForReading.readDataToEndOfFile() }
        try await Task.sleep(for: .milliseconds(afterMilliseconds))
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        return String(decoding: await reader.value, as: UTF8.self)
    }

    private func checkLedger(_ path: String, acknowledged: [Ack]) throws {
        // A reopen for writing runs recovery (index catch-up); then verify everything.
        let writer = try openLog(path, create: false) { $0.writerLockWaitMilliseconds = 5_000 }
        writer.close()
        let log = try openLog(path, create: false, writable: false)
        let report = try log.verify()
        #expect(report.isValid, "verify after SIGKILL: \(report.problems.prefix(3))")
        let events = try allEvents(log)
        #expect(UInt64(events.count) == report.head.position)
        var byKey: [String: RecordedEvent] = [:]
        for event in events { if let key = event.idempotencyKey { byKey[key] = event } }
        for ack in acknowledged {
            for i in 0..<ack.size {
                let event = byKey["\(ack.run)-\(ack.batch)-\(i)"]
                #expect(event?.position == ack.first + UInt64(i), "acknowledged event \(ack.run)-\(ack.batch)-\(i) at \(ack.first + UInt64(i))")
            }
        }
        // No partial batch: every batch present is present whole, contiguous.
        var batches: [String: [RecordedEvent]] = [:]
        for event in events {
            let parts = event.idempotencyKey!.split(separator: "-")
            batches["\(parts[0])-\(parts[1])", default: []].append(event)
        }
        for (id, members) in batches {
            let size = Int(String(decoding: members[0].data, as: UTF8.self).split(separator: ":").last!.dropLast())!
            #expect(members.count == size, "batch \(id) has \(members.count) of \(size) events")
            #expect(members.last!.position - members.first!.position + 1 == UInt64(members.count), "batch \(id) is contiguous")
        }
    }
}

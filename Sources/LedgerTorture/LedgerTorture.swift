import Foundation
import LedgerStore

/// `ledger-torture PATH RUN [--concurrency N]`: appends batches forever and prints one line per
/// acknowledged batch, `ack RUN BATCH FIRST LAST COUNT`, flushed at once. Crash tests kill it with
/// SIGKILL at random moments and check that every acknowledged batch is in the log, whole.
/// Each event carries the idempotency key `RUN-BATCH-I` and data `{"batch":B,"i":I,"size":S}`.
@main
struct LedgerTorture {
    static func main() async throws {
        let args = CommandLine.arguments
        guard args.count >= 3, let run = Int(args[2]) else {
            FileHandle.standardError.write(Data("usage: ledger-torture PATH RUN [CONCURRENCY]\n".utf8))
            exit(2)
        }
        let concurrency = args.count > 3 ? Int(args[3]) ?? 4 : 4
        var options = EventLogOptions()
        options.create = true
        options.writerLockWaitMilliseconds = 10_000
        options.lmdb.mapSizeBytes = 1 << 20  // small: crashes also land during map growth
        options.indexFlushIntervalMilliseconds = 20  // and during index flushes
        let log = try EventLog.open(path: args[1], options: options)
        say("ready")
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var batch = worker
                    var random = SystemRandomNumberGenerator()
                    while true {
                        let size = Int.random(in: 1...40, using: &random)
                        let drafts = (0..<size).map { i in
                            EventDraft(type: "torture.event", member: "m\(Int.random(in: 0..<50, using: &random))",
                                       occurredAt: 1_795_515_330_000_000 + Int64(batch),
                                       data: Array(#"{"batch":\#(batch),"i":\#(i),"size":\#(size)}"#.utf8),
                                       idempotencyKey: "\(run)-\(batch)-\(i)")
                        }
                        do {
                            let result = try await log.append(drafts)
                            say("ack \(run) \(batch) \(result.events.first!.position) \(result.events.last!.position) \(size)")
                        } catch {
                            say("error \(error)")
                            exit(1)
                        }
                        batch += concurrency
                    }
                }
            }
        }
    }
}

/// One unbuffered write(2) per line, so that a SIGKILL never loses a printed acknowledgement.
func say(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}

import Foundation
import Synchronization
import LoyaltyDomain
import Testing
@testable import LedgerStore

/// Damaged, unusual or missing ledger files, through the real `loyalty` binary: every command ends
/// by itself (no hang), with an exit code and no signal, and a clear message when it fails.
@Suite(.serialized) struct DamagedFilesTests {
    /// Seconds a single command may take before it counts as a hang.
    static let commandSecondsMax = 60.0

    @Test(.timeLimit(.minutes(2)))
    func commandsOnAMissingLedgerNameThePathAndCreateNothing() async throws {
        let dir = TemporaryDirectory()
        let typo = dir.path + "/legder"
        let commands: [[String]] = [
            ["enroll", "M1", "--store", "S1"], ["purchase", "M1", "--id", "P1", "--amount", "1.00", "--store", "S1"],
            ["append"], ["events"], ["tail"], ["verify"], ["stats"], ["balance", "M1"], ["projections", "rebuild"],
        ]
        for command in commands {
            let run = try await runBounded(command + ["--ledger", typo])
            #expect(run.exitCode == 1, "\(command): \(run)")
            #expect(run.err.contains("no ledger at \(typo): create one with `loyalty init --ledger \(typo)`"), "\(command): \(run.err)")
            #expect(!FileManager.default.fileExists(atPath: typo), "\(command) created \(typo)")
        }
        #expect(try await runBounded(["init", "--ledger", typo]).exitCode == 0)
        #expect(try await runBounded(["enroll", "M1", "--store", "S1", "--ledger", typo]).exitCode == 0)
    }

    @Test(.timeLimit(.minutes(2)))
    func eventsAfterTheHeadPrintNothing() async throws {
        let dir = TemporaryDirectory()
        try await makeSmallLedger(dir.ledger)
        for command in [["events", "--after", "3"], ["events", "--after", "1000000"], ["tail", "--after", "99"]] {
            let run = try await runBounded(command + ["--ledger", dir.ledger])
            #expect(run.exitCode == 0 && run.out.isEmpty && run.err.isEmpty, "\(command): \(run)")
        }
        let all = try await runBounded(["events", "--after", "1", "--ledger", dir.ledger])
        #expect(all.exitCode == 0 && all.out.split(separator: "\n").count == 1, "\(all)")
    }

    @Test(.timeLimit(.minutes(3)))
    func aTruncatedLogFileIsNamedNotASignal() async throws {
        let dir = TemporaryDirectory()
        try await makeSmallLedger(dir.ledger, purchases: 2_000)
        let data = dir.ledger + "/data.mdb"
        let size = try fileSize(data)
        for keep in [size / 2, 8192 + 100, 5000, 100] {
            #expect(truncate(data, off_t(keep)) == 0)
            for command in [["events"], ["verify"], ["stats"], ["enroll", "M9", "--store", "S1"], ["balance", "M1"]] {
                let run = try await runBounded(command + ["--ledger", dir.ledger])
                #expect(run.exitCode == 1, "\(command) on \(keep) bytes: \(run)")
                #expect(run.err.contains("data.mdb is damaged"), "\(command) on \(keep) bytes: \(run.err)")
            }
        }
    }

    /// Flips bytes across the whole log file (page headers and contents): each command ends with
    /// an exit code, never a signal or a hang, and says why when it fails.
    @Test(.timeLimit(.minutes(10)))
    func flippedBytesInTheLogFileNeverEndInASignal() async throws {
        let dir = TemporaryDirectory()
        let original = dir.path + "/original"
        try await makeSmallLedger(original, purchases: 1_000)
        let size = try fileSize(original + "/data.mdb")
        let pages = size / 4096
        // Seeded, so that CI flips the same bytes each run; LOYALTY_FLIP_SEED=N tries others.
        let seed = ProcessInfo.processInfo.environment["LOYALTY_FLIP_SEED"].flatMap(UInt64.init) ?? 20_261_203
        // 24 pages in CI (all of them in a smaller file), LOYALTY_FLIP_PAGES=N for a deeper run.
        let sampled = ProcessInfo.processInfo.environment["LOYALTY_FLIP_PAGES"].flatMap(Int.init) ?? 24
        print("flipped bytes: seed \(seed) (LOYALTY_FLIP_SEED=\(seed) replays it), \(min(sampled, pages)) of \(pages) pages")
        var random = SplitMix64(seed: seed)
        var offsets: [Int] = []
        // Per page: a byte of the page header and one of the contents.
        for page in (0..<pages).shuffled(using: &random).prefix(max(1, sampled)) {
            offsets.append(page * 4096 + Int.random(in: 0..<16, using: &random))
            offsets.append(page * 4096 + Int.random(in: 16..<4096, using: &random))
        }
        var failures = 0
        for offset in offsets {
            let copy = dir.path + "/copy"
            try? FileManager.default.removeItem(atPath: copy)
            try FileManager.default.copyItem(atPath: original, toPath: copy)
            try flipByte(copy + "/data.mdb", at: offset, mask: UInt8(1) << UInt8.random(in: 0...7, using: &random))
            // A writer folds every payload into the domain model: a damaged payload is the
            // domain decoder's case (LoyaltyDomain), so the writer runs on page-header flips only.
            let header = offset % 4096 < 16
            for command in [["verify"], ["events"], ["stats"]] + (header ? [["enroll", "M9", "--store", "S1"]] : []) {
                let run = try await runBounded(command + ["--ledger", copy])
                #expect(run.signal == nil && !run.timedOut, "\(command) with byte \(offset) flipped: \(run)")
                if run.exitCode != 0 {
                    failures += 1
                    #expect(!run.err.isEmpty, "\(command) with byte \(offset) flipped failed without a message")
                }
            }
        }
        #expect(failures > 0, "some flips are detected")
    }

    @Test(.timeLimit(.minutes(2)))
    func aFullKeyTableIsDamageNotAHang() async throws {
        let dir = TemporaryDirectory()
        try await makeSmallLedger(dir.ledger)
        let table = dir.ledger + "/index/keys.table"
        // Every slot used: a lookup that probes to an empty slot never ends.
        var bytes = [UInt8](repeating: 0, count: 4096 + 8 << 16)
        bytes.replaceSubrange(0..<8, with: Array("LLKEYTB1".utf8))
        bytes[8] = 16
        for i in stride(from: 4096, to: bytes.count, by: 8) { bytes[i] = 0x01; bytes[i + 3] = 0x01 }
        try Data(bytes).write(to: URL(fileURLWithPath: table))
        let verify = try await runBounded(["verify", "--ledger", dir.ledger])
        #expect(verify.exitCode == 1 && verify.err.contains("keys.table is damaged") && verify.err.contains("delete it, it is rebuilt from the log"), "\(verify)")
        #expect(try await runBounded(["events", "--ledger", dir.ledger]).exitCode == 0)
        // A writer rebuilds the index from the log.
        let enroll = try await runBounded(["enroll", "M2", "--store", "S1", "--ledger", dir.ledger])
        #expect(enroll.exitCode == 0, "\(enroll)")
        let again = try await runBounded(["verify", "--ledger", dir.ledger])
        #expect(again.exitCode == 0 && again.out.hasPrefix("ok:"), "\(again)")
    }

    @Test(.timeLimit(.minutes(2)))
    func aKeyTableHeaderClaimingAbsurdSizesIsDamageNotAHang() async throws {
        let dir = TemporaryDirectory()
        try await makeSmallLedger(dir.ledger)
        let table = dir.ledger + "/index/keys.table"
        // 2^36 slots, and a (sparse) file of exactly that size, so only the header's plausibility
        // against the log can tell.
        let fd = open(table, O_RDWR)
        #expect(fd >= 0)
        var bits: UInt8 = 36
        #expect(pwrite(fd, &bits, 1, 8) == 1)
        let sparse = ftruncate(fd, off_t(4096 + 8 << 36)) == 0
        close(fd)
        if !sparse { print("skipped the sparse 512 GiB file: ftruncate failed (\(String(cString: strerror(errno))))") }
        for command in [["verify"], ["stats"], ["events"]] {
            let run = try await runBounded(command + ["--ledger", dir.ledger], seconds: 20)
            #expect(run.signal == nil && !run.timedOut, "\(command): \(run)")
            if command == ["verify"] {
                #expect(run.exitCode == 1 && run.err.contains("header claims 2^36 slots"), "\(run)")
            }
        }
        let enroll = try await runBounded(["enroll", "M2", "--store", "S1", "--ledger", dir.ledger], seconds: 20)
        #expect(enroll.exitCode == 0, "\(enroll)")
        #expect(try fileSize(table) < 1 << 24, "the writer rebuilt the table")
    }

    @Test(.timeLimit(.minutes(2)))
    func damagedDerivedFoldersAreRebuiltOrNamed() async throws {
        let dir = TemporaryDirectory()
        try await makeSmallLedger(dir.ledger)
        #expect(try await runBounded(["members", "export", "--ledger", dir.ledger]).exitCode == 0)
        for folder in ["index", "projections", "decisions"] {
            // Zeroed meta pages: not an LMDB file any more.
            try Data(repeating: 0, count: 8192).write(to: URL(fileURLWithPath: dir.ledger + "/\(folder)/data.mdb"))
        }
        let verify = try await runBounded(["verify", "--ledger", dir.ledger])
        #expect(verify.exitCode == 1 && verify.err.contains("index") && verify.err.contains("delete it, it is rebuilt from the log"), "\(verify)")
        let members = try await runBounded(["members", "export", "--ledger", dir.ledger])
        #expect(members.exitCode == 0, "projections/ rebuilt: \(members)")
        let balance = try await runBounded(["balance", "M1", "--ledger", dir.ledger])
        #expect(balance.exitCode == 0 && balance.out.contains("available"), "a reader folds the decision state in memory: \(balance)")
        let enroll = try await runBounded(["enroll", "M2", "--store", "S1", "--ledger", dir.ledger])
        #expect(enroll.exitCode == 0, "index/ and decisions/ rebuilt: \(enroll)")
        let check = try await runBounded(["decisions", "check", "--ledger", dir.ledger])
        #expect(check.exitCode == 0 && check.out.contains("OK"), "\(check)")
        let again = try await runBounded(["verify", "--ledger", dir.ledger])
        #expect(again.exitCode == 0, "\(again)")
    }

    @Test(.timeLimit(.minutes(2)))
    func ledgerFilesAreOwnerOnly() async throws {
        let dir = TemporaryDirectory()
        try await makeSmallLedger(dir.ledger)
        #expect(try await runBounded(["members", "export", "--ledger", dir.ledger]).exitCode == 0)
        let l = dir.ledger
        for path in [l, l + "/index", l + "/projections", l + "/decisions"] { #expect(try mode(path) == 0o700, "\(path)") }
        for path in [l + "/data.mdb", l + "/lock.mdb", l + "/writer.lock", l + "/index/data.mdb", l + "/index/lock.mdb",
                     l + "/index/keys.table", l + "/projections/data.mdb", l + "/projections.lock",
                     l + "/decisions/data.mdb", l + "/decisions/lock.mdb"] {
            #expect(try mode(path) == 0o600, "\(path)")
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func readersWorkOnAReadOnlyLedger() async throws {
        let dir = TemporaryDirectory()
        try await makeSmallLedger(dir.ledger)
        #expect(try await runBounded(["enroll", "M2", "--store", "S1", "--ledger", dir.ledger]).exitCode == 0)
        let readOnly: String
        var unmount: String?
        if getuid() == 0 {
            readOnly = dir.path + "/ro"
            try FileManager.default.createDirectory(atPath: readOnly, withIntermediateDirectories: true)
            guard shell("mount --bind '\(dir.ledger)' '\(readOnly)' && mount -o remount,ro,bind '\(readOnly)'") else {
                _ = shell("umount '\(readOnly)'")
                print("skipped: a read-only bind mount failed (no CAP_SYS_ADMIN in this container?)")
                return
            }
            unmount = readOnly
        } else {
            readOnly = dir.path + "/copy"
            try FileManager.default.copyItem(atPath: dir.ledger, toPath: readOnly)
            #expect(shell("chmod -R a-w '\(readOnly)'"))
        }
        defer {
            if let unmount { _ = shell("umount '\(unmount)'") } else { _ = shell("chmod -R u+w '\(readOnly)'") }
        }
        let before = try snapshot(readOnly)
        let events = try await runBounded(["events", "--ledger", readOnly])
        #expect(events.exitCode == 0 && events.out.split(separator: "\n").count == 3, "\(events)")
        let verify = try await runBounded(["verify", "--ledger", readOnly])
        #expect(verify.exitCode == 0 && verify.out.hasPrefix("ok: 3 events"), "\(verify)")
        #expect(try await runBounded(["stats", "--ledger", readOnly]).exitCode == 0)
        #expect(try await runBounded(["tail", "--ledger", readOnly]).exitCode == 0)
        let write = try await runBounded(["enroll", "M3", "--store", "S1", "--ledger", readOnly])
        #expect(write.exitCode == 1 && !write.err.isEmpty, "\(write)")
        #expect(try snapshot(readOnly) == before, "readers changed no file")
    }

    @Test(.timeLimit(.minutes(5)))
    func aFullDiskIsAnErrorNotASignal() async throws {
        let dir = TemporaryDirectory()
        guard let mountPoint = try smallTmpfs(in: dir.path, size: "4m") else { return }
        defer { shell("umount '\(mountPoint)'") }
        let ledger = mountPoint + "/ledger"
        try await makeSmallLedger(ledger)
        let commands = try await generatedCommands(dir.path, count: 60_000, members: 2_000)
        let run = try await runBounded(["import", commands, "--ledger", ledger], seconds: 240)
        #expect(run.signal == nil && !run.timedOut, "\(run.summary)")
        #expect(run.exitCode != 0 && run.err.contains("No space left on device"), "\(run.summary)")
        // What was acknowledged reads back whole.
        let verify = try await runBounded(["verify", "--ledger", ledger])
        #expect(verify.exitCode == 0 && verify.out.hasPrefix("ok:"), "\(verify)")
    }

    /// `verify` in another process while a writer appends keyed events (and doubles the key table
    /// twice: 2^16 slots take 49,152 keys, 2^17 take 98,304) reports no problem. The writer is this
    /// process, appending raw keyed batches, so that the growth is reached in seconds; the domain
    /// import adds nothing to what the key table sees.
    @Test(.timeLimit(.minutes(5)))
    func verifyBesideAWriterGrowingTheKeyTableFindsNoFalseProblems() async throws {
        let dir = TemporaryDirectory()
        let log = try openLog(dir.ledger)
        let total = 110_000, batch = 1_000
        let finished = Mutex(false)
        let writer = Task {
            defer { finished.withLock { $0 = true } }
            for start in stride(from: 0, to: total, by: batch) {
                let drafts = (start..<(start + batch)).map {
                    EventDraft(type: "test.keyed", member: "m\($0 % 97)", occurredAt: 1_767_225_600_000_000,
                               data: Array(#"{"n":\#($0)}"#.utf8), idempotencyKey: "key-\($0)")
                }
                _ = try await log.append(drafts)
            }
        }
        var verified = 0, sawGrowth = false
        repeat {
            let verify = try await runBounded(["verify", "--ledger", dir.ledger], seconds: 120)
            #expect(verify.exitCode == 0 && verify.out.hasPrefix("ok:"), "verify beside the writer: \(verify.summary)")
            if verify.exitCode == 0 { verified += 1 }
            if try fileSize(dir.ledger + "/index/keys.table") > 4096 + 8 << 16 { sawGrowth = true }
        } while !finished.withLock({ $0 }) && verified < 1_000
        try await writer.value
        #expect(verified >= 2, "verify ran during the writes")
        #expect(sawGrowth, "the key table grew while verify ran")
        let last = try await runBounded(["verify", "--ledger", dir.ledger], seconds: 120)
        #expect(last.exitCode == 0 && last.out.hasPrefix("ok: \(total) events"), "\(last.summary)")
    }

    @Test(.timeLimit(.minutes(10)))
    func twoRebuildsAtOnceNeitherCrashes() async throws {
        let dir = TemporaryDirectory()
        try await makeSmallLedger(dir.ledger)
        let commands = try await generatedCommands(dir.path, count: 15_000, members: 1_000)
        _ = try await runBounded(["import", commands, "--ledger", dir.ledger], seconds: 300)
        for _ in 0..<2 {
            let first = try BoundedProcess(["projections", "rebuild", "--ledger", dir.ledger])
            let second = try BoundedProcess(["projections", "rebuild", "--ledger", dir.ledger])
            for run in [await first.finish(seconds: 300), await second.finish(seconds: 300)] {
                #expect(run.signal == nil && !run.timedOut, "\(run.summary)")
                #expect(run.exitCode == 0 || run.err.contains("another process is using the projections"), "\(run.summary)")
            }
        }
        let check = try await runBounded(["projections", "check", "--ledger", dir.ledger], seconds: 300)
        #expect(check.exitCode == 0, "\(check.summary)")
    }

    // MARK: Helpers

    private func makeSmallLedger(_ path: String, purchases: Int = 0) async throws {
        #expect(try await runBounded(["init", "--ledger", path]).exitCode == 0)
        let rules = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("schemas/examples/retail.rules.json").path
        #expect(try await runBounded(["program", "publish", rules, "--at", "2026-01-01", "--ledger", path]).exitCode == 0)
        #expect(try await runBounded(["enroll", "M1", "--store", "S1", "--at", "2026-02-01", "--ledger", path]).exitCode == 0)
        if purchases > 0 {
            let commands = try await generatedCommands(path + "-generated", count: purchases, members: 50)
            let imported = try await runBounded(["import", commands, "--enroll-unknown", "--ledger", path], seconds: 300)
            #expect(imported.signal == nil && !imported.timedOut, "\(imported.summary)")
        }
    }

    func generatedCommands(_ dir: String, count: Int, members: Int) async throws -> String {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let gen = try await runBounded(["generate", "--commands", "--count", String(count), "--members", String(members)], seconds: 300)
        let file = dir + "/commands.jsonl"
        try gen.out.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }
}

/// What a bounded run of `loyalty` did.
struct BoundedRun: CustomStringConvertible {
    var exitCode: Int32?
    var signal: Int32?
    var timedOut: Bool
    var out: String
    var err: String
    var description: String { "exit \(exitCode.map(String.init) ?? "-") signal \(signal.map(String.init) ?? "-")\(timedOut ? " TIMED OUT" : "") out: \(out.prefix(300)) err: \(err.prefix(600))" }
    var summary: String { "exit \(exitCode.map(String.init) ?? "-") signal \(signal.map(String.init) ?? "-")\(timedOut ? " TIMED OUT" : "") err: \(err.suffix(600))" }
}

/// A `loyalty` child process that is killed (and reported as timed out) past its deadline.
final class BoundedProcess: @unchecked Sendable {
    // @unchecked: `out`/`err` are written by one reading thread each before its semaphore is
    // signalled, and read only after `finish` waited for both.
    private let process = Process()
    private var out = Data(), err = Data()
    private let outDone = DispatchSemaphore(value: 0), errDone = DispatchSemaphore(value: 0)

    init(_ arguments: [String], environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: builtExecutable("loyalty"))
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let stdout = Pipe(), stderr = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        Thread.detachNewThread { [self] in
            out = stdout.fileHandleForReading.readDataToEndOfFile()
            outDone.signal()
        }
        Thread.detachNewThread { [self] in
            err = stderr.fileHandleForReading.readDataToEndOfFile()
            errDone.signal()
        }
    }

    var isRunning: Bool { process.isRunning }

    /// Waits (without blocking a thread of the cooperative pool) for the exit or the deadline.
    func finish(seconds: Double) async -> BoundedRun {
        let deadline = Date().addingTimeInterval(seconds)
        var timedOut = false
        while process.isRunning {
            if Date() > deadline {
                timedOut = true
                kill(process.processIdentifier, SIGKILL)
                break
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        process.waitUntilExit()
        outDone.wait()
        errDone.wait()
        let signalled = process.terminationReason == .uncaughtSignal
        return BoundedRun(exitCode: signalled ? nil : process.terminationStatus,
                          signal: signalled && !timedOut ? process.terminationStatus : nil, timedOut: timedOut,
                          out: String(decoding: out, as: UTF8.self), err: String(decoding: err, as: UTF8.self))
    }
}

func runBounded(_ arguments: [String], seconds: Double = DamagedFilesTests.commandSecondsMax) async throws -> BoundedRun {
    await (try BoundedProcess(arguments)).finish(seconds: seconds)
}

private func fileSize(_ path: String) throws -> Int {
    (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
}

private func mode(_ path: String) throws -> Int {
    ((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? 0) & 0o777
}

private func flipByte(_ path: String, at offset: Int, mask: UInt8) throws {
    let fd = open(path, O_RDWR)
    guard fd >= 0 else { throw CocoaError(.fileNoSuchFile) }
    defer { close(fd) }
    var byte: UInt8 = 0
    guard pread(fd, &byte, 1, off_t(offset)) == 1 else { throw CocoaError(.fileReadUnknown) }
    byte ^= mask
    guard pwrite(fd, &byte, 1, off_t(offset)) == 1 else { throw CocoaError(.fileWriteUnknown) }
}

/// Every file under `path` with its size and modification time.
private func snapshot(_ path: String) throws -> [String: String] {
    var out: [String: String] = [:]
    for case let name as String in FileManager.default.enumerator(atPath: path) ?? FileManager.DirectoryEnumerator() {
        let a = try FileManager.default.attributesOfItem(atPath: path + "/" + name)
        out[name] = "\(a[.size] ?? "") \(a[.modificationDate] ?? "")"
    }
    return out
}

import Foundation
import LedgerStore
import LedgerTestSupport
import Testing

/// `loyalty sink webhook`, the built binary: killed and resumed, dead letters, bad input.
@Suite(.timeLimit(.minutes(2))) struct WebhookSinkCLITests {
    /// Fast retries, so a test waits little on the dice.
    static let quick = ["--attempts", "200", "--backoff-initial-ms", "2", "--backoff-max-ms", "40", "--timeout-ms", "300"]

    @Test func aSinkKilledAtRandomResumesFromItsCheckpoint() async throws {
        let dir = TemporaryDirectory()
        let events = try await makeLog(dir.ledger, count: 300, members: 11)
        let secret = try secretFile(in: dir.path)
        let receiver = try Receiver(directory: dir.path + "/receiver", secretFile: secret, seed: 11, failurePercent: 30, stallSeconds: 0.6)
        let arguments = ["sink", "webhook", "--ledger", dir.ledger, "--url", receiver.url, "--secret-file", secret, "--batch-size", "7"] + Self.quick
        let checkpoint = dir.ledger + "/webhook-sink/position"
        var random = SystemRandomNumberGenerator()
        var positions: [UInt64] = []
        var stored: UInt64 = 0
        var landed = 0
        /// The first request of a run started after a kill begins after the stored position.
        func expectResumed() throws {
            if let first = try receiver.accepted().dropFirst(landed).first?.first {
                #expect(first.position > stored, "resumed at \(first.position), stored \(stored)")
            }
        }
        for _ in 0..<3 {
            let sink = try RunningTool(arguments)
            // Killed once it got a few batches through, at a random moment after.
            while try receiver.accepted().count < landed + 3, sink.isRunning { try await Task.sleep(for: .milliseconds(10)) }
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...150, using: &random)))
            sink.stop(signal: SIGKILL)
            try expectResumed()
            stored = UInt64((try? String(contentsOfFile: checkpoint, encoding: .utf8))?.trimmingCharacters(in: .newlines) ?? "0") ?? 0
            positions.append(stored)
            // A request the killed sink had on the wire may still be recorded (before its stall).
            try await Task.sleep(for: .milliseconds(300))
            landed = try receiver.accepted().count
        }
        let last = try runTool("loyalty", arguments)
        #expect(last.status == 0, "\(last.err)")
        #expect(last.out.contains("position 300"), "\(last.out)")
        try expectResumed()
        #expect(positions.contains { $0 > 0 }, "no kill landed after a stored position: \(positions)")
        #expect(checkDelivered(try receiver.accepted(), expected: events) == [])
        #expect(receiver.badSignatures() == "")
        #expect(try String(contentsOfFile: checkpoint, encoding: .utf8) == "300\n")
    }

    @Test func aRefusedMembersEventsWaitAsDeadLettersAndAReplayDeliversThemInOrder() async throws {
        let dir = TemporaryDirectory()
        let events = try await makeLog(dir.ledger, count: 24, members: 4)
        let secret = try secretFile(in: dir.path)
        let receiver = try Receiver(directory: dir.path + "/receiver", secretFile: secret, seed: 3, failurePercent: 0)
        let sink = ["sink", "webhook", "--ledger", dir.ledger, "--url", receiver.url, "--secret-file", secret] + Self.quick
        try receiver.refuse(["M3"])
        // One event per batch: a refused batch holds only M3's event, and only M3 is parked.
        let run = try runTool("loyalty", sink + ["--batch-size", "1"])
        #expect(run.status == 0, "\(run.err)")
        #expect(run.out.contains("delivered 18 events") && run.out.contains("set aside 1 refused and 5 held events") && run.out.contains("position 24"),
                "\(run.out)")
        let others = events.filter { $0.member != "M3" }
        #expect(checkDelivered(try receiver.accepted(), expected: others) == [])

        let listed = try runTool("loyalty", ["sink", "webhook", "--ledger", dir.ledger, "--dead-letters"])
        #expect(listed.status == 0 && listed.out.contains("failed") && listed.out.contains("held") && listed.out.contains("HTTP 400: member refused"),
                "\(listed.out)\(listed.err)")
        let json = try runTool("loyalty", ["sink", "webhook", "--ledger", dir.ledger, "--dead-letters", "--format", "json"])
        let m3 = events.filter { $0.member == "M3" }.map(\.position)
        #expect(json.out.contains(#""kind":"failed","members":["M3"],"positions":[\#(m3[0])]"#), "\(json.out)")

        // Still refused: the replay keeps every letter (the held ones stay behind the failed one).
        let refused = try runTool("loyalty", sink + ["--replay-dead-letters"])
        #expect(refused.status != 0 && refused.out.contains("replayed 0 dead letters") && refused.err.contains("6 dead letters remain"),
                "\(refused.out)\(refused.err)")
        try receiver.refuse([])
        let replay = try runTool("loyalty", sink + ["--replay-dead-letters"])
        #expect(replay.status == 0 && replay.out.contains("replayed 6 dead letters (6 events); 0 remain"), "\(replay.out)\(replay.err)")
        #expect(checkDelivered(try receiver.accepted(), expected: events) == [])
        let empty = try runTool("loyalty", ["sink", "webhook", "--ledger", dir.ledger, "--dead-letters"])
        #expect(empty.out.contains("no dead letters"), "\(empty.out)")

        // M3 is no longer parked: its next event goes straight through.
        let log = try openLog(dir.ledger)
        _ = try await log.append(draft("M3", "points.earned"))
        log.close()
        let more = try runTool("loyalty", sink)
        #expect(more.status == 0 && more.out.contains("delivered 1 events") && more.out.contains("position 25"), "\(more.out)\(more.err)")
        #expect(receiver.badSignatures() == "")
    }

    @Test func aReceiverRefusingEverythingStopsTheSinkAtTheDeadLetterLimit() async throws {
        let dir = TemporaryDirectory()
        _ = try await makeLog(dir.ledger, count: 10, members: 10)
        let secret = try secretFile(in: dir.path)
        let receiver = try Receiver(directory: dir.path + "/receiver", secretFile: secret, seed: 3, failurePercent: 0)
        try receiver.refuse((1...10).map { "M\($0)" })
        let run = try runTool("loyalty", ["sink", "webhook", "--ledger", dir.ledger, "--url", receiver.url, "--secret-file", secret,
                                          "--batch-size", "1", "--dead-letters-max", "3"])
        #expect(run.status == 1 && run.err.contains("3 dead letters") && run.err.contains("stopped at position 3"), "\(run.err)")
        #expect(try String(contentsOfFile: dir.ledger + "/webhook-sink/position", encoding: .utf8) == "3\n")
    }

    @Test func badSecretFilesURLsAndFiguresGiveClearErrors() async throws {
        let dir = TemporaryDirectory()
        _ = try await makeLog(dir.ledger, count: 2, members: 1)
        let good = try secretFile(in: dir.path)
        let base = ["sink", "webhook", "--ledger", dir.ledger]
        func err(_ arguments: [String]) throws -> String {
            let run = try runTool("loyalty", base + arguments)
            return run.status == 0 ? "exit 0: \(run.out)" : run.err
        }
        let url = ["--url", "http://127.0.0.1:9/hook"]
        #expect(try err(url + ["--secret-file", dir.path + "/nope"]).contains("secret file \(dir.path)/nope does not exist"))
        try "".write(toFile: dir.path + "/empty", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: dir.path + "/empty")
        #expect(try err(url + ["--secret-file", dir.path + "/empty"]).contains("is empty"))
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: good)
        #expect(try err(url + ["--secret-file", good]).contains("readable by every user (mode 644): `chmod 600"))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: good)
        #expect(try err(url + ["--secret-file", dir.path]).contains("is not a regular file"))
        #expect(try err(["--url", "ftp://x/hook", "--secret-file", good]).contains("--url: 'ftp://x/hook' is not an http:// or https:// URL"))
        #expect(try err(["--url", "not a url", "--secret-file", good]).contains("--url: 'not a url'"))
        #expect(try err(["--secret-file", good]).contains("--url is required"))
        #expect(try err(url).contains("--secret-file is required"))
        #expect(try err(url + ["--secret-file", good, "--source", "http://127.0.0.1:9"]).contains("--state is required"))
        #expect(try err(url + ["--secret-file", good, "--api-key", "k"]).contains("--api-key goes with a --source URL"))
        for (flag, value) in [("--batch-size", "0"), ("--attempts", "-1"), ("--timeout-ms", "0"), ("--dead-letters-max", "0"),
                              ("--backoff-max-ms", "1"), ("--batch-size", "9223372036854775807")] {
            #expect(try err(url + ["--secret-file", good, flag, value]).contains(flag), "\(flag) \(value)")
        }
        #expect(try err(url + ["--secret-file", good, "--batch-size", "99999999999999999999"]).contains("--batch-size"))
        #expect(try err(url + ["--secret-file", good, "--source", dir.path + "/no-ledger"]).contains("no ledger at"))
        // Nothing listens (AsyncHTTPClient retries a refused connect until the timeout): the batch
        // fails its attempts and is set aside, naming the reason.
        let down = try runTool("loyalty", base + url + ["--secret-file", good, "--attempts", "2", "--backoff-initial-ms", "1", "--backoff-max-ms", "2",
                                                         "--timeout-ms", "200"])
        #expect(down.status == 0 && down.out.contains("set aside 2 refused"), "\(down.out)\(down.err)")
        let listed = try runTool("loyalty", base + ["--dead-letters"])
        #expect(listed.out.contains("2 attempts failed"), "\(listed.out)")
        // Damaged state files are named, never trusted.
        let letter = dir.ledger + "/webhook-sink/dead-letters/000000000001.jsonl"
        let kept = try String(contentsOfFile: letter, encoding: .utf8)
        try "{\"sequence\":1}\n{}\n".write(toFile: letter, atomically: true, encoding: .utf8)
        #expect(try err(["--dead-letters"]).contains("dead letter \(letter), line 1: not a dead-letter header"))
        try (kept.split(separator: "\n")[0] + "\n{\"member\":\"M1\"}\n").write(toFile: letter, atomically: true, encoding: .utf8)
        #expect(try err(["--dead-letters"]).contains("dead letter \(letter), line 2: not an event"))
        try kept.write(toFile: letter, atomically: true, encoding: .utf8)
        try "12x\n".write(toFile: dir.ledger + "/webhook-sink/position", atomically: true, encoding: .utf8)
        #expect(try err(url + ["--secret-file", good]).contains("'12x' is not a position"))
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/no-ledger"), "a wrong --source made a state directory")
        // One process per state directory: another holds its lock.
        let lock = try ProcessLock(path: dir.ledger + "/webhook-sink/lock", waitMilliseconds: 0, what: "test")
        let busy = try runTool("loyalty", base + url + ["--secret-file", good])
        #expect(busy.status != 0 && busy.err.contains("\(ProcessInfo.processInfo.processIdentifier)") && busy.err.contains("one sink or replay at a time"),
                "\(busy.err)")
        withExtendedLifetime(lock) {}
    }

    @Test func aFollowingSinkSendsCommitsOfAnotherProcess() async throws {
        let dir = TemporaryDirectory()
        var events = try await makeLog(dir.ledger, count: 10, members: 2)
        let secret = try secretFile(in: dir.path)
        let receiver = try Receiver(directory: dir.path + "/receiver", secretFile: secret, seed: 9, failurePercent: 20, stallSeconds: 0.5)
        let sink = Process()
        sink.executableURL = URL(fileURLWithPath: builtExecutable("loyalty"))
        sink.arguments = ["sink", "webhook", "--ledger", dir.ledger, "--url", receiver.url, "--secret-file", secret, "--follow"] + Self.quick
        sink.standardOutput = FileHandle.nullDevice
        sink.standardError = FileHandle.nullDevice
        try sink.run()
        defer { kill(sink.processIdentifier, SIGKILL); sink.waitUntilExit() }
        func delivered() throws -> Set<UInt64> { Set(try receiver.accepted().joined().map(\.position)) }
        while try delivered().count < 10, sink.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        let log = try openLog(dir.ledger)
        _ = try await log.append([draft("M1", "points.earned"), draft("M3", "points.spent")])
        events = try log.events(after: 0, limit: 100, withHashes: true)
        log.close()
        while try delivered().count < 12, sink.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        #expect(sink.isRunning, "a following sink does not stop at the head")
        #expect(checkDelivered(try receiver.accepted(), expected: events) == [])
    }

    @Test func aRemoteSourceIsFollowedThroughServe() async throws {
        let dir = TemporaryDirectory()
        let events = try await makeLog(dir.ledger, count: 40, members: 5, types: ["demo.sale", "demo.note"])
        let secret = try secretFile(in: dir.path)
        let receiver = try Receiver(directory: dir.path + "/receiver", secretFile: secret, seed: 5, failurePercent: 25, stallSeconds: 0.5)
        let served = try ServedLedger(ledger: dir.ledger, arguments: ["--insecure-no-auth", "--no-jobs"])
        let run = try runTool("loyalty", ["sink", "webhook", "--source", served.baseURL, "--state", dir.path + "/remote-state",
                                          "--url", receiver.url, "--secret-file", secret, "--batch-size", "6"] + Self.quick)
        #expect(run.status == 0 && run.out.contains("delivered 40 events") && run.out.contains("position 40"), "\(run.out)\(run.err)")
        #expect(checkDelivered(try receiver.accepted(), expected: events) == [])
        #expect(try String(contentsOfFile: dir.path + "/remote-state/position", encoding: .utf8) == "40\n")
        served.stop()
    }
}

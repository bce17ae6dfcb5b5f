import Foundation
import LedgerJSON
import LedgerStore
import LedgerTestSupport

/// `receiver.py` running as a child process on a free loopback port: a webhook receiver that
/// verifies with the documented snippet and fails at random (see the script). Killed at deinit.
final class Receiver {
    let directory: String
    private(set) var port = 0
    private let process = Process()

    /// Starts the receiver with `secretFile`, failing `failurePercent` % of requests, stalling
    /// `stallSeconds` in one failure kind in four.
    init(directory: String, secretFile: String, seed: Int, failurePercent: Int, stallSeconds: Double = 0.5) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        let schema = here.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("schemas/webhooks.md").path
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", here.appendingPathComponent("receiver.py").path, schema, secretFile, directory,
                             String(seed), String(failurePercent), String(stallSeconds)]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        var bytes: [UInt8] = []
        while !bytes.contains(0x0A) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            bytes += chunk
        }
        let line = String(decoding: bytes, as: UTF8.self)
        guard line.hasPrefix("listening on "), let port = Int(line.dropFirst(13).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw ReceiverError.didNotStart(line)
        }
        self.port = port
    }

    var url: String { "http://127.0.0.1:\(port)/hook" }

    /// The recorded requests' events, request by request, in the order recorded.
    func accepted() throws -> [[ReceivedEvent]] {
        guard let data = FileManager.default.contents(atPath: directory + "/accepted.jsonl") else { return [] }
        return try Array(data).split(separator: 0x0A).map { line in
            let body = try JSONCanonical.parse(utf8: Array(line))
            guard case .array(let events)? = body["events"] else { throw ReceiverError.badBody }
            return try events.map { event in
                guard case .integer(let p)? = event["position"], let position = UInt64(p), case .string(let member)? = event["member"]
                else { throw ReceiverError.badBody }
                return ReceivedEvent(position: position, member: member, json: JSONCanonical.encode(event))
            }
        }
    }

    /// Requests whose signature did not verify.
    func badSignatures() -> String { (try? String(contentsOfFile: directory + "/bad.log", encoding: .utf8)) ?? "" }

    /// From now on, answers 400 to a batch holding an event of one of `members` (none: accepts again).
    func refuse(_ members: [String]) throws {
        try members.map { $0 + "\n" }.joined().write(toFile: directory + "/refuse", atomically: true, encoding: .utf8)
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
    }
}

enum ReceiverError: Error { case didNotStart(String), badBody }

struct ReceivedEvent: Equatable {
    var position: UInt64
    var member: String
    var json: [UInt8]
}

/// What a receiver that de-duplicates by position processed, checked against the log: every
/// event exactly once (each copy the same), and each member's events in log order.
func checkDelivered(_ requests: [[ReceivedEvent]], expected: [RecordedEvent]) -> [String] {
    var problems: [String] = []
    var seen: [UInt64: [UInt8]] = [:]
    var order: [String: [UInt64]] = [:]
    for event in requests.joined() {
        if let first = seen[event.position] {
            if first != event.json { problems.append("position \(event.position) came twice with different bodies") }
            continue
        }
        seen[event.position] = event.json
        order[event.member, default: []].append(event.position)
    }
    let want = Set(expected.map(\.position))
    if Set(seen.keys) != want {
        problems.append("missing \(want.subtracting(seen.keys).sorted().prefix(10)), unexpected \(Set(seen.keys).subtracting(want).sorted().prefix(10))")
    }
    var expectedOrder: [String: [UInt64]] = [:]
    for event in expected { expectedOrder[event.member, default: []].append(event.position) }
    for (member, positions) in expectedOrder where order[member] != positions {
        problems.append("member \(member): processed \(order[member] ?? []) instead of \(positions)")
    }
    return problems
}

/// A fresh log at `path` with `count` events round-robin over `members` members (`M1`..., or
/// another `prefix`),
/// types taken in turn from `types` (raw payloads: a served ledger folds only non-domain types); returns them as read back
/// (with their chain hashes, as the sink sends them).
func makeLog(_ path: String, count: Int, members: Int, types: [String] = ["points.earned", "member.note"], prefix: String = "M") async throws -> [RecordedEvent] {
    let log = try openLog(path)
    defer { log.close() }
    var drafts: [EventDraft] = []
    for i in 0..<count {
        let member = prefix + String(i % members + 1)
        drafts.append(draft(member, types[i % types.count], data: #"{"n":\#(i),"text":"ü\#(i)"}"#))
    }
    _ = try await log.append(drafts)
    return try log.events(after: 0, limit: count + 1, withHashes: true)
}

/// A secret file (mode 600) in `directory`.
func secretFile(in directory: String, text: String = "3f1b9c0d5e7a2b4c6d8e0f1a2b3c4d5e\n", mode: Int = 0o600) throws -> String {
    let path = directory + "/hook.secret"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    return path
}

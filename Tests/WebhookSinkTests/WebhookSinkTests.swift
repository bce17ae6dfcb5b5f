import Foundation
import LedgerStore
import LedgerTestSupport
import Logging
import Testing
import WebhookSink

/// The sink as a library, against a receiver that fails at random.
@Suite(.timeLimit(.minutes(2))) struct WebhookSinkTests {
    @Test func aFlakyReceiverProcessesEveryEventOnceInMemberOrderWithValidSignatures() async throws {
        let dir = TemporaryDirectory()
        let events = try await makeLog(dir.ledger, count: 400, members: 13)
        let secret = try secretFile(in: dir.path)
        // 40 % of requests fail: 500s, connections dropped before and after the batch was
        // recorded, answers stalled past the sink's timeout.
        let receiver = try Receiver(directory: dir.path + "/receiver", secretFile: secret, seed: 7, failurePercent: 40, stallSeconds: 0.5)
        var configuration = WebhookSinkConfiguration(url: receiver.url, secret: try WebhookSecret.load(path: secret),
                                                     source: .ledger(path: dir.ledger), stateDirectory: dir.path + "/state")
        configuration.batchEventsMax = 9
        configuration.retry = RetryPolicy(attemptsMax: 200, backoffInitialMilliseconds: 1, backoffMaxMilliseconds: 20, requestTimeoutMilliseconds: 250)
        let sink = try WebhookSink(configuration: configuration, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        let summary = try await sink.run()

        #expect(summary.eventsDelivered == 400 && summary.eventsFailed == 0 && summary.eventsHeld == 0)
        #expect(summary.position == 400)
        #expect(try String(contentsOfFile: dir.path + "/state/position", encoding: .utf8) == "400\n")
        let requests = try receiver.accepted()
        #expect(checkDelivered(requests, expected: events) == [])
        #expect(requests.joined().count > 400, "the dice dropped no recorded batch: the redelivery path went untested")
        #expect(receiver.badSignatures() == "")
        // A second run finds nothing new.
        let again = try await sink.run()
        #expect(again.eventsDelivered == 0 && again.position == 400)
    }

    @Test func theTypesFilterSendsOnlyMatchingEvents() async throws {
        let dir = TemporaryDirectory()
        let events = try await makeLog(dir.ledger, count: 30, members: 3)
        let secret = try secretFile(in: dir.path)
        let receiver = try Receiver(directory: dir.path + "/receiver", secretFile: secret, seed: 1, failurePercent: 0)
        var configuration = WebhookSinkConfiguration(url: receiver.url, secret: try WebhookSecret.load(path: secret),
                                                     source: .ledger(path: dir.ledger), stateDirectory: dir.path + "/state",
                                                     typePrefix: "points.")
        configuration.batchEventsMax = 4
        let summary = try await WebhookSink(configuration: configuration, logger: Logger(label: "test")).run()
        #expect(summary.eventsDelivered == 15 && summary.position == 30)
        #expect(checkDelivered(try receiver.accepted(), expected: events.filter { $0.type.hasPrefix("points.") }) == [])
    }

    @Test func aBatchReadAgainAfterACrashIsNotSetAsideTwice() async throws {
        // A crash between storing a dead letter and storing the position: the next run reads the
        // same events again. Here the position file is put back to simulate it.
        let dir = TemporaryDirectory()
        // Multibyte member ids, through the dead-letter files and the receiver.
        let events = try await makeLog(dir.ledger, count: 12, members: 3, prefix: "会员-Zoë-")
        let secret = try secretFile(in: dir.path)
        let receiver = try Receiver(directory: dir.path + "/receiver", secretFile: secret, seed: 1, failurePercent: 0)
        try receiver.refuse(["会员-Zoë-2"])
        var configuration = WebhookSinkConfiguration(url: receiver.url, secret: try WebhookSecret.load(path: secret),
                                                     source: .ledger(path: dir.ledger), stateDirectory: dir.path + "/state")
        configuration.batchEventsMax = 1
        let sink = try WebhookSink(configuration: configuration, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        let first = try await sink.run()
        #expect(first.eventsDelivered == 8 && first.eventsFailed == 1 && first.eventsHeld == 3)
        let letters = try WebhookSink.deadLetters(stateDirectory: dir.path + "/state")
        #expect(letters.map(\.kind) == [.failed, .held, .held, .held])
        #expect(letters.flatMap(\.events).map(\.position) == events.filter { $0.member == "会员-Zoë-2" }.map(\.position))
        #expect(letters.flatMap(\.events).map(\.json) == events.filter { $0.member == "会员-Zoë-2" }.map { WebhookEvent($0).json },
                "a dead letter keeps each event's JSON as it was")

        try "0\n".write(toFile: dir.path + "/state/position", atomically: true, encoding: .utf8)
        let again = try await sink.run()
        #expect(again.eventsFailed == 0 && again.eventsHeld == 0 && again.position == 12)
        #expect(try WebhookSink.deadLetters(stateDirectory: dir.path + "/state") == letters)
        // The others were sent again (at least once): the receiver still processes each once.
        #expect(checkDelivered(try receiver.accepted(), expected: events.filter { $0.member != "会员-Zoë-2" }) == [])
    }

    @Test func theSignatureIsTheDocumentedOne() throws {
        // Computed independently: Python's hmac over "1700000000." + body with this secret.
        let secret = WebhookSecret(bytes: Array("0123456789abcdef0123".utf8))
        let body = Array(#"{"id":"1-1","events":[]}"#.utf8)
        let header = WebhookSignature.header(body: body, timestamp: 1_700_000_000, secret: secret)
        #expect(header == "t=1700000000,v1=a047f6846134fb28048230e4dbe8efd2883549bc044ddcb472d9265f5a854650")
        #expect(WebhookSignature.isValid(header: header, body: body, secret: secret.bytes, now: 1_700_000_100))
        #expect(!WebhookSignature.isValid(header: header, body: body + [0x20], secret: secret.bytes, now: 1_700_000_100))
        #expect(!WebhookSignature.isValid(header: header, body: body, secret: Array("0123456789abcdef0124".utf8), now: 1_700_000_100))
        #expect(!WebhookSignature.isValid(header: header, body: body, secret: secret.bytes, now: 1_700_000_301), "too old")
        #expect(!WebhookSignature.isValid(header: "t=-1,v1=00", body: body, secret: secret.bytes, now: 0))
        #expect(!WebhookSignature.isValid(header: "v1=" + header.dropFirst(16), body: body, secret: secret.bytes, now: 1_700_000_000))
        // A second v1 (a rotated secret's) is accepted when one matches.
        #expect(WebhookSignature.isValid(header: "t=1700000000,v1=00ff," + header.dropFirst(13), body: body, secret: secret.bytes, now: 1_700_000_000))
    }

    @Test func theBackoffGrowsToItsCapWithJitter() {
        let policy = RetryPolicy(attemptsMax: 5, backoffInitialMilliseconds: 100, backoffMaxMilliseconds: 1_000)
        var random = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            #expect((50...100).contains(policy.delayMilliseconds(afterFailure: 1, using: &random)))
            #expect((200...400).contains(policy.delayMilliseconds(afterFailure: 3, using: &random)))
            #expect((500...1_000).contains(policy.delayMilliseconds(afterFailure: 10, using: &random)))
            #expect((500...1_000).contains(policy.delayMilliseconds(afterFailure: Int.max, using: &random)))
        }
    }

    @Test func secretFilesAreRefusedUnlessPrivateAndLongEnough() throws {
        let dir = TemporaryDirectory()
        func refusal(_ text: String?, mode: Int = 0o600) -> String {
            let path = dir.path + "/s-\(UUID().uuidString)"
            if let text { _ = try? secretFile(in: dir.path, text: text, mode: mode); try? FileManager.default.moveItem(atPath: dir.path + "/hook.secret", toPath: path) }
            do {
                _ = try WebhookSecret.load(path: path)
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        #expect(refusal(nil).contains("does not exist"))
        #expect(refusal("").contains("is empty"))
        #expect(refusal("\n \n").contains("is empty"))
        #expect(refusal("short").contains("at least 16 bytes"))
        #expect(refusal("0123456789abcdef0123", mode: 0o644).contains("readable by every user"))
        #expect(refusal("0123456789abcdef0123", mode: 0o602).contains("writable by every user"))
        #expect(refusal(String(repeating: "x", count: 5_000)).contains("more than 4096"))
        #expect(refusal("0123456789abcdef0123\n", mode: 0o640) == "accepted")
        #expect((try? WebhookSecret.load(path: dir.path))?.bytes == nil)
    }
}

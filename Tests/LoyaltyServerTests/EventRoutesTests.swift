import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import LedgerJSON
import LedgerTailClient
import LedgerTestSupport
import LoyaltyLedger
@testable import LoyaltyServer
import Synchronization
import Testing

@Suite struct LongPollTests {
    @Test func answersAtOnceWaitsForACommitAndIsEmptyAfterWait() async throws {
        try await withServer { client, server in
            let enrolled = try await client.send(.post, "/v1/members", json: #"{"member":"m1","store":"S1","occurredAt":"2026-01-01T00:00:00Z"}"#)
            #expect(enrolled.status == .created)
            let head = try server.app.log.headPosition()
            let all = try await client.send(.get, "/v1/events")
            #expect(all.status == .ok, "\(all.text)")
            // The same lines as `loyalty events`, inside one JSON document.
            let lines = try logLines(server.app)
            let expected = #"{"events":["# + (1...head).compactMap { lines[$0] }.joined(separator: ",") + #"],"next":\#(head),"head":\#(head)}"# + "\n"
            #expect(all.text == expected)
            let limited = try await client.send(.get, "/v1/events?after=0&limit=1")
            #expect(limited.json?["next"] == .int(1))

            // Nothing after the head: empty after `wait`.
            let clock = ContinuousClock()
            let started = clock.now
            let empty = try await client.send(.get, "/v1/events?after=\(head)&wait=1")
            #expect(started.duration(to: clock.now) >= .milliseconds(900))
            #expect(empty.json?["events"] == .array([]) && empty.json?["next"] == .int(Int64(head)), "\(empty.text)")

            // A commit during the wait answers at once (written through the ledger: the test
            // client has one connection, busy with the poll).
            async let woken = client.send(.get, "/v1/events?after=\(head)&wait=15")
            try await Task.sleep(for: .milliseconds(300))
            let waitStart = clock.now
            try await Load.purchases(1..<2, members: 2, server)
            let answer = try await woken
            #expect(waitStart.duration(to: clock.now) < .seconds(5))
            guard case .array(let events)? = answer.json?["events"] else { Issue.record("no events: \(answer.text)"); return }
            #expect(!events.isEmpty && events.first?["position"] == .int(Int64(head + 1)), "\(answer.text)")
        }
    }

    @Test func filtersAnswerMatchingEventsAndNextCoversTheSkippedOnes() async throws {
        try await withServer { client, server in
            for member in ["m1", "m2"] {
                _ = try await client.send(.post, "/v1/members", json: #"{"member":"\#(member)","store":"S1","occurredAt":"2026-01-01T00:00:00Z"}"#)
            }
            for i in 1...3 {
                _ = try await client.send(.post, "/v1/purchases", json: #"{"member":"m1","purchaseId":"p\#(i)","amount":"5.00","store":"S1","occurredAt":"2026-01-05T10:00:00Z"}"#)
            }
            let head = try server.app.log.headPosition()
            let m2 = try await client.send(.get, "/v1/events?member=m2")
            guard case .array(let m2Events)? = m2.json?["events"] else { Issue.record("\(m2.text)"); return }
            #expect(m2Events.count == 1 && m2Events.allSatisfy { $0["member"] == .string("m2") }, "\(m2.text)")
            // Every event after m2's enrollment was examined and filtered out: resume at the head.
            #expect(m2.json?["next"] == .int(Int64(head)))

            let points = try await client.send(.get, "/v1/events?type=points.")
            guard case .array(let pointEvents)? = points.json?["events"] else { Issue.record("\(points.text)"); return }
            #expect(!pointEvents.isEmpty && pointEvents.allSatisfy {
                if case .string(let type)? = $0["type"] { return type.hasPrefix("points.") } else { return false }
            }, "\(points.text)")

            let firstOfM1 = try await client.send(.get, "/v1/events?member=m1&limit=1")
            guard case .array(let one)? = firstOfM1.json?["events"], let position = one.first?["position"] else { Issue.record("\(firstOfM1.text)"); return }
            #expect(one.count == 1 && firstOfM1.json?["next"] == position, "with the limit reached, next is the last event given")

            // Filtered and nothing after the head: waits, then resumes at the head.
            let none = try await client.send(.get, "/v1/events?member=nobody&after=0&wait=1")
            #expect(none.json?["events"] == .array([]) && none.json?["next"] == .int(Int64(head)), "\(none.text)")
        }
    }

    @Test func badParametersAre400NamingTheParameter() async throws {
        try await withServer { client, _ in
            for (query, name) in [("after=-1", "after"), ("after=x", "after"), ("limit=0", "limit"), ("limit=10001", "limit"),
                                  ("wait=61", "wait"), ("wait=-1", "wait"), ("member=", "member"), ("type=", "type")] {
                let answer = try await client.send(.get, "/v1/events?\(query)")
                #expect(answer.status == .badRequest && answer.problemType == "/problems/invalid-parameter", "\(query): \(answer.text)")
                #expect(answer.json?["field"] == .string(name), "\(query): \(answer.text)")
            }
            let name = try #require(HTTPField.Name("Last-Event-ID"))
            let header = try await client.send(.get, "/v1/events/stream", headers: [name: "x"])
            #expect(header.status == .badRequest && header.json?["field"] == .string("Last-Event-ID"), "\(header.text)")
        }
    }
}

@Suite struct EventStreamTests {
    /// A consumer reads part of the log, disconnects, the server restarts (the same ledger
    /// directory), and the consumer resumes from its `Last-Event-ID`: every event once, in order.
    @Test func resumingFromLastEventIDSeesEveryEventOnceAcrossARestart() async throws {
        let dir = TemporaryDirectory()
        let firstPart = Shared<[SSEMessage]>([])
        try await withServer(ledger: dir.ledger, create: true) { client, server in
            try await Load.enroll(0..<5, server)
            let port = try #require(client.port)
            // `after` is overridden by the header.
            let read = try await readStream(port: port, "/v1/events/stream?after=3", headers: [("Last-Event-ID", "0")]) { messages in
                messages.filter(\.isEvent).count >= 4
            }
            #expect(read.first?.position == 1)
            firstPart.value = read
            try await Load.purchases(0..<5, members: 5, server)
        }
        let seen = firstPart.value.filter(\.isEvent)
        let resumeAfter = try #require(seen.last?.position)
        try await withServer(ledger: dir.ledger, create: false) { client, server in
            try await Load.purchases(5..<10, members: 5, server)
            let head = try server.app.log.headPosition()
            let port = try #require(client.port)
            let rest = try await readStream(port: port, "/v1/events/stream", headers: [("Last-Event-ID", String(resumeAfter))]) { messages in
                messages.last?.position == head
            }
            let all = seen + rest.filter(\.isEvent)
            #expect(all.compactMap(\.position) == Array(1...head))
            let lines = try logLines(server.app)
            #expect(all.map(\.data) == (1...head).compactMap { lines[$0] })
            #expect(rest.filter(\.isEvent).allSatisfy { message in
                lines[message.position ?? 0].map { $0.contains(#""type":"\#(message.event)""#) } ?? false
            }, "event: is the type")
        }
    }

    /// With a filter, events carry their own positions and a checkpoint says how far the stream
    /// examined, so a resume skips what was filtered out.
    @Test func filteredStreamSendsCheckpoints() async throws {
        try await withServer { client, server in
            try await Load.enroll(0..<3, server)
            try await Load.purchases(0..<6, members: 3, server)
            let head = try server.app.log.headPosition()
            let port = try #require(client.port)
            let messages = try await readStream(port: port, "/v1/events/stream?member=m1") { messages in
                messages.contains { $0.event == "checkpoint" }
            }
            let events = messages.filter(\.isEvent)
            #expect(events.count == 5 && events.allSatisfy { $0.data.contains(#""member":"m1""#) }, "\(messages)")
            #expect(messages.last?.event == "checkpoint" && messages.last?.position == head && messages.last?.data == #"{"checkpoint":\#(head)}"#)
        }
    }

    /// A consumer too slow for the writer is cut off with where to resume, while the writer
    /// goes on at full speed and another consumer keeps up.
    @Test func slowConsumerIsCutOffWhileTheWriterAndAFastConsumerGoOn() async throws {
        var configuration = ServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.stream.lagEventsMax = 20_000
        configuration.stream.stallTimeout = .seconds(20)
        try await withServer(configuration: configuration) { client, server in
            let members = 50
            try await Load.enroll(0..<members, server)
            let port = try #require(client.port)
            let start = try server.app.log.headPosition()
            let target = Shared<UInt64>(.max)
            async let slow = readStream(port: port, "/v1/events/stream?after=\(start)", pause: .milliseconds(50), timeout: .seconds(180)) { messages in
                messages.last?.event == "cutoff"
            }
            async let fast = readStream(port: port, "/v1/events/stream?after=\(start)", timeout: .seconds(120)) { messages in
                let want = target.value
                return messages.last?.position.map { $0 >= want } ?? false
            }
            for _ in 0..<100 where server.streamMetrics.count < 2 { try await Task.sleep(for: .milliseconds(50)) }
            #expect(server.streamMetrics.count == 2)
            // Full speed until the server cut the slow consumer off (its stream closed).
            let clock = ContinuousClock()
            let began = clock.now
            var written = 0
            while server.streamMetrics.count == 2, written < 300_000 {
                try await Load.purchases(written..<(written + 500), members: members, server)
                written += 500
            }
            let writing = began.duration(to: clock.now)
            let head = try server.app.log.headPosition()
            target.value = head

            let slowMessages = try await slow
            let cutoff = try #require(slowMessages.last)
            #expect(cutoff.event == "cutoff")
            let resumeAfter = try #require(cutoff.position)
            #expect(cutoff.data == #"{"resumeAfter":\#(resumeAfter)}"#)
            let slowEvents = slowMessages.filter(\.isEvent).compactMap(\.position)
            #expect(slowEvents == Array((start + 1)...resumeAfter), "the slow consumer got every event up to where it resumes: \(slowEvents.count)")
            #expect(resumeAfter < head)

            let fastMessages = try await fast
            #expect(!fastMessages.contains { $0.event == "cutoff" }, "\(fastMessages.last.map { "\($0.event) \($0.data)" } ?? "")")
            let fastEvents = fastMessages.filter(\.isEvent).compactMap(\.position)
            #expect(fastEvents == Array((start + 1)...head), "\(fastEvents.count) events, \(fastEvents.first ?? 0)...\(fastEvents.last ?? 0)")
            print("wrote \(head - start) events in \(writing); the slow consumer was cut off after \(resumeAfter - start)")
        }
    }

    /// A consumer that stops reading holds its stream only until a write to it has waited
    /// `stallTimeout`; the writer never waits for it.
    @Test func stalledConsumerIsDisconnected() async throws {
        var configuration = ServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.stream.stallTimeout = .milliseconds(500)
        try await withServer(configuration: configuration) { client, server in
            try await Load.enroll(0..<50, server)
            let port = try #require(client.port)
            let consumer = Task { try? await readStream(port: port, "/v1/events/stream", pause: .seconds(600), timeout: .seconds(600)) { _ in false } }
            defer { consumer.cancel() }
            for _ in 0..<100 where server.streamMetrics.count == 0 { try await Task.sleep(for: .milliseconds(50)) }
            var written = 0
            while server.streamMetrics.count == 1, written < 300_000 {
                try await Load.purchases(written..<(written + 500), members: 50, server)
                written += 500
            }
            #expect(server.streamMetrics.count == 0, "the stalled stream was closed after \(written) purchases")
        }
    }

    @Test func streamsEndWhenTheServerStopsAndAreCounted() async throws {
        let dir = TemporaryDirectory()
        let metrics = Shared<StreamMetrics?>(nil)
        let clock = ContinuousClock()
        let began = clock.now
        try await withServer(ledger: dir.ledger, create: true) { client, server in
            metrics.value = server.streamMetrics
            let port = try #require(client.port)
            // A consumer that stays: its stream must end when the server stops.
            Task { _ = try? await readStream(port: port, "/v1/events/stream", timeout: .seconds(120)) { _ in false } }
            for _ in 0..<100 where server.streamMetrics.count == 0 { try await Task.sleep(for: .milliseconds(50)) }
            #expect(server.streamMetrics.count == 1)
        }
        #expect(began.duration(to: clock.now) < .seconds(15), "shutdown did not wait for the stream")
        #expect(metrics.value?.count == 0)
    }
}

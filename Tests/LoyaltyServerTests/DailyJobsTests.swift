import Foundation
import Logging
import LoyaltyDomain
import LoyaltyLedger
import LoyaltyServer
import ServiceLifecycle
import Synchronization
import Testing

@Suite struct DailyJobsTests {
    let plus8 = ProgramTimeZone("+08:00")!

    @Test func theScheduleIsALocalTimeOfDay() throws {
        let jobs = try #require(DailyJobs(time: "03:30"))
        #expect(jobs.time == "03:30")
        // 2026-12-03T10:00Z is 18:00 in +08:00: today's 03:30 local (2026-12-02T19:30Z) is past.
        let now = try #require(Timestamp(rfc3339: "2026-12-03T10:00:00Z"))
        #expect(jobs.lastDue(at: now, zone: plus8).rfc3339 == "2026-12-02T19:30:00Z")
        #expect(jobs.nextDue(after: now, zone: plus8).rfc3339 == "2026-12-03T19:30:00Z")
        // Exactly at the instant: it is due now, and the next is a day later.
        let at = try #require(Timestamp(rfc3339: "2026-12-02T19:30:00Z"))
        #expect(jobs.lastDue(at: at, zone: plus8) == at)
        #expect(jobs.nextDue(after: at, zone: plus8).rfc3339 == "2026-12-03T19:30:00Z")
        for bad in ["24:00", "3:00", "03:60", "", "03", "03:00:00", "-1:00", "٠٣:٠٠"] { #expect(DailyJobs(time: bad) == nil, "\(bad)") }
    }

    @Test func theServiceRunsTheLastDueInstantAtStartAndARerunWritesNothing() async throws {
        let now = try #require(Timestamp(rfc3339: "2026-12-03T10:00:00Z"))
        try await withServer(clock: .fixed(now)) { client, server in
            // A lot earned in January 2025 expires at the end of January 2026.
            _ = try await client.send(.post, "/v1/members", json: #"{"member":"m1","store":"S1","occurredAt":"2025-01-01T00:00:00Z"}"#)
            let p = try await client.send(.post, "/v1/purchases", json: #"{"member":"m1","purchaseId":"p1","amount":"40.00","store":"S1","occurredAt":"2025-01-05T10:00:00Z"}"#)
            #expect(p.status == .created, "\(p.text)")
            let runs = Mutex<[DailyJobsRun]>([])
            let service = DailyJobsService(app: server.app, schedule: DailyJobs(minuteOfDay: 3 * 60), logger: Logger(label: "test")) { run in
                runs.withLock { $0.append(run) }
            }
            let group = ServiceGroup(services: [service], logger: Logger(label: "test"))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                while runs.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(10)) }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            let run = try #require(runs.withLock { $0.first })
            #expect(run.asOf.rfc3339 == "2026-12-03T03:00:00Z")
            #expect(run.expiryEvents == 1, "\(run)")
            let again = try await server.app.runDailyJobs(asOf: run.asOf)
            #expect(again.expiryEvents == 0 && again.tierEvents == 0)
            let balance = try await client.send(.get, "/v1/members/m1/balance")
            #expect(balance.json?["available"] == .integer("0") && balance.json?["expired"] == .integer("40"), "\(balance.text)")
        }
    }
}

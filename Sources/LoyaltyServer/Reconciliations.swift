import LedgerJSON
import LoyaltyDomain
import LoyaltyLedger
import Projections
import Synchronization

/// `GET /v1/reconciliation`: a reconciliation replays the whole log (seconds to minutes on a
/// large ledger), so the latest report is kept with the log's head it was run at and answered
/// again while the log has not moved on. At most one runs at a time: a request arriving during
/// a run waits for that run's report.
final class Reconciliations: Sendable {
    private struct Latest { var head: UInt64; var report: JSONValue }
    private struct State { var latest: Latest?; var running: Task<Latest, any Error>? }
    private enum Next { case ready(JSONValue), wait(Task<Latest, any Error>) }
    private let state = Mutex(State())

    /// The latest report when the log's head has not moved since it ran; otherwise a new run's
    /// (the balances projection caught up first, evaluated at `now()`).
    func latest(app: LedgerApplication, now: @escaping @Sendable () -> Timestamp) async throws -> JSONValue {
        while true {
            let head = try app.log.headPosition()
            let next: Next = state.withLock { s in
                if let latest = s.latest, latest.head == head { return .ready(latest.report) }
                if let running = s.running { return .wait(running) }
                let task = Task<Latest, any Error> {
                    try await StreamedBody.onThread {
                        try app.catchUp([Balances.name])
                        let outcome = try app.reconcile(at: now())
                        return Latest(head: outcome.report.headPosition, report: outcome.report.json)
                    }
                }
                s.running = task
                return .wait(task)
            }
            let task: Task<Latest, any Error>
            switch next {
            case .ready(let report): return report
            case .wait(let running): task = running
            }
            let result = await task.result
            state.withLock { s in
                if s.running == task { s.running = nil }
                if case .success(let latest) = result, latest.head >= (s.latest?.head ?? 0) { s.latest = latest }
            }
            // A run that started before this request's head answers it only when it saw it all.
            let latest = try result.get()
            if latest.head >= head { return latest.report }
        }
    }
}

package import Dispatch
import Synchronization

/// A result that arrives once, later, from another thread, and that any number of callers wait
/// for: tasks with `value` (the log writer's reply to a decision), threads with `wait()` (a run
/// read ahead, a projection commit, a chunk of history decoded on a queue).
///
/// The one one-shot type of the package: `fulfill` keeps the first result and ignores later
/// ones; every wait after that returns the kept result at once.
package final class Promise<T: Sendable>: Sendable {
    private enum State {
        case waiting([CheckedContinuation<T, any Error>])
        case kept(Result<T, any Error>)
    }

    private let state = Mutex<State>(.waiting([]))
    /// Signalled once when the result is kept; each blocking waiter passes the signal on.
    private let kept = DispatchSemaphore(value: 0)

    package init() {}

    /// Runs `work` on `queue` and keeps what it returns or throws.
    package convenience init(on queue: DispatchQueue, _ work: @escaping @Sendable () throws -> T) {
        self.init()
        queue.async { [self] in fulfill(Result { try work() }) }
    }

    /// Keeps the promise; a second call is ignored.
    package func fulfill(_ result: Result<T, any Error>) {
        let waiters: [CheckedContinuation<T, any Error>]? = state.withLock { s in
            guard case .waiting(let waiters) = s else { return nil }
            s = .kept(result)
            return waiters
        }
        guard let waiters else { return }
        kept.signal()
        for waiter in waiters { waiter.resume(with: result) }
    }

    /// Waits (suspending the task) for the result.
    package var value: T {
        get async throws {
            try await withCheckedThrowingContinuation { continuation in
                let result: Result<T, any Error>? = state.withLock { s in
                    switch s {
                    case .kept(let result):
                        return result
                    case .waiting(var waiters):
                        waiters.append(continuation)
                        s = .waiting(waiters)
                        return nil
                    }
                }
                if let result { continuation.resume(with: result) }
            }
        }
    }

    /// Waits (blocking the thread) for the result. Never call it from a task on the cooperative
    /// pool while the work that fulfils the promise needs that pool.
    package func wait() -> Result<T, any Error> {
        kept.wait()
        kept.signal()  // for the next waiter
        return state.withLock { s in
            // `kept` is signalled only after the state became `.kept`.
            guard case .kept(let result) = s else { return .failure(PromiseBroken()) }
            return result
        }
    }

    /// `wait()`, the result returned or thrown.
    package func get() throws -> T { try wait().get() }
}

/// A promise was found without its result after its signal (an internal fault, never expected).
package struct PromiseBroken: Error, CustomStringConvertible {
    package var description: String { "a promise signalled without its result" }
}

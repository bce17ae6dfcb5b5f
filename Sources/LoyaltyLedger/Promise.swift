import Synchronization

/// A result that arrives once, later, from another thread (the log writer's reply), and that any
/// number of tasks can wait for.
final class Promise<T: Sendable>: Sendable {
    private enum State {
        case waiting([CheckedContinuation<T, any Error>])
        case kept(Result<T, any Error>)
    }

    private let state = Mutex<State>(.waiting([]))

    /// Keeps the promise; a second call is ignored.
    func fulfill(_ result: Result<T, any Error>) {
        let waiters: [CheckedContinuation<T, any Error>] = state.withLock { s in
            guard case .waiting(let waiters) = s else { return [] }
            s = .kept(result)
            return waiters
        }
        for waiter in waiters { waiter.resume(with: result) }
    }

    var value: T {
        get async throws {
            try await withCheckedThrowingContinuation { continuation in
                let kept: Result<T, any Error>? = state.withLock { s in
                    switch s {
                    case .kept(let result):
                        return result
                    case .waiting(var waiters):
                        waiters.append(continuation)
                        s = .waiting(waiters)
                        return nil
                    }
                }
                if let kept { continuation.resume(with: kept) }
            }
        }
    }
}

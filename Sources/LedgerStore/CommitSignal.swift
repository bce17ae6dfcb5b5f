import Synchronization

/// Wakes in-process subscribers when the writer commits. Subscribers in other processes poll.
final class CommitSignal: Sendable {
    private struct State {
        var head: UInt64
        var waiters: [Int: (after: UInt64, continuation: CheckedContinuation<Void, Never>)] = [:]
        var nextId = 0
    }

    private let state: Mutex<State>

    init(head: UInt64) { state = Mutex(State(head: head)) }

    /// Called by the writer after each commit.
    func publish(head: UInt64) {
        let ready = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.head = max(s.head, head)
            var ready: [CheckedContinuation<Void, Never>] = []
            for (id, waiter) in s.waiters where waiter.after < s.head {
                ready.append(waiter.continuation)
                s.waiters[id] = nil
            }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }

    /// Returns when the head passes `position`, after `timeoutNanoseconds`, or on cancellation,
    /// whichever comes first. The caller re-reads the log in every case (polling fallback).
    func wait(after position: UInt64, timeoutNanoseconds: UInt64) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForHead(after: position) }
            group.addTask { try? await Task.sleep(nanoseconds: timeoutNanoseconds) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForHead(after position: UInt64) async {
        let id = state.withLock { s -> Int in
            s.nextId += 1
            return s.nextId
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.head > position || Task.isCancelled { return true }
                    s.waiters[id] = (position, continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { s in s.waiters.removeValue(forKey: id) }
            waiter?.continuation.resume()
        }
    }
}

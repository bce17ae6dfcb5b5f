import Dispatch
import Synchronization

/// A bounded queue from one producer (the log reader) to one consumer (a fold thread): `put`
/// blocks once `depthMax` items wait, so a slow fold holds back the reader instead of the log
/// piling up in memory. `nil` ends the stream.
final class BatchQueue<Item: Sendable>: @unchecked Sendable {
    // @unchecked: the items live in a `Mutex`; the semaphores are libdispatch's own thread-safe
    // counters (used only through `wait` and `signal`) and never change after `init`.
    private let items = Mutex<[Item?]>([])
    private let filled = DispatchSemaphore(value: 0)
    private let free: DispatchSemaphore
    private let finished = DispatchSemaphore(value: 0)

    init(depthMax: Int) {
        precondition(depthMax >= 1, "a queue holds at least one item")
        free = DispatchSemaphore(value: depthMax)
    }

    /// Adds `item` (nil: the end), waiting while the queue is full.
    func put(_ item: Item?) {
        free.wait()
        items.withLock { $0.append(item) }
        filled.signal()
    }

    /// The next item, waiting while the queue is empty; nil at the end.
    func take() -> Item? {
        filled.wait()
        let item = items.withLock { $0.removeFirst() }
        free.signal()
        return item
    }

    /// Called by the consumer once it has taken the end and finished its work.
    func markFinished() { finished.signal() }

    /// Waits until the consumer called `markFinished`.
    func waitFinished() { finished.wait() }
}

import Foundation
import Logging
import Synchronization

/// Writes frozen overlay generations to the index environment on its own thread, so that the
/// random-key B-tree writes never sit on the commit path.
final class IndexFlusher: @unchecked Sendable {
    // @unchecked: `wanted`, `busy` and `stopping` are guarded by `condition`; `overlay` is set once
    // in start() before the thread runs.
    private let index: LogIndex
    private let logger: Logger
    private let condition = NSCondition()
    private var wanted = false
    private var busy = false
    private var stopping = false
    private var overlay: IndexOverlay?
    private let finished = DispatchSemaphore(value: 0)

    init(index: LogIndex, logger: Logger) {
        self.index = index
        self.logger = logger
    }

    func start(overlay: IndexOverlay) {
        self.overlay = overlay
        let thread = Thread { [self] in run() }
        thread.name = "ledger-index-flusher"
        thread.start()
    }

    func wake() {
        condition.lock()
        wanted = true
        condition.signal()
        condition.unlock()
    }

    func waitUntilIdle() {
        condition.lock()
        while wanted || busy { condition.wait() }
        condition.unlock()
    }

    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        finished.wait()
    }

    private func run() {
        guard let overlay else { preconditionFailure("IndexFlusher.start(overlay:) not called") }
        while true {
            condition.lock()
            while !wanted && !stopping { condition.wait() }
            if stopping && !wanted {
                condition.unlock()
                break
            }
            wanted = false
            busy = true
            condition.unlock()

            let frozen = overlay.withLock { state in state.frozenWritten ? nil : state.frozen }
            if let frozen {
                do {
                    try index.write(frozen)
                    overlay.withLock { $0.frozenWritten = true }
                } catch {
                    // The entries stay in memory (frozen) and the log stays the truth; the next
                    // open catches the index up from the log.
                    logger.error("index flush failed", metadata: ["error": "\(error)", "through": "\(frozen.through)"])
                }
            }
            condition.lock()
            busy = false
            condition.broadcast()
            condition.unlock()
        }
        finished.signal()
    }
}

import Metrics
import Synchronization

/// The gauges of the event stream, through swift-metrics: `loyalty_sse_consumers` (open streams)
/// and `loyalty_sse_consumer_lag_events` (the largest lag of an open stream: the head minus the
/// last position it examined). One gauge for the largest lag, not one per stream, so the series
/// do not grow with every connection.
final class StreamMetrics: Sendable {
    private let consumers = Gauge(label: "loyalty_sse_consumers")
    private let lag = Gauge(label: "loyalty_sse_consumer_lag_events")
    private let lags = Mutex<(next: Int, byStream: [Int: UInt64])>((0, [:]))

    /// A new stream: its token for `update` and `remove`.
    func add() -> Int {
        let (token, count) = lags.withLock { state in
            state.next += 1
            state.byStream[state.next] = 0
            return (state.next, state.byStream.count)
        }
        consumers.record(count)
        return token
    }

    func update(_ token: Int, lag value: UInt64) {
        let largest = lags.withLock { state in
            state.byStream[token] = value
            return state.byStream.values.max() ?? 0
        }
        lag.record(Int64(clamping: largest))
    }

    func remove(_ token: Int) {
        let (count, largest) = lags.withLock { state in
            state.byStream[token] = nil
            return (state.byStream.count, state.byStream.values.max() ?? 0)
        }
        consumers.record(count)
        lag.record(Int64(clamping: largest))
    }

    /// The open streams (tests read it).
    var count: Int { lags.withLock { $0.byStream.count } }
}

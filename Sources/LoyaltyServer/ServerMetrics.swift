import LoyaltyLedger
import Metrics
import Prometheus

/// The metrics of a server, in Prometheus text format at `GET /metrics`.
///
/// swift-metrics has one backend per process: the first server of a process bootstraps it with a
/// `PrometheusMetricsFactory` over `ServerMetrics.registry`, and every metric made through
/// swift-metrics anywhere in the process (hummingbird's `MetricsMiddleware`, the event stream's
/// consumer gauges, these) is exported from there. Several servers in one process (tests) share
/// the registry: request metrics add up, the ledger gauges show the server scraped last.
///
/// What is measured:
/// - `http_server_request_duration_seconds{http_route, http_request_method, http_response_status_code}`
///   (histogram), `hb_requests_total`, `hb_request_errors_total`, `http_server_active_requests`:
///   hummingbird's `MetricsMiddleware`;
/// - `loyalty_log_commits_total`, `loyalty_log_appended_events_total`, `loyalty_log_commit_events`
///   (histogram of events per commit): from the log's writer, at each commit;
/// - `loyalty_projection_lag_events{projection}`, `loyalty_projection_lag_seconds{projection}`,
///   `loyalty_log_map_used_bytes`, `loyalty_log_map_size_bytes`, `loyalty_log_head_position`:
///   read at each scrape;
/// - `loyalty_sse_consumers`, `loyalty_sse_consumer_lag_events`: made by the event stream.
final class ServerMetrics: Sendable {
    /// The registry of the process (see the type's comment).
    static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Request durations: fine below 10 ms (the API's latency targets are p99 10 ms and 50 ms).
        factory.defaultDurationHistogramBuckets = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2_500), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
            .milliseconds(2_500), .seconds(5), .seconds(10),
        ]
        factory.valueHistogramBuckets[commitEventsLabel] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1_024, 2_048, 4_096, 8_192, 16_384]
        // Prometheus names a duration in seconds `..._seconds`.
        factory.nameAndLabelSanitizer = { name, labels in
            (name == "http.server.request.duration" ? "http_server_request_duration_seconds" : name, labels)
        }
        MetricsSystem.bootstrap(factory)
        return registry
    }()

    static let commitEventsLabel = "loyalty_log_commit_events"

    let app: LedgerApplication

    init(app: LedgerApplication) {
        _ = Self.registry  // bootstrap before any metric is made
        self.app = app
        let commits = Counter(label: "loyalty_log_commits_total")
        let appended = Counter(label: "loyalty_log_appended_events_total")
        let sizes = Recorder(label: Self.commitEventsLabel, aggregate: true)
        app.log.observeCommits { events in
            commits.increment()
            appended.increment(by: events)
            sizes.record(events)
        }
    }

    /// The metrics as Prometheus text, the ledger's gauges read now.
    func scrape() throws -> [UInt8] {
        let map = try app.log.mapUsage()
        Gauge(label: "loyalty_log_map_used_bytes").record(map.usedBytes)
        Gauge(label: "loyalty_log_map_size_bytes").record(map.sizeBytes)
        Gauge(label: "loyalty_log_head_position").record(Int64(clamping: try app.log.headPosition()))
        for status in try app.projections().status() {
            let dimensions = [("projection", status.name)]
            Gauge(label: "loyalty_projection_lag_events", dimensions: dimensions).record(Int64(clamping: status.lagEvents))
            Gauge(label: "loyalty_projection_lag_seconds", dimensions: dimensions).record(Double(status.lagMicroseconds) / 1_000_000)
        }
        return Self.registry.emitToBuffer()
    }
}

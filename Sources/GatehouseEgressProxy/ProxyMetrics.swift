import Prometheus
import Synchronization

/// The proxy's metrics, in the registry behind `/metrics`:
/// `gatehouse_egress_connections_total{outcome,reason}`, `gatehouse_egress_active_connections`,
/// `gatehouse_egress_bytes_total{direction}`.
public final class ProxyMetrics: Sendable {
    /// Bytes relayed in one direction.
    struct ByteCounter: Sendable {
        let counter: Counter
        func count(_ n: Int) { if n > 0 { counter.increment(by: Int64(n)) } }
    }

    let registry: PrometheusCollectorRegistry
    let active: Gauge
    let bytesUp: ByteCounter
    let bytesDown: ByteCounter
    private let outcomes = Mutex([String: Counter]())

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        active = registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "gatehouse", metricName: "egress_active_connections", unitName: "", helpText: "Client connections open on the egress proxy."))
        let bytes = MetricNameDescriptor(namespace: "gatehouse", metricName: "egress_bytes", unitName: "total", helpText: "Bytes relayed by the egress proxy.")
        bytesUp = ByteCounter(counter: registry.makeCounter(descriptor: bytes, labels: [("direction", "upstream")]))
        bytesDown = ByteCounter(counter: registry.makeCounter(descriptor: bytes, labels: [("direction", "downstream")]))
    }

    /// How a connection ended up: `tunnel` or `forward` (allowed; `reason` is `ok`, or what
    /// enforce mode would have refused), `refused`, `bad_request`, `upstream_unreachable`,
    /// `over_capacity`, `unavailable`.
    func count(_ outcome: String, reason: String = "ok") {
        let key = outcome + "/" + reason
        let counter = outcomes.withLock { cache in
            if let counter = cache[key] { return counter }
            let counter = registry.makeCounter(
                descriptor: MetricNameDescriptor(
                    namespace: "gatehouse", metricName: "egress_connections", unitName: "total", helpText: "Egress proxy connections by outcome and reason."),
                labels: [("outcome", outcome), ("reason", reason)])
            cache[key] = counter
            return counter
        }
        counter.increment()
    }
}

import Hummingbird
import Prometheus

/// The Prometheus registry behind `/metrics`, and request counters by route and status.
public final class GatehouseMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()

    public init() {}

    static var requests: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "gatehouse", metricName: "http_requests", unitName: "total", helpText: "HTTP requests by route and status.")
    }

    static var decisions: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "gatehouse", metricName: "decisions", unitName: "total", helpText: "Decisions by kind and reason.")
    }

    func countDecision(kind: String, reason: String) {
        registry.makeCounter(descriptor: Self.decisions, labels: [("kind", kind), ("reason", reason)]).increment()
    }

    /// A gauge named `gatehouse_<name>`.
    func gauge(_ name: String, help: String, labels: [(String, String)] = []) -> Gauge {
        registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "gatehouse", metricName: name, unitName: "", helpText: help), labels: labels)
    }

    func countRequest(method: String, route: String, status: Int) {
        registry.makeCounter(descriptor: Self.requests, labels: [("method", method), ("route", route), ("status", String(status))]).increment()
    }

    /// The text exposition format.
    func render() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}

/// Counts every response. The route label is the matched route template (never the raw
/// path, which would let clients create unbounded label values).
struct MetricsMiddleware: RouterMiddleware {
    typealias Context = GatehouseContext
    let metrics: GatehouseMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let response = try await next(request, context)
        metrics.countRequest(method: request.method.rawValue, route: context.endpointPath ?? "unmatched", status: response.status.code)
        return response
    }
}

import GatehouseDomain
import GatehouseService
import Hummingbird
import Prometheus

/// The Prometheus registry behind `/metrics`, and request counters by route and status.
public final class GatehouseMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()

    /// Every decision counter by kind and reason, made up front: counting a decision takes no
    /// lock and makes no string.
    private let decisionCounters: [String: [String: Counter]]
    /// Decisions answered on the event loop, before the router (`DecisionFastPath`).
    private let decisionsOnEventLoop: Counter

    public init() {
        var counters: [String: [String: Counter]] = [:]
        for kind in ["login", "upload", "egress", "gate"] {
            // The gate also answers "sign in first" and refuses askers it does not trust.
            let extra = kind == "gate" ? Self.gateOutcomes : []
            for reason in DecisionReason.allCases.map(\.rawValue) + extra {
                counters[kind, default: [:]][reason] = registry.makeCounter(
                    descriptor: Self.decisions, labels: [("kind", kind), ("reason", reason)])
            }
        }
        decisionCounters = counters
        decisionsOnEventLoop = registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "gatehouse", metricName: "decisions_on_event_loop", unitName: "total",
                helpText: "Decisions that needed no write, answered before the router (also in gatehouse_decisions_total)."))
    }

    static let gateOutcomes = ["sign_in", "untrusted_proxy", "proxy_misconfigured", "gate_not_configured"]

    static var requests: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "gatehouse", metricName: "http_requests", unitName: "total", helpText: "HTTP requests by route and status.")
    }

    static var decisions: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "gatehouse", metricName: "decisions", unitName: "total", helpText: "Decisions by kind and reason.")
    }

    func countDecision(kind: String, reason: String, onEventLoop: Bool = false) {
        decisionCounters[kind]?[reason]?.increment()
        if onEventLoop { decisionsOnEventLoop.increment() }
    }

    /// A gauge named `gatehouse_<name>`.
    func gauge(_ name: String, help: String, labels: [(String, String)] = []) -> Gauge {
        registry.makeGauge(
            descriptor: MetricNameDescriptor(namespace: "gatehouse", metricName: name, unitName: "", helpText: help), labels: labels)
    }

    /// Counters already made, so a request costs one dictionary lookup rather than a
    /// registry lookup with label arrays.
    private let counters = ReadWriteLock([CounterKey: Counter]())

    struct CounterKey: Hashable {
        var kind: Int
        var a: String
        var b: String
        var c: Int
    }

    private func counter(_ key: CounterKey, make: () -> Counter) -> Counter {
        if let counter = counters.read({ $0[key] }) { return counter }
        return counters.write { cache in
            if let counter = cache[key] { return counter }
            let counter = make()
            cache[key] = counter
            return counter
        }
    }

    func countRequest(method: String, route: String, status: Int) {
        counter(CounterKey(kind: 0, a: method, b: route, c: status)) {
            registry.makeCounter(descriptor: Self.requests, labels: [("method", method), ("route", route), ("status", String(status))])
        }.increment()
    }

    /// The text exposition format.
    public func render() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}

import Foundation
import Yams

/// How the egress proxy treats connections (`egress_proxy:` in gatehouse.yml). Where it
/// listens is `listen.host` and `listen.egress_port`.
public struct EgressProxyLimits: Sendable, Equatable {
    /// How long to wait for the destination to accept a connection, per address tried.
    public var connectTimeout: TimeInterval = 10
    /// A tunnel or request with no bytes either way for this long is closed.
    public var idleTimeout: TimeInterval = 300
    /// A request head must be whole this long after the client connects, however slowly its
    /// bytes trickle in (the idle timeout does not bound that: every byte resets it).
    public var headTimeout: TimeInterval = 10
    /// Concurrent client connections (tunnels and requests); more are answered 503.
    public var maxConnections = 1024
    /// Concurrent connections from one client address; more are answered 503, so one client
    /// cannot take every slot.
    public var maxConnectionsPerSource = 256
    /// Event loop threads of the proxy's own, apart from the API's. One carries thousands of
    /// new tunnels a second and a tunnel's bytes at memory speed (`bench/egress.sh`); more
    /// help only many busy tunnels at once on a machine with cores to spare.
    public var threads = 1

    public init() {}

    static let keys: Set<String> = [
        "connect_timeout", "idle_timeout", "head_timeout", "max_connections", "max_connections_per_source", "threads",
    ]
}

extension GatehouseConfiguration {
    mutating func applyEgressProxy(_ node: Node?, reader: inout YAMLReader) {
        let fields = reader.mapping(node, "egress_proxy", allowed: EgressProxyLimits.keys)
        if let v = reader.integer(fields["max_connections"], "egress_proxy.max_connections", in: 1...1_000_000) {
            egressProxy.maxConnections = v
        }
        if let v = reader.integer(fields["max_connections_per_source"], "egress_proxy.max_connections_per_source", in: 1...1_000_000) {
            egressProxy.maxConnectionsPerSource = v
        }
        if let v = reader.integer(fields["threads"], "egress_proxy.threads", in: 1...256) {
            egressProxy.threads = v
        }
        for (key, path) in [
            ("connect_timeout", \EgressProxyLimits.connectTimeout), ("idle_timeout", \EgressProxyLimits.idleTimeout),
            ("head_timeout", \EgressProxyLimits.headTimeout),
        ] {
            guard let seconds = Self.duration(fields[key], "egress_proxy.\(key)", reader: &reader) else { continue }
            if seconds < 0.01 {
                reader.problem(fields[key], "egress_proxy.\(key)", "must be at least 10ms")
            } else {
                egressProxy[keyPath: path] = seconds
            }
        }
    }
}

import Foundation
import Yams

/// How the egress proxy treats connections (`egress_proxy:` in gatehouse.yml). Where it
/// listens is `listen.host` and `listen.egress_port`.
public struct EgressProxyLimits: Sendable, Equatable {
    /// How long to wait for the destination to accept a connection, per address tried.
    public var connectTimeout: TimeInterval = 10
    /// A connection with no bytes either way for this long is closed (also bounds a client
    /// that never finishes its request head).
    public var idleTimeout: TimeInterval = 300
    /// Concurrent client connections (tunnels and requests); more are answered 503.
    public var maxConnections = 1024

    public init() {}

    static let keys: Set<String> = ["connect_timeout", "idle_timeout", "max_connections"]
}

extension GatehouseConfiguration {
    mutating func applyEgressProxy(_ node: Node?, reader: inout YAMLReader) {
        let fields = reader.mapping(node, "egress_proxy", allowed: EgressProxyLimits.keys)
        if let v = reader.integer(fields["max_connections"], "egress_proxy.max_connections", in: 1...1_000_000) { egressProxy.maxConnections = v }
        for (key, path) in [("connect_timeout", \EgressProxyLimits.connectTimeout), ("idle_timeout", \EgressProxyLimits.idleTimeout)] {
            guard let seconds = Self.duration(fields[key], "egress_proxy.\(key)", reader: &reader) else { continue }
            if seconds < 0.01 {
                reader.problem(fields[key], "egress_proxy.\(key)", "must be at least 10ms")
            } else {
                egressProxy[keyPath: path] = seconds
            }
        }
    }
}

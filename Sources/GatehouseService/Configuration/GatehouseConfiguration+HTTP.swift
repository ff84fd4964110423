import Foundation
import Yams

/// How the API port and the gate's forward-auth port treat connections (`http:` in
/// gatehouse.yml): a client that is slow to send its request head, sends nothing, idles
/// between requests or trickles a body is cut off, and the number of open connections is capped.
public struct HTTPConnectionSettings: Sendable, Equatable {
    /// A request head must be complete this long after the connection opens.
    public var headTimeout: TimeInterval = 10
    /// Between requests on a keep-alive connection, the next head must be complete within this.
    public var idleTimeout: TimeInterval = 60
    /// A request's body must arrive whole within this of its head.
    public var requestTimeout: TimeInterval = 30
    /// Open connections at most, per port; beyond it new connections wait in the backlog.
    public var maxConnections = 1024
    /// Event loop threads serving the API and forward-auth ports: four per core (see
    /// `HTTPEventLoops` for why more than one).
    public var threads = HTTPConnectionSettings.defaultThreads

    public init() {}

    public static var defaultThreads: Int { 4 * max(1, ProcessInfo.processInfo.activeProcessorCount) }

    static let keys: Set<String> = ["head_timeout", "idle_timeout", "request_timeout", "max_connections", "threads"]
}

extension GatehouseConfiguration {
    mutating func applyHTTP(_ node: Node?, reader: inout YAMLReader) {
        let fields = reader.mapping(node, "http", allowed: HTTPConnectionSettings.keys)
        if let v = reader.integer(fields["max_connections"], "http.max_connections", in: 1...1_000_000) { http.maxConnections = v }
        if let v = reader.integer(fields["threads"], "http.threads", in: 1...256) { http.threads = v }
        for (key, path) in [
            ("head_timeout", \HTTPConnectionSettings.headTimeout), ("idle_timeout", \HTTPConnectionSettings.idleTimeout),
            ("request_timeout", \HTTPConnectionSettings.requestTimeout),
        ] {
            guard let seconds = Self.duration(fields[key], "http.\(key)", reader: &reader) else { continue }
            if (0.1...3600).contains(seconds) {
                http[keyPath: path] = seconds
            } else {
                reader.problem(fields[key], "http.\(key)", "must be from 100ms to 1h")
            }
        }
    }
}

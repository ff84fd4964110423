import Foundation
import GatehouseDomain
import GatehouseService
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ServiceLifecycle
import Synchronization

/// The egress proxy (SPEC section 6): `CONNECT host:port` tunnels and absolute-URI plain HTTP
/// requests, each judged by the egress policy in force, in the same process as the API.
///
/// `start()` binds it; the running proxy is a service that serves until graceful shutdown
/// (`gatehouse serve --egress-port`).
public final class EgressProxy: Sendable {
    /// What every connection's handler shares.
    final class Shared: Sendable {
        let gatehouse: Gatehouse
        let limits: EgressProxyLimits
        let metrics: ProxyMetrics
        let logger: Logger
        let idleTimeout: TimeAmount
        let headTimeout: TimeAmount
        private let open = Mutex([ObjectIdentifier: any Channel]())
        /// Open connections per client address.
        private let perSource = Mutex([IPAddress?: Int]())
        /// A client bootstrap per event loop, configured on the loop's first connection (a
        /// destination is connected to from the loop its client's connection is on).
        private let bootstraps: [ObjectIdentifier: NIOLoopBoundBox<ClientBootstrap?>]

        init(gatehouse: Gatehouse, limits: EgressProxyLimits, metrics: ProxyMetrics, logger: Logger, group: any EventLoopGroup) {
            self.gatehouse = gatehouse
            self.limits = limits
            self.metrics = metrics
            self.logger = logger
            idleTimeout = .milliseconds(Int64(limits.idleTimeout * 1000))
            headTimeout = .milliseconds(Int64(limits.headTimeout * 1000))
            var bootstraps: [ObjectIdentifier: NIOLoopBoundBox<ClientBootstrap?>] = [:]
            for loop in group.makeIterator() {
                bootstraps[ObjectIdentifier(loop)] = .makeEmptyBox(valueType: ClientBootstrap.self, eventLoop: loop)
            }
            self.bootstraps = bootstraps
        }

        /// How the proxy connects to a destination from `loop`: reading starts once the
        /// client's side is ready for the bytes.
        func bootstrap(on loop: any EventLoop) -> ClientBootstrap {
            guard let box = bootstraps[ObjectIdentifier(loop)] else { return Self.bootstrap(loop, limits: limits) }
            if let bootstrap = box.value { return bootstrap }
            let bootstrap = Self.bootstrap(loop, limits: limits)
            box.value = bootstrap
            return bootstrap
        }

        /// (`TCP_NODELAY` is a client bootstrap's default.)
        private static func bootstrap(_ loop: any EventLoop, limits: EgressProxyLimits) -> ClientBootstrap {
            ClientBootstrap(group: loop)
                .connectTimeout(.milliseconds(Int64(limits.connectTimeout * 1000)))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try EgressProxy.configure(channel, autoRead: false) }
                }
        }

        /// Registers a new client connection from `source`; over the cap, or over its address's
        /// share, it is answered 503 and closed (and counted until then).
        func opened(_ channel: any Channel, from source: IPAddress?) -> Admission {
            let count = open.withLock { connections in
                connections[ObjectIdentifier(channel)] = channel
                return connections.count
            }
            metrics.active.record(Int64(count))
            let fromSource = perSource.withLock { counts in
                counts[source, default: 0] += 1
                return counts[source]!
            }
            if count > limits.maxConnections { return .overCapacity }
            return fromSource > limits.maxConnectionsPerSource ? .sourceOverCapacity : .admitted
        }

        func closed(_ channel: any Channel, from source: IPAddress?) {
            let count = open.withLock { connections in
                connections[ObjectIdentifier(channel)] = nil
                return connections.count
            }
            perSource.withLock { counts in
                counts[source, default: 1] -= 1
                if counts[source] == 0 { counts[source] = nil }
            }
            metrics.active.record(Int64(count))
        }

        var connections: [any Channel] { open.withLock { Array($0.values) } }
    }

    /// Whether a new connection is served.
    enum Admission: Sendable {
        case admitted, overCapacity, sourceOverCapacity
    }

    /// Reads grow up to 1 MiB on a busy connection (fewer system calls: bulk throughput
    /// through a tunnel went from 0.45× to 0.89× a direct download with this and the write
    /// mark), and a side is not read while the other has 1 MiB or more waiting to be written:
    /// a connection holds at most about 2 MiB per direction whatever its peers do.
    static let readSizes = AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 16384, maximum: 1 << 20)
    static let writeLimits = ChannelOptions.Types.WriteBufferWaterMark(low: 256 << 10, high: 1 << 20)

    /// The options of both sides of a connection, set directly on the new channel before it is
    /// registered. A bootstrap's own options would be applied through a chain of futures, one
    /// link per option, for every connection: about 5% of the proxy's CPU per tunnel.
    static func configure(_ channel: any Channel, autoRead: Bool) throws {
        guard let options = channel.syncOptions else { return }
        try options.setOption(ChannelOptions.allowRemoteHalfClosure, value: true)
        try options.setOption(ChannelOptions.recvAllocator, value: readSizes)
        try options.setOption(ChannelOptions.writeBufferWaterMark, value: writeLimits)
        if !autoRead { try options.setOption(ChannelOptions.autoRead, value: false) }
    }

    private let shared: Shared
    private let host: String
    private let port: Int
    private let group: any EventLoopGroup
    /// The proxy's own event loops (`egress_proxy.threads`), stopped with it.
    private let ownGroup: MultiThreadedEventLoopGroup?

    /// A proxy on event loops of its own, `limits.threads` of them, apart from the API's: a
    /// flood of tunnels cannot slow the decisions every request to Codecov waits for, and one
    /// loop handles a tunnel's both sides with fewer wake-ups across threads (about 10% less CPU
    /// per tunnel than on the API's two loops; docs/benchmarks.md). Pass `group` to share one.
    public init(
        gatehouse: Gatehouse, host: String, port: Int, limits: EgressProxyLimits, metrics: ProxyMetrics, logger: Logger,
        group: (any EventLoopGroup)? = nil
    ) {
        ownGroup = group == nil ? MultiThreadedEventLoopGroup(numberOfThreads: limits.threads) : nil
        let group = group ?? ownGroup!
        shared = Shared(gatehouse: gatehouse, limits: limits, metrics: metrics, logger: logger, group: group)
        self.host = host
        self.port = port
        self.group = group
    }

    /// A proxy that is listening: its port, and how to stop it. As a service it serves until
    /// graceful shutdown, then stops.
    public struct Running: Service, Sendable {
        public let port: Int
        let channel: any Channel
        let shared: Shared
        let ownGroup: MultiThreadedEventLoopGroup?

        /// Stops accepting, closes every open connection, then stops the proxy's own event loops.
        public func stop() async {
            try? await channel.close()
            for connection in shared.connections { try? await connection.close() }
            try? await ownGroup?.shutdownGracefully()
        }

        public func run() async throws {
            try? await gracefulShutdown()
            await stop()
        }
    }

    /// Starts listening (port 0 picks a free one).
    public func start() async throws -> Running {
        let shared = self.shared
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 1024)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let source = channel.remoteAddress.flatMap(IPAddress.init)
                let admitted = shared.opened(channel, from: source)
                channel.closeFuture.whenComplete { _ in shared.closed(channel, from: source) }
                return channel.eventLoop.makeCompletedFuture {
                    // (TCP_NODELAY comes from the listening socket: a server bootstrap's default,
                    // and Linux gives an accepted socket its listener's.)
                    try EgressProxy.configure(channel, autoRead: true)
                    let encoder = HTTPResponseEncoder()
                    let decoder = ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes))
                    try channel.pipeline.syncOperations.addHandlers([
                        IdleStateHandler(allTimeout: shared.idleTimeout), encoder, decoder,
                        ProxyHandler(shared: shared, admitted: admitted, source: source, encoder: encoder, decoder: decoder),
                    ])
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: host, port: port).get()
        } catch {
            try? await ownGroup?.shutdownGracefully()
            throw GatehouseError(.egressListenFailed, "the egress proxy cannot listen on \(host):\(port): \(error)")
        }
        let running = Running(port: channel.localAddress?.port ?? port, channel: channel, shared: shared, ownGroup: ownGroup)
        shared.logger.info("egress proxy is listening", metadata: ["address": "\(host):\(running.port)"])
        return running
    }
}

import Foundation
import GatehouseDomain
import GatehouseService
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization

/// Where the forward-auth listener listens, and how it treats connections: as the API port
/// (beyond `limits.maxConnections` a new connection is answered 503 and closed, so a proxy
/// retries another replica).
public typealias ForwardAuthSettings = HTTPSettings

/// The gate's forward auth on a listener of its own (`listen.gate_port`): the same question as
/// the API port's `/gate/auth`, answered on the event loop from memory, on a bare SwiftNIO
/// HTTP/1.1 pipeline — no framework, no task hop per request — because the reverse proxy
/// asks it before every request to Codecov (bench/gate.sh). A question memory cannot answer
/// (a session it believes idle) goes to `Gatehouse.gateAuth` and is answered when that returns.
/// `GET /healthz` answers too, for the proxies' health checks.
public final class ForwardAuthServer: Sendable {
    let gatehouse: Gatehouse
    let metrics: GatehouseMetrics
    let settings: ForwardAuthSettings
    let logger: Logger
    private let open = Mutex([ObjectIdentifier: any Channel]())

    public init(gatehouse: Gatehouse, metrics: GatehouseMetrics, settings: ForwardAuthSettings, logger: Logger) {
        self.gatehouse = gatehouse
        self.metrics = metrics
        self.settings = settings
        self.logger = logger
    }

    /// The listener, once bound: its port; as a service it serves until graceful shutdown.
    public struct Running: Service, Sendable {
        public let port: Int
        let channel: any Channel
        let server: ForwardAuthServer

        public func stop() async {
            try? await channel.close()
            for connection in server.open.withLock({ Array($0.values) }) { try? await connection.close() }
        }

        public func run() async throws {
            try? await gracefulShutdown()
            await stop()
        }
    }

    func opened(_ channel: any Channel) -> Bool {
        open.withLock { connections in
            connections[ObjectIdentifier(channel)] = channel
            return connections.count <= settings.limits.maxConnections
        }
    }

    func closed(_ channel: any Channel) { open.withLock { $0[ObjectIdentifier(channel)] = nil } }

    /// Binds (port 0 picks a free one).
    public func start() async throws -> Running {
        let server = self
        let bootstrap = ServerBootstrap(group: settings.loops.group)
            .serverChannelOption(ChannelOptions.backlog, value: 1024)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                let admitted = server.opened(channel)
                channel.closeFuture.whenComplete { _ in server.closed(channel) }
                return channel.eventLoop.makeCompletedFuture {
                    // The reply's header values are made safe by GateReply (no control characters);
                    // NIO's own check of every outbound header costs a tenth of this listener.
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withErrorHandling: true, withOutboundHeaderValidation: false)
                    try channel.pipeline.syncOperations.addHandler(ConnectionDeadlines.forNIO(server.settings.limits))
                    try channel.pipeline.syncOperations.addHandler(ForwardAuthHandler(server: server, admitted: admitted))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: settings.host, port: settings.port).get()
        } catch {
            throw GatehouseError(.gateListenFailed, "the gate's forward auth cannot listen on \(settings.host):\(settings.port): \(error)")
        }
        let running = Running(port: channel.localAddress?.port ?? settings.port, channel: channel, server: self)
        logger.info("gate forward auth is listening", metadata: ["address": "\(settings.host):\(running.port)"])
        return running
    }
}

/// One connection of the forward-auth listener.
final class ForwardAuthHandler: ChannelDuplexHandler, @unchecked Sendable {  // used on its event loop only
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = Never
    typealias OutboundOut = HTTPServerResponsePart

    let server: ForwardAuthServer
    let admitted: Bool
    var head: HTTPRequestHead?

    init(server: ForwardAuthServer, admitted: Bool) {
        self.server = server
        self.admitted = admitted
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request): head = request
        case .body: break  // a question has no body worth reading
        case .end:
            guard let request = head else { return }
            head = nil
            answer(request, context: context)
        }
    }

    func answer(_ request: HTTPRequestHead, context: ChannelHandlerContext) {
        guard admitted else {
            write(
                GateReplyParts(status: 503, headers: [("Retry-After", "1")], body: "too many connections\n"), keepAlive: false,
                context: context)
            return
        }
        let path = request.uri.prefix { $0 != "?" }
        if request.method == .GET, path == "/healthz" {
            write(
                GateReplyParts(status: 200, headers: [("Content-Type", "application/json")], body: "{\"status\":\"ok\"}\n"),
                keepAlive: request.isKeepAlive, context: context)
            return
        }
        guard path == "/gate/auth" || path.hasPrefix("/gate/auth/") else {
            write(
                GateReplyParts(
                    status: 404, headers: [("Content-Type", "application/json")],
                    body: #"{"error":{"code":"not_found","message":"this listener answers /gate/auth only"}}"# + "\n"),
                keepAlive: request.isKeepAlive, context: context)
            return
        }
        let peer = context.channel.remoteAddress?.ipAddressValue
        let headers = request.headers
        let lookup: (String) -> [String] = { headers[$0] }
        let wantsHTML = headers.first(name: "Accept")?.contains("text/html") ?? false
        let redirect =
            request.uri.utf8.contains(UInt8(ascii: "?"))
            && request.uri.split(separator: "?", maxSplits: 1).last?
                .split(separator: "&").contains("redirect=1") == true
        let gatehouse = server.gatehouse, metrics = server.metrics
        if let answer = gatehouse.gateAuthNow(peer: peer, method: request.method.rawValue, path: request.uri, header: lookup) {
            let reply = GateReply(answer, redirect: redirect, wantsHTML: wantsHTML, help: gatehouse.gateHelpNow(), metrics: metrics)
            write(GateReplyParts(reply), keepAlive: request.isKeepAlive, context: context)
            return
        }
        // Memory cannot answer alone: ask with the database, then answer on the event loop.
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let uri = request.uri, method = request.method.rawValue, keepAlive = request.isKeepAlive
        Task {
            let answer = await gatehouse.gateAuth(peer: peer, method: method, path: uri, header: lookup)
            let reply = GateReply(answer, redirect: redirect, wantsHTML: wantsHTML, help: gatehouse.gateHelpNow(), metrics: metrics)
            let parts = GateReplyParts(reply)
            bound.eventLoop.execute {
                let (handler, context) = bound.value
                handler.write(parts, keepAlive: keepAlive, context: context)
            }
        }
    }

    func write(_ reply: GateReplyParts, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        for (name, value) in reply.headers { headers.add(name: name, value: value) }
        headers.add(name: "Content-Length", value: String(reply.body.utf8.count))
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: reply.status), headers: headers))),
            promise: nil)
        if !reply.body.isEmpty { context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: reply.body)))), promise: nil) }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

/// A reply's parts, Sendable across the hop back to the event loop.
struct GateReplyParts: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: String

    init(status: Int, headers: [(String, String)], body: String) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    init(_ reply: GateReply) {
        self.init(status: reply.status, headers: reply.headers, body: reply.body)
    }
}

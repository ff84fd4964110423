import GatehouseService
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// How long a connection may take over each part of an exchange (`http:` in gatehouse.yml),
/// and how many may be open at once.
public struct ConnectionLimits: Sendable, Equatable {
    /// A request head must be complete this long after the connection opens, whatever
    /// trickles in meanwhile (a slow-headers client is cut off, not fed by its own bytes).
    public var headTimeout: TimeAmount = .seconds(10)
    /// Between requests on a keep-alive connection, the next head must start (and end) within this.
    public var idleTimeout: TimeAmount = .seconds(60)
    /// A request's body must arrive whole within this of its head.
    public var requestTimeout: TimeAmount = .seconds(30)
    /// Open connections at most; beyond, new ones wait in the kernel's backlog.
    public var maxConnections = 1024

    public init() {}

    /// From the configuration's `http:` settings.
    public init(_ settings: HTTPConnectionSettings) {
        headTimeout = .milliseconds(Int64(settings.headTimeout * 1000))
        idleTimeout = .milliseconds(Int64(settings.idleTimeout * 1000))
        requestTimeout = .milliseconds(Int64(settings.requestTimeout * 1000))
        maxConnections = settings.maxConnections
    }
}

/// Closes a connection that takes too long: no complete request head within the head timeout
/// (or, after a response, within the idle timeout), or no end of the request within the
/// request timeout of its head. Bytes that trickle in do not reset anything: the deadlines are
/// set when a wait starts. Generic over the HTTP part types (Hummingbird's HTTPTypes parts on
/// the API port, NIOHTTP1's on the forward-auth listener).
final class ConnectionDeadlines<In, Out>: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = In
    typealias InboundOut = In
    typealias OutboundIn = Out
    typealias OutboundOut = Out

    let limits: ConnectionLimits
    let isHead: (In) -> Bool
    let isEnd: (In) -> Bool
    let isResponseEnd: (Out) -> Bool
    private var timer: Scheduled<Void>?

    init(limits: ConnectionLimits, isHead: @escaping (In) -> Bool, isEnd: @escaping (In) -> Bool, isResponseEnd: @escaping (Out) -> Bool) {
        self.limits = limits
        self.isHead = isHead
        self.isEnd = isEnd
        self.isResponseEnd = isResponseEnd
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(limits.headTimeout, context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(limits.headTimeout, context: context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { disarm() }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if isHead(part) {
            arm(limits.requestTimeout, context: context)
        } else if isEnd(part) {
            // The server's own work is not limited here.
            disarm()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if isResponseEnd(unwrapOutboundIn(data)) { arm(limits.idleTimeout, context: context) }
        context.write(data, promise: promise)
    }

    private func arm(_ delay: TimeAmount, context: ChannelHandlerContext) {
        disarm()
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: delay) { loopBound.value.close(promise: nil) }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
    }
}

extension ConnectionDeadlines where In == HTTPRequestPart, Out == HTTPResponsePart {
    /// For Hummingbird's pipeline (HTTPTypes parts).
    static func forHummingbird(_ limits: ConnectionLimits) -> ConnectionDeadlines {
        ConnectionDeadlines(
            limits: limits, isHead: { if case .head = $0 { true } else { false } }, isEnd: { if case .end = $0 { true } else { false } },
            isResponseEnd: { if case .end = $0 { true } else { false } })
    }
}

extension ConnectionDeadlines where In == HTTPServerRequestPart, Out == HTTPServerResponsePart {
    /// For a bare NIOHTTP1 pipeline.
    static func forNIO(_ limits: ConnectionLimits) -> ConnectionDeadlines {
        ConnectionDeadlines(
            limits: limits, isHead: { if case .head = $0 { true } else { false } }, isEnd: { if case .end = $0 { true } else { false } },
            isResponseEnd: { if case .end = $0 { true } else { false } })
    }
}

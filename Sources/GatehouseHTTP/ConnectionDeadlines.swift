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
/// set when a wait starts. One handler per pipeline's part types (Hummingbird's HTTPTypes
/// parts on the API port, NIOHTTP1's on the forward-auth listener), sharing this protocol's
/// code: a generic handler class ran unspecialised (metadata look-ups on every part).
protocol ConnectionDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler
where InboundOut == InboundIn, OutboundOut == OutboundIn {
    var clock: DeadlineClock { get }
    static func isHead(_ part: InboundIn) -> Bool
    static func isEnd(_ part: InboundIn) -> Bool
    static func isResponseEnd(_ part: OutboundIn) -> Bool
}

extension ConnectionDeadlineHandler {
    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { clock.arm(clock.limits.headTimeout, context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        clock.arm(clock.limits.headTimeout, context: context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { clock.cancel() }

    func channelInactive(context: ChannelHandlerContext) {
        clock.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if Self.isHead(part) {
            clock.arm(clock.limits.requestTimeout, context: context)
        } else if Self.isEnd(part) {
            // The server's own work is not limited here.
            clock.disarm()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if Self.isResponseEnd(unwrapOutboundIn(data)) { clock.arm(clock.limits.idleTimeout, context: context) }
        context.write(data, promise: promise)
    }
}

/// A connection's current deadline and the one timer that enforces it. Arming and disarming
/// only move the deadline: scheduling and cancelling a timer for every request (three times
/// per keep-alive exchange) cost more than the no-op route's whole event-loop work per request.
/// Used on the channel's event loop only.
final class DeadlineClock {
    let limits: ConnectionLimits
    /// When the current wait ends, if one is running.
    private var deadline: NIODeadline?
    /// The one pending check; when it fires early (the deadline moved later) it schedules itself again.
    private var timer: Scheduled<Void>?

    init(_ limits: ConnectionLimits) { self.limits = limits }

    func arm(_ delay: TimeAmount, context: ChannelHandlerContext) {
        let due = NIODeadline.now() + delay
        deadline = due
        if timer == nil { schedule(at: due, context: context) }
    }

    func disarm() { deadline = nil }

    func cancel() {
        deadline = nil
        timer?.cancel()
        timer = nil
    }

    private func schedule(at due: NIODeadline, context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: due) {
            let (clock, context) = loopBound.value
            clock.timer = nil
            guard let deadline = clock.deadline else { return }  // disarmed meanwhile
            if deadline <= .now() {
                clock.deadline = nil
                context.close(promise: nil)
            } else {
                clock.schedule(at: deadline, context: context)  // re-armed later meanwhile
            }
        }
    }
}

enum ConnectionDeadlines {
    /// For Hummingbird's pipeline (HTTPTypes parts).
    static func forHummingbird(_ limits: ConnectionLimits) -> HummingbirdConnectionDeadlines { HummingbirdConnectionDeadlines(limits) }

    /// For a bare NIOHTTP1 pipeline.
    static func forNIO(_ limits: ConnectionLimits) -> NIOConnectionDeadlines { NIOConnectionDeadlines(limits) }
}

final class HummingbirdConnectionDeadlines: ConnectionDeadlineHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart
    let clock: DeadlineClock
    init(_ limits: ConnectionLimits) { clock = DeadlineClock(limits) }
    static func isHead(_ part: HTTPRequestPart) -> Bool { if case .head = part { true } else { false } }
    static func isEnd(_ part: HTTPRequestPart) -> Bool { if case .end = part { true } else { false } }
    static func isResponseEnd(_ part: HTTPResponsePart) -> Bool { if case .end = part { true } else { false } }
}

final class NIOConnectionDeadlines: ConnectionDeadlineHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart
    let clock: DeadlineClock
    init(_ limits: ConnectionLimits) { clock = DeadlineClock(limits) }
    static func isHead(_ part: HTTPServerRequestPart) -> Bool { if case .head = part { true } else { false } }
    static func isEnd(_ part: HTTPServerRequestPart) -> Bool { if case .end = part { true } else { false } }
    static func isResponseEnd(_ part: HTTPServerResponsePart) -> Bool { if case .end = part { true } else { false } }
}

import GatehouseDomain
import GatehouseService
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// One client connection to the egress proxy: reads a request head, has the egress policy
/// judge its destination (resolved once, every address checked), connects to an address it
/// checked, and then either becomes a byte tunnel (`CONNECT`) or forwards one plain HTTP
/// request and its response. Anything refused is answered here (403 with the reason in the
/// `X-Gatehouse-Egress-Reason` header and the body) and the connection is closed.
///
/// Reading pauses while a decision or a connection is pending, and while the destination
/// cannot take more bytes, so a client cannot make the proxy buffer without bound.
final class ProxyHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        /// Waiting for a request head.
        case awaitingHead
        /// `CONNECT` read; its end comes next.
        case awaitingConnectEnd(EgressTarget)
        /// The destination is being judged, then connected to.
        case connecting(ProxyRequest)
        /// Plain HTTP: request parts go to the destination, its response comes back.
        case forwarding(any Channel)
        /// The proxy's own answer is being written; the connection closes after it.
        case responding
        /// A tunnel's glue owns the connection now.
        case handedOver
        case closed
    }

    private var state = State.awaitingHead
    /// Request parts read while deciding, for a forwarded request (bounded: reading is paused).
    private var buffered: [HTTPServerRequestPart] = []
    private var requestEnded = false
    private var responseStarted = false
    private var pendingRead = false
    private var clientVersion = HTTPVersion.http1_1
    private var upstreamHandler: UpstreamHTTPHandler?
    private let shared: EgressProxy.Shared
    private let encoder: HTTPResponseEncoder
    private let decoder: ByteToMessageHandler<HTTPRequestDecoder>

    private let admitted: EgressProxy.Admission
    /// The client's address (its role, if any, applies).
    private let source: IPAddress?

    init(
        shared: EgressProxy.Shared, admitted: EgressProxy.Admission, source: IPAddress?, encoder: HTTPResponseEncoder,
        decoder: ByteToMessageHandler<HTTPRequestDecoder>
    ) {
        self.shared = shared
        self.admitted = admitted
        self.source = source
        self.encoder = encoder
        self.decoder = decoder
    }

    // MARK: Inbound

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        switch admitted {
        case .admitted:
            // The request head must be whole within the head timeout, however slowly it
            // trickles in (the idle timeout, reset by every byte, does not bound it).
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            headDeadline = context.eventLoop.scheduleTask(in: shared.headTimeout) {
                let (handler, context) = loopBound.value
                handler.headTimedOut(context: context)
            }
        case .overCapacity:
            refuse(
                ProxyRefusal(
                    status: .serviceUnavailable, code: "too_many_connections",
                    message: "the egress proxy is at its limit of \(shared.limits.maxConnections) connections; try again"),
                outcome: "over_capacity", context: context)
        case .sourceOverCapacity:
            refuse(
                ProxyRefusal(
                    status: .serviceUnavailable, code: "too_many_connections_from_source",
                    message:
                        "this address has \(shared.limits.maxConnectionsPerSource) connections open to the egress proxy already; try again"),
                outcome: "over_capacity", context: context)
        }
    }

    private var headDeadline: Scheduled<Void>?

    private func headTimedOut(context: ChannelHandlerContext) {
        switch state {
        case .awaitingHead, .awaitingConnectEnd:
            refuse(
                ProxyRefusal(
                    status: .requestTimeout, code: "request_head_timeout",
                    message: "the request head did not arrive within \(shared.limits.headTimeout) seconds"),
                outcome: "bad_request", context: context)
        default:
            break
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch state {
        case .awaitingHead:
            guard case .head(let head) = part else { return }
            clientVersion = head.version
            switch ProxyRequest.read(head) {
            case .failure(let refusal):
                // Refused before the policy was asked: counted here (the check counts its own).
                if let reason = refusal.reason, let destination = refusal.destination {
                    shared.gatehouse.countEgressRefusal(reason, destination: destination)
                }
                refuse(refusal, outcome: refusal.reason == nil ? "bad_request" : "refused", context: context)
            case .success(.tunnel(let target)):
                state = .awaitingConnectEnd(target)
            case .success(let request):
                headDeadline?.cancel()
                state = .connecting(request)
                decide(request, context: context)
            }
        case .awaitingConnectEnd(let target):
            if case .end = part {
                headDeadline?.cancel()
                state = .connecting(.tunnel(target))
                decide(.tunnel(target), context: context)
            } else {
                refuse(.badRequest("a CONNECT request has no body"), outcome: "bad_request", context: context)
            }
        case .connecting(.forward):
            // One request per connection: anything after its end is never sent on.
            guard !requestEnded else { return }
            if case .end = part { requestEnded = true }
            buffered.append(part)
        case .forwarding(let upstream):
            guard !requestEnded else { return }
            if case .end = part { requestEnded = true }
            if case .body(let buffer) = part { shared.metrics.bytesUp.count(buffer.readableBytes) }
            upstream.write(Self.upstreamPart(part), promise: nil)
        case .connecting(.tunnel), .responding, .handedOver, .closed:
            return
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if case .forwarding(let upstream) = state { upstream.flush() }
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        headDeadline?.cancel()
        if case .forwarding(let upstream) = state { upstream.close(promise: nil) }
        state = .closed
        buffered = []
        upstreamHandler = nil
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            switch state {
            case .connecting:
                // The connect timeout bounds this; a decision in progress finishes or fails.
                break
            default:
                context.close(promise: nil)
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch state {
        case .awaitingHead, .awaitingConnectEnd:
            // The request could not be parsed (llhttp's error says why; not echoed back).
            refuse(.badRequest("the request is not valid HTTP/1.1 (\(error))"), outcome: "bad_request", context: context)
        default:
            context.close(promise: nil)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { upstreamHandler?.resumeReading() }
        context.fireChannelWritabilityChanged()
    }

    // MARK: Outbound

    func read(context: ChannelHandlerContext) {
        switch state {
        case .awaitingHead, .awaitingConnectEnd:
            context.read()
        case .forwarding(let upstream) where upstream.isWritable:
            context.read()
        default:
            pendingRead = true
        }
    }

    private func resumeReading(_ context: ChannelHandlerContext) {
        if pendingRead {
            pendingRead = false
            context.read()
        }
    }

    /// The destination can take bytes again.
    func upstreamBecameWritable(_ context: ChannelHandlerContext) {
        if case .forwarding = state { resumeReading(context) }
    }

    // MARK: Deciding and connecting

    private func decide(_ request: ProxyRequest, context: ChannelHandlerContext) {
        let gatehouse = shared.gatehouse
        let target = request.target
        let source = self.source
        // IP literals and names the rules refuse are answered on the event loop; a name to
        // resolve goes off it.
        if let check = gatehouse.checkEgressNow(target, source: source) {
            decided(.success(check), request: request, context: context)
            return
        }
        context.eventLoop.makeFutureWithTask { try await gatehouse.checkEgress(target, source: source) }
            .assumeIsolated().whenComplete { result in self.decided(result, request: request, context: context) }
    }

    private func decided(_ result: Result<EgressCheck, any Error>, request: ProxyRequest, context: ChannelHandlerContext) {
        guard case .connecting = state else { return }
        let target = request.target
        switch result {
        case .failure(let error):
            shared.logger.error(
                "egress decision failed", metadata: ["error": "\(GatehouseError.from(error)?.message ?? "\(type(of: error))")"])
            refuse(
                ProxyRefusal(status: .serviceUnavailable, code: "unavailable", message: "the egress policy could not be read; try again"),
                outcome: "unavailable", context: context)
        case .success(let check) where !check.allow:
            refuse(
                .refused(check.verdict.reason, check.verdict.detail, destination: target.description), outcome: "refused", context: context)
        case .success(let check):
            let reason = check.verdict.allow ? "ok" : check.verdict.reason.rawValue
            if !check.verdict.allow {
                shared.logger.notice(
                    "egress allowed in report mode",
                    metadata: ["destination": "\(target)", "would_refuse": "\(reason)", "role": "\(check.role ?? "-")"])
            }
            connect(request, addresses: check.addresses, index: 0, reason: reason, failures: [], context: context)
        }
    }

    /// Tries the checked addresses in order; never resolves again.
    private func connect(
        _ request: ProxyRequest, addresses: [IPAddress], index: Int, reason: String, failures: [String], context: ChannelHandlerContext
    ) {
        let target = request.target
        guard index < addresses.count else {
            let why =
                addresses.isEmpty
                ? "\(target.host) does not resolve" : "could not connect to \(target) (\(failures.joined(separator: "; ")))"
            refuse(
                ProxyRefusal(status: .badGateway, code: "upstream_unreachable", message: why), outcome: "upstream_unreachable",
                context: context)
            return
        }
        shared.bootstrap(on: context.eventLoop)
            .connect(to: addresses[index].socketAddress(port: target.port))
            .assumeIsolated().whenComplete { result in
                switch result {
                case .success(let upstream):
                    guard case .connecting = self.state else {
                        upstream.close(promise: nil)
                        return
                    }
                    self.connected(request, upstream: upstream, reason: reason, context: context)
                case .failure(let error):
                    guard case .connecting = self.state else { return }
                    let why: String
                    if case ChannelError.connectTimeout = error { why = "timed out" } else { why = "\(error)" }
                    self.connect(
                        request, addresses: addresses, index: index + 1, reason: reason,
                        failures: failures + ["\(addresses[index]): \(why)"], context: context)
                }
            }
    }

    private func connected(_ request: ProxyRequest, upstream: any Channel, reason: String, context: ChannelHandlerContext) {
        do {
            switch request {
            case .tunnel:
                try beginTunnel(upstream: upstream, context: context)
                shared.metrics.count("tunnel", reason: reason)
            case .forward(_, let head):
                try beginForwarding(head, upstream: upstream, context: context)
                shared.metrics.count("forward", reason: reason)
            }
        } catch {
            upstream.close(promise: nil)
            context.close(promise: nil)
        }
    }

    /// Answers `200`, then hands both channels to a pair of glue handlers. Bytes the client
    /// sent after its CONNECT head (a TLS ClientHello, say) are passed on, not lost.
    private func beginTunnel(upstream: any Channel, context: ChannelHandlerContext) throws {
        let glue = GlueHandler.pair(metrics: shared.metrics)
        // The client's channel has the idle timer: a tunnel with bytes either way keeps it busy.
        try upstream.pipeline.syncOperations.addHandler(glue.upstream)
        let pipeline = context.pipeline.syncOperations
        let channel = context.channel
        state = .handedOver
        pipeline.removeHandler(encoder, promise: nil)
        context.writeAndFlush(NIOAny(ByteBuffer(string: "HTTP/1.1 200 Connection established\r\n\r\n")), promise: nil)
        try pipeline.addHandler(glue.client)
        pipeline.removeHandler(context: context, promise: nil)
        pipeline.removeHandler(decoder, promise: nil)
        upstream.flush()
        try upstream.syncOptions?.setOption(ChannelOptions.autoRead, value: true)
        channel.read()
    }

    private func beginForwarding(_ head: HTTPRequestHead, upstream: any Channel, context: ChannelHandlerContext) throws {
        let handler = UpstreamHTTPHandler(client: self, clientContext: context)
        let pipeline = upstream.pipeline.syncOperations
        try pipeline.addHTTPClientHandlers()
        try pipeline.addHandler(handler)
        upstreamHandler = handler
        state = .forwarding(upstream)
        upstream.write(HTTPClientRequestPart.head(head), promise: nil)
        for part in buffered {
            if case .body(let buffer) = part { shared.metrics.bytesUp.count(buffer.readableBytes) }
            upstream.write(Self.upstreamPart(part), promise: nil)
        }
        buffered = []
        upstream.flush()
        try upstream.syncOptions?.setOption(ChannelOptions.autoRead, value: true)
        if upstream.isWritable { resumeReading(context) }
    }

    private static func upstreamPart(_ part: HTTPServerRequestPart) -> HTTPClientRequestPart {
        switch part {
        case .head(let head): .head(head)
        case .body(let buffer): .body(.byteBuffer(buffer))
        case .end(let trailers): .end(trailers)
        }
    }

    // MARK: The destination's response (plain HTTP)

    func upstreamResponded(_ part: HTTPClientResponsePart, context: ChannelHandlerContext) {
        guard case .forwarding(let upstream) = state else { return }
        switch part {
        case .head(let head):
            responseStarted = true
            var headers = ProxyRequest.endToEnd(head.headers)
            headers.replaceOrAdd(name: "connection", value: "close")
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: clientVersion, status: head.status, headers: headers))), promise: nil)
        case .body(let buffer):
            shared.metrics.bytesDown.count(buffer.readableBytes)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        case .end(let trailers):
            state = .responding
            upstream.close(promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(trailers))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }

    func upstreamClosed(context: ChannelHandlerContext) {
        guard case .forwarding = state else { return }
        if responseStarted {
            // The response was cut short: the client sees the connection end early.
            state = .closed
            context.close(promise: nil)
        } else {
            refuse(
                ProxyRefusal(
                    status: .badGateway, code: "upstream_closed", message: "the destination closed the connection without a response"),
                outcome: "upstream_unreachable", context: context)
        }
    }

    // MARK: The proxy's own answers

    private func refuse(_ refusal: ProxyRefusal, outcome: String, context: ChannelHandlerContext) {
        switch state {
        case .responding, .closed, .handedOver: return
        default: break
        }
        if case .forwarding(let upstream) = state { upstream.close(promise: nil) }
        state = .responding
        buffered = []
        shared.metrics.count(outcome, reason: refusal.code)
        if let destination = refusal.destination {
            // The destination only (host:port): a request's path or userinfo may hold a secret.
            shared.logger.info("egress refused", metadata: ["reason": "\(refusal.code)", "destination": "\(destination)"])
        }
        let body = ByteBuffer(
            string: JSONValue.object(["error": ["code": .string(refusal.code), "message": .string(refusal.message)]]).canonicalText + "\n")
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: String(body.readableBytes))
        headers.add(name: "connection", value: "close")
        headers.add(name: "x-gatehouse-egress-reason", value: refusal.code)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: refusal.status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }
}

/// The destination's side of a forwarded plain HTTP request: its response goes to the
/// client; it reads only while the client can take more.
final class UpstreamHTTPHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    private var client: ProxyHandler?
    private let clientContext: ChannelHandlerContext
    private var context: ChannelHandlerContext?
    private var pendingRead = false

    init(client: ProxyHandler, clientContext: ChannelHandlerContext) {
        self.client = client
        self.clientContext = clientContext
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        client = nil
    }

    func resumeReading() {
        if pendingRead {
            pendingRead = false
            context?.read()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        client?.upstreamResponded(unwrapInboundIn(data), context: clientContext)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        clientContext.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        client?.upstreamClosed(context: clientContext)
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { client?.upstreamBecameWritable(clientContext) }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent { context.close(promise: nil) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        if clientContext.channel.isWritable {
            context.read()
        } else {
            pendingRead = true
        }
    }
}

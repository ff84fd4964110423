import NIOCore

/// One end of a tunnel: what it reads is written to its partner on the other channel (both
/// channels run on one event loop). Memory stays bounded: an end reads only while its
/// partner's channel is writable, so a slow reader stops a fast writer instead of filling a
/// buffer. A half-close is passed on (EOF becomes a shutdown of the partner's output, after
/// what was already read has been written).
final class GlueHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    var partner: GlueHandler?
    private var context: ChannelHandlerContext?
    private var pendingRead = false
    private let bytes: ProxyMetrics.ByteCounter

    init(bytes: ProxyMetrics.ByteCounter) {
        self.bytes = bytes
    }

    /// Two glued ends, for the client's and the destination's channel.
    static func pair(metrics: ProxyMetrics) -> (client: GlueHandler, upstream: GlueHandler) {
        let client = GlueHandler(bytes: metrics.bytesUp), upstream = GlueHandler(bytes: metrics.bytesDown)
        client.partner = upstream
        upstream.partner = client
        return (client, upstream)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    // MARK: What the partner asks of this end.

    private func partnerWrite(_ data: NIOAny) {
        context?.write(data, promise: nil)
    }

    private func partnerFlush() {
        context?.flush()
    }

    /// Closes this end (its output only, for a half-close) once everything already written
    /// to it has gone out.
    private func partnerClosed(mode: CloseMode) {
        guard let context else { return }
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(ByteBuffer()), promise: written)
        written.futureResult.assumeIsolated().whenComplete { _ in context.close(mode: mode, promise: nil) }
    }

    private var partnerWritable: Bool { context?.channel.isWritable ?? false }

    private func partnerBecameWritable() {
        if pendingRead {
            pendingRead = false
            context?.read()
        }
    }

    // MARK: Events on this end.

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        bytes.count(unwrapInboundIn(data).readableBytes)
        partner?.partnerWrite(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.partnerFlush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.partnerClosed(mode: .all)
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed = event as? ChannelEvent {
            partner?.partnerClosed(mode: .output)
        } else if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.partnerBecameWritable() }
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if partner?.partnerWritable ?? false {
            context.read()
        } else {
            pendingRead = true
        }
    }
}

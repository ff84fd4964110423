import Foundation
import GatehouseDomain
import GatehouseService
import HTTPTypes
import HummingbirdCore
import NIOCore
import NIOHTTPTypes

/// Answers the login and upload decisions that need no write on the connection's event loop,
/// before the router: the Codecov instance's hottest questions, answered from memory in a few
/// microseconds, need not pay for a task, its hops between threads and the async writer that
/// every routed request pays (twice what the answer itself costs; docs/benchmarks.md).
///
/// It answers only what it can answer exactly as the route would: `POST /v1/authorize/login`
/// or `/upload` on a connection kept alive, a body of known length ≤ 64 KiB and type
/// `application/json` (or none), a token in memory whose scope permits decisions, the plain
/// body shape (`parsePlain`), and a decision that writes nothing
/// (`Gatehouse.authorizeLoginFromMemory`). Everything else —
/// a missing or wrong token, another type, a body to parse in full, a first login, a seat to
/// activate — goes to the router as it arrived, which answers it (and every error) as always.
/// The answer is the route's: the same body and headers, the same metrics and bookkeeping.
///
/// Order is kept: while a request handed to the router has no answer yet, every later
/// request on the connection goes to the router too. A graceful shutdown's quiesce event
/// waits for a request being read here to be answered.
final class DecisionFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    static let maxBodyBytes = 64 << 10
    enum Kind: CaseIterable {
        case login, upload
        var label: String { self == .login ? "login" : "upload" }
        /// The route's path, which is also its label in the request metrics.
        var path: String { self == .login ? DecisionRoutes.login : DecisionRoutes.upload }
    }

    /// A request being read to be answered here.
    private struct Held {
        var head: HTTPRequest
        var kind: Kind
        var body: ByteBuffer?
    }

    private let gatehouse: Gatehouse
    private let metrics: GatehouseMetrics
    private let serverName: String
    private var held: Held?
    /// Requests handed to the router whose responses have not ended.
    private var routed = 0
    private var needsFlush = false
    private var quiesceWaiting = false
    private var date = HTTPDate()
    private var lastSecret: (secret: String, hash: String)?

    init(gatehouse: Gatehouse, metrics: GatehouseMetrics, serverName: String) {
        self.gatehouse = gatehouse
        self.metrics = metrics
        self.serverName = serverName
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            if routed == 0, let kind = answerable(head) {
                held = Held(head: head, kind: kind)
            } else {
                routed += 1
                context.fireChannelRead(data)
            }
        case .body(var part):
            guard held != nil else { return context.fireChannelRead(data) }
            if held!.body == nil { held!.body = part } else { held!.body!.writeBuffer(&part) }
        case .end(let trailers):
            guard let request = held else { return context.fireChannelRead(data) }
            held = nil
            if trailers == nil, let answer = answer(request) {
                write(answer, request, context: context)
            } else {
                route(request, trailers: trailers, context: context)
            }
            if quiesceWaiting {
                quiesceWaiting = false
                flushIfNeeded(context: context)
                context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushIfNeeded(context: context)
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, held != nil {
            quiesceWaiting = true
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), routed > 0 { routed -= 1 }
        context.write(data, promise: promise)
    }

    // MARK: deciding

    /// Which decision a request head asks for, when it can be answered here; `nil` sends it
    /// to the router.
    private func answerable(_ head: HTTPRequest) -> Kind? {
        guard head.method == .post, let path = head.path, let kind = Kind.allCases.first(where: { $0.path == path }) else {
            return nil
        }
        var length: Int?
        var secret: String?
        for field in head.headerFields {
            switch field.name {
            case .contentLength:
                guard length == nil, let value = Int(field.value), value <= Self.maxBodyBytes else { return nil }
                length = value
            case .contentType:
                guard field.value.utf8.elementsEqual("application/json".utf8) else { return nil }
            case .authorization:
                guard secret == nil, let found = BearerAuthMiddleware.secret(field.value) else { return nil }
                secret = found
            case .connection:
                // Kept alive, as by default: a close is the router's to make.
                guard field.value.utf8.count == 10, field.value.lowercased() == "keep-alive" else { return nil }
            case .expect, .transferEncoding:
                return nil
            default:
                continue
            }
        }
        guard length != nil, let secret, let token = token(secret), token.scope.permits(DecisionRoutes.access) else { return nil }
        return kind
    }

    /// The token of a bearer secret, from memory. The connection's last secret and its hash
    /// are kept: a reverse proxy or client sends the same one request after request, and its
    /// SHA-256 was a tenth of the decision's own cost. The secrets are compared in constant
    /// time (one upstream connection may carry several clients' requests); the token is looked
    /// up by hash every time, so a revoked one is refused at once.
    private func token(_ secret: String) -> TokenRecord? {
        if let last = lastSecret, APIToken.constantTimeEquals(last.secret, secret) { return gatehouse.tokenFromMemory(hash: last.hash) }
        guard let hash = Gatehouse.tokenHash(secret) else { return nil }
        lastSecret = (secret, hash)
        return gatehouse.tokenFromMemory(hash: hash)
    }

    private func answer(_ request: Held) -> DecisionResult? {
        (request.body ?? ByteBuffer()).withUnsafeReadableBytes { bytes in
            switch request.kind {
            case .login: LoginRequest.parsePlain(bytes).flatMap(gatehouse.authorizeLoginFromMemory)
            case .upload: UploadRequest.parsePlain(bytes).flatMap(gatehouse.authorizeUploadFromMemory)
            }
        }
    }

    // MARK: writing

    /// The route's response: `Response.json(text:)`, with the date and server fields
    /// Hummingbird adds to every response.
    private func write(_ answer: DecisionResult, _ request: Held, context: ChannelHandlerContext) {
        metrics.countDecision(kind: request.kind.label, reason: answer.reason.rawValue, onEventLoop: true)
        metrics.countRequest(method: "POST", route: request.kind.path, status: 200)
        let body = Response.body(answer.jsonText, newline: true, allocator: context.channel.allocator)
        var fields = HTTPFields()
        fields.reserveCapacity(4)
        fields[.contentType] = "application/json"
        fields[.contentLength] = String(body.readableBytes)
        fields[.date] = date.now()
        fields[.server] = serverName
        context.write(wrapOutboundOut(.head(HTTPResponse(status: .ok, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        context.write(wrapOutboundOut(.end(nil)), promise: nil)
        needsFlush = true
    }

    /// Hands a request read here to the router, part by part as it came.
    private func route(_ request: Held, trailers: HTTPFields?, context: ChannelHandlerContext) {
        routed += 1
        context.fireChannelRead(wrapInboundOut(.head(request.head)))
        if let body = request.body { context.fireChannelRead(wrapInboundOut(.body(body))) }
        context.fireChannelRead(wrapInboundOut(.end(trailers)))
    }

    private func flushIfNeeded(context: ChannelHandlerContext) {
        guard needsFlush else { return }
        needsFlush = false
        context.flush()
    }
}

/// The `Date` field's value (RFC 9110's IMF-fixdate, "Fri, 27 Nov 2026 10:34:37 GMT"), made
/// once a second.
struct HTTPDate {
    private var second = -1
    private var text = ""

    static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    mutating func now() -> String {
        // Not `time(nil)`: glibc reads the coarse clock there, a few milliseconds behind.
        let t = Int(Date().timeIntervalSince1970)
        if t != second {
            second = t
            text = Self.format(t)
        }
        return text
    }

    static func format(_ t: Int) -> String {
        var clock = time_t(t)
        var parts = tm()
        gmtime_r(&clock, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}

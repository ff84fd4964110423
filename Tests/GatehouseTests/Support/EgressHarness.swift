import Foundation
import GatehouseDomain
import GatehouseEgressProxy
import GatehouseHTTP
import GatehouseService
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A resolver the test controls (never the internet): fixed answers per name, or a sequence
/// of answers (the first public, the next private: DNS rebinding). Counts lookups.
final class ScriptedResolver: EgressResolver {
    private let answers: Mutex<[String: [[IPAddress]]]>
    private let calls = Mutex([String: Int]())

    init(_ table: [String: [String]] = [:]) {
        answers = Mutex(table.mapValues { [$0.map { IPAddress.parse($0)! }] })
    }

    /// Answers `first` to the first lookup of `name` and `then` to every later one.
    func rebinding(_ name: String, first: [String], then: [String]) {
        answers.withLock { $0[name] = [first.map { IPAddress.parse($0)! }, then.map { IPAddress.parse($0)! }] }
    }

    func lookups(of name: String) -> Int { calls.withLock { $0[name] ?? 0 } }

    func addresses(of name: String) async -> [IPAddress] {
        calls.withLock { $0[name, default: 0] += 1 }
        return answers.withLock { table in
            guard var sequence = table[name], !sequence.isEmpty else { return [] }
            let answer = sequence[0]
            if sequence.count > 1 { sequence.removeFirst() }
            table[name] = sequence
            return answer
        }
    }
}

/// A destination server on 127.0.0.1, counting the connections it accepts.
final class Upstream: Sendable {
    let channel: any Channel
    private let accepted = Atomic<Int>(0)
    /// Bytes a `source` upstream has handed to the kernel so far.
    let written = Atomic<Int>(0)

    var port: Int { channel.localAddress!.port! }
    var connections: Int { accepted.load(ordering: .relaxed) }

    private init(channel: any Channel) { self.channel = channel }

    enum Kind {
        /// Answers every HTTP request with `method uri` and the request headers, one per line.
        case http
        /// Echoes bytes; closes its output when the client closes its own (half-close).
        case echo
        /// Sends `count` bytes of a known pattern, then closes; the socket send buffer small.
        case source(count: Int)
    }

    static func start(_ kind: Kind) async throws -> Upstream {
        let box = Mutex<Upstream?>(nil)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                let upstream = box.withLock { $0 }
                upstream?.accepted.add(1, ordering: .relaxed)
                return channel.eventLoop.makeCompletedFuture {
                    switch kind {
                    case .http:
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        try channel.pipeline.syncOperations.addHandler(EchoRequestHandler())
                    case .echo:
                        try channel.pipeline.syncOperations.addHandler(EchoHandler())
                    case .source(let count):
                        try channel.syncOptions?.setOption(ChannelOptions.socketOption(.so_sndbuf), value: 65536)
                        try channel.pipeline.syncOperations.addHandler(SourceHandler(count: count, written: upstream!))
                    }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let upstream = Upstream(channel: channel)
        box.withLock { $0 = upstream }
        return upstream
    }

    func stop() async { try? await channel.close() }

    /// The byte at `offset` of a `source` upstream's stream.
    static func patternByte(_ offset: Int) -> UInt8 { UInt8(truncatingIfNeeded: offset &* 31 &+ offset >> 12) }

    /// The pattern repeats every MiB (`offset * 31` every 256 bytes, `offset >> 12` every
    /// 2^20); one period and a chunk's worth more, to compare chunks with `memcmp`, which a
    /// debug build does at memory speed where a loop over tens of MiB takes seconds.
    fileprivate static let patternPeriod: [UInt8] = (0..<(1 << 20) + (1 << 17)).map { patternByte($0) }

    /// Whether `bytes` are the pattern from `offset` on (chunks of at most 128 KiB).
    static func matchesPattern(_ bytes: [UInt8], from offset: Int) -> Bool {
        precondition(bytes.count <= 1 << 17)
        let start = offset & ((1 << 20) - 1)
        return bytes.withUnsafeBytes { chunk in
            patternPeriod.withUnsafeBytes { memcmp(chunk.baseAddress!, $0.baseAddress! + start, chunk.count) == 0 }
        }
    }
}

private final class EchoRequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    private var head: HTTPRequestHead?
    private var bodyBytes = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h; bodyBytes = 0
        case .body(let b): bodyBytes += b.readableBytes
        case .end:
            guard let head else { return }
            var text = "\(head.method.rawValue) \(head.uri)\nbody-bytes: \(bodyBytes)\n"
            for (name, value) in head.headers { text += "\(name.lowercased()): \(value)\n" }
            let body = ByteBuffer(string: text)
            var headers = HTTPHeaders()
            headers.add(name: "content-length", value: String(body.readableBytes))
            headers.add(name: "x-upstream", value: "yes")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            // One request per connection, as the proxy asks for.
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}

private final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) { context.flush() }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed = event as? ChannelEvent {
            // Everything echoed first, then our own half of the connection closes.
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "bye\n"))).assumeIsolated().whenComplete { _ in
                context.close(mode: .output, promise: nil)
            }
        }
    }
}

private final class SourceHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private let count: Int
    private let upstream: Upstream
    private var sent = 0

    init(count: Int, written: Upstream) {
        self.count = count
        self.upstream = written
    }

    func channelActive(context: ChannelHandlerContext) { pump(context) }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { pump(context) }
    }

    private func pump(_ context: ChannelHandlerContext) {
        let upstream = self.upstream
        while sent < count, context.channel.isWritable {
            let n = min(65536, count - sent)
            var buffer = context.channel.allocator.buffer(capacity: n)
            let start = sent
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: n) { raw in
                Upstream.patternPeriod.withUnsafeBytes { period in
                    raw.baseAddress!.copyMemory(from: period.baseAddress! + (start & ((1 << 20) - 1)), byteCount: n)
                }
                return n
            }
            sent += n
            context.writeAndFlush(wrapOutboundOut(buffer)).whenSuccess { upstream.written.add(n, ordering: .relaxed) }
        }
        if sent >= count { context.close(mode: .output, promise: nil) }
    }
}

/// A blocking TCP client for talking to the proxy byte by byte (run off the cooperative pool:
/// the proxy's decisions run there).
final class RawClient: @unchecked Sendable {
    let fd: Int32

    init(port: Int, receiveBuffer: Int32? = nil, timeout: Int = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBuffer { setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size)) }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            throw ConnectFailed(port: port, errno: errno)
        }
    }

    deinit { close(fd) }

    func send(_ text: String) { send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// Whether the other side has closed or answered (something to read, or the end), without waiting.
    var hasNews: Bool {
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)
    }

    /// Sends `bytes` one at a time, `interval` apart, until done or the other side answers or closes.
    func trickle(_ bytes: [UInt8], every interval: useconds_t) {
        for byte in bytes {
            if hasNews { return }
            send([byte])
            usleep(interval)
        }
    }

    /// Reads up to `max` bytes; nil at EOF, error or timeout.
    func read(max: Int = 65536) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: max)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, max, 0) }
        return n > 0 ? Array(buffer[..<n]) : nil
    }

    /// Reads a response head (through the blank line); what came after it is returned too.
    func readHead() -> (head: String, rest: [UInt8]) {
        var data: [UInt8] = []
        while true {
            if let end = data.firstRange(of: Array("\r\n\r\n".utf8)) {
                return (String(decoding: data[..<end.upperBound], as: UTF8.self), Array(data[end.upperBound...]))
            }
            guard let chunk = read() else { return (String(decoding: data, as: UTF8.self), []) }
            data += chunk
        }
    }

    /// Everything until the other side closes (or the timeout).
    func readToEnd() -> [UInt8] {
        var data: [UInt8] = []
        while let chunk = read() { data += chunk }
        return data
    }
}

struct ConnectFailed: Error, CustomStringConvertible {
    let port: Int
    let errno: Int32
    var description: String { "cannot connect to 127.0.0.1:\(port): errno \(errno)" }
}

/// Runs blocking work on its own thread.
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// A response from the proxy, parsed loosely.
struct ProxyResponse: Sendable {
    var status: Int
    var head: String
    var body: String

    func header(_ name: String) -> String? {
        head.split(separator: "\r\n").first { $0.lowercased().hasPrefix(name.lowercased() + ":") }
            .map { String($0.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces) }
    }

    static func parse(_ bytes: [UInt8]) -> ProxyResponse {
        let text = String(decoding: bytes, as: UTF8.self)
        let parts = text.components(separatedBy: "\r\n\r\n")
        let statusLine = parts.first?.split(separator: "\r\n").first ?? ""
        let status = statusLine.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return ProxyResponse(status: status, head: parts.first ?? "", body: parts.dropFirst().joined(separator: "\r\n\r\n"))
    }
}

/// A Gatehouse with an egress policy, a scripted resolver and a running proxy.
struct ProxyFixture {
    let dir: TempDir
    let gatehouse: Gatehouse
    let proxy: EgressProxy.Running
    let metrics: GatehouseMetrics

    static func start(policy: String, resolver: ScriptedResolver, limits: EgressProxyLimits? = nil) async throws -> ProxyFixture {
        let (dir, gatehouse, _) = try await gatehouseWithLicense(policy: ["egress.yml": policy], resolver: resolver)
        var testLimits = EgressProxyLimits()
        testLimits.connectTimeout = 1
        testLimits.idleTimeout = 10
        var logger = Logger(label: "egress-test")
        logger.logLevel = .critical
        let metrics = GatehouseMetrics()
        let proxy = try await EgressProxy(
            gatehouse: gatehouse, host: "127.0.0.1", port: 0, limits: limits ?? testLimits,
            metrics: ProxyMetrics(registry: metrics.registry),
            logger: logger
        ).start()
        return ProxyFixture(dir: dir, gatehouse: gatehouse, proxy: proxy, metrics: metrics)
    }

    /// Sends `request` and reads until the proxy closes the connection.
    func exchange(_ request: String) async throws -> ProxyResponse {
        let port = proxy.port
        return try await blocking {
            let client = try RawClient(port: port)
            client.send(request)
            return ProxyResponse.parse(client.readToEnd())
        }
    }
}

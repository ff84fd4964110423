import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization

/// A Hummingbird router served on a free loopback port inside the test process: the stand-in
/// upstream behind a reverse proxy, and the stand-ins for providers that cannot run here.
final class LiveServer: Sendable {
    let port: Int
    private let task: Task<Void, any Error>

    var base: String { "http://127.0.0.1:\(port)" }

    /// - Parameter port: a fixed port (a receiver that comes back where it was), or 0 for any.
    static func start(_ router: Router<BasicRequestContext>, port: Int = 0) async throws -> LiveServer {
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "stand-in")
        logger.logLevel = .error
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        let task = Task { try await app.run() }
        var iterator = stream.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else { throw MissingProgram(message: "a stand-in server did not start") }
        return LiveServer(port: port, task: task)
    }

    private init(port: Int, task: Task<Void, any Error>) {
        self.port = port
        self.task = task
    }

    func stop() { task.cancel() }
    deinit { task.cancel() }
}

/// The stand-in for Codecov behind the proxy: answers every path with what it was told about
/// the person (the X-Gatehouse-* headers), and remembers each request.
final class EchoUpstream: Sendable {
    let server: LiveServer
    private let seen: TestBox<[(path: String, user: String)]>

    var port: Int { server.port }
    /// The requests that reached the upstream, with the user the proxy named.
    var requests: [(path: String, user: String)] { seen.withLock { $0 } }

    static func start() async throws -> EchoUpstream {
        let seen = TestBox<[(path: String, user: String)]>([])
        let router = Router()
        router.on("**", method: .get) { request, _ -> Response in
            let user = request.headers[HTTPField.Name("X-Gatehouse-User")!] ?? ""
            let role = request.headers[HTTPField.Name("X-Gatehouse-Role")!] ?? ""
            let email = request.headers[HTTPField.Name("X-Gatehouse-Email")!] ?? ""
            seen.withLock { $0.append((request.uri.path, user)) }
            let html =
                "<!doctype html><title>Codecov stand-in</title><p id=\"who\">user=[\(user)] role=[\(role)] email=[\(email)]</p><p id=\"path\">\(request.uri.path)</p>"
            return Response(status: .ok, headers: [.contentType: "text/html"], body: .init(byteBuffer: ByteBuffer(string: html)))
        }
        return EchoUpstream(server: try await LiveServer.start(router), seen: seen)
    }

    private init(server: LiveServer, seen: TestBox<[(path: String, user: String)]>) {
        self.server = server
        self.seen = seen
    }
}

/// A value behind a lock, shareable between a test and the servers it starts.
final class TestBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

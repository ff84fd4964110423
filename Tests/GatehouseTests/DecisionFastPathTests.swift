import Foundation
import GatehouseDomain
import GatehouseHTTP
import GatehouseService
import Hummingbird
import HummingbirdTesting
import Logging
import ServiceLifecycle
import Testing

/// Issue 20, target 1: login and upload decisions that write nothing are answered on the event
/// loop (`DecisionFastPath`), before the router. They must be answered exactly as the router
/// answers them, every other request must reach the router untouched, answers must keep their
/// order on a connection, and a graceful shutdown must not drop a request being read.
@Suite("Decisions answered on the event loop")
struct DecisionFastPathTests {
    static let policy = [
        "login.yml": """
        login:
          deny: ["github:mallory"]
          github: {allowed_orgs: [acme], allowed_teams: [acme/eng]}
        """
    ]

    static func application(
        _ gatehouse: Gatehouse, metrics: GatehouseMetrics, onEventLoop: Bool, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol & Service {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return buildApplication(
            gatehouse: gatehouse, settings: HTTPSettings(host: "127.0.0.1", port: 0, decisionsOnEventLoop: onEventLoop),
            logger: logger, metrics: metrics, onServerRunning: onRunning)
    }

    /// A gatehouse with the policy above and people u0…u4 signed in once (seats held).
    static func seeded() async throws -> (TempDir, Gatehouse, authorize: String, admin: String) {
        let (dir, gatehouse, _) = try await gatehouseWithLicense(policy: policy)
        let authorize = try await gatehouse.createToken(name: "codecov", scope: .authorize, actor: "test").secret
        let admin = try await gatehouse.createToken(name: "admin", scope: .admin, actor: "test").secret
        for i in 0..<5 {
            let body = #"{"provider":"github","username":"u\#(i)","external_id":"\#(i)","orgs":["acme"],"teams":["acme/eng"]}"#
            let request = try LoginRequest.parse(try JSONValue.parse(body))
            #expect(try await gatehouse.authorizeLogin(request, actor: "test").allow)
        }
        return (dir, gatehouse, authorize, admin)
    }

    struct Case: Sendable {
        var path = "/v1/authorize/login"
        var method: HTTPRequest.Method = .post
        var headers: HTTPFields
        var body: String
        /// Whether the fast path answers it (else the router does).
        var onEventLoop: Bool
    }

    static func cases(authorize: String, admin: String) -> [Case] {
        let json: HTTPFields = [.authorization: "Bearer \(authorize)", .contentType: "application/json"]
        let untyped: HTTPFields = [.authorization: "Bearer \(authorize)"]
        let login = { (name: String, orgs: String, teams: String) in
            #"{"provider":"github","username":"\#(name)","external_id":"\#(name.dropFirst())","orgs":\#(orgs),"teams":\#(teams)}"#
        }
        return [
            // Answered from memory: allowed, and refused for each kind of reason.
            Case(headers: json, body: login("u1", #"["acme"]"#, #"["acme/eng"]"#), onEventLoop: true),
            Case(headers: untyped, body: login("u2", #"["acme"]"#, #"["acme/eng"]"#), onEventLoop: true),
            Case(headers: json, body: login("u3", #"["acme"]"#, #"["acme/sales"]"#), onEventLoop: true),
            Case(headers: json, body: #"{"provider":"github","username":"outsider","orgs":["other"]}"#, onEventLoop: true),
            Case(
                headers: json, body: #"{"provider":"github","username":"mallory","orgs":["acme"],"teams":["acme/eng"]}"#, onEventLoop: true),
            Case(
                path: "/v1/authorize/upload", headers: json,
                body:
                    #"{"repository":{"owner":"acme","name":"api","private":true},"author":{"provider":"github","username":"u4","external_id":"4"}}"#,
                onEventLoop: true),
            Case(
                path: "/v1/authorize/upload", headers: json,
                body: #"{"repository":{"owner":"acme","name":"web","private":false},"author":{"provider":"github","username":"nobody"}}"#,
                onEventLoop: true),
            // Left to the router: every error, every other shape and route.
            Case(headers: [.contentType: "application/json"], body: login("u1", "[]", "[]"), onEventLoop: false),
            Case(headers: [.authorization: "Bearer gth_notatoken", .contentType: "application/json"], body: "{}", onEventLoop: false),
            Case(headers: [.authorization: "Bearer \(admin)", .contentType: "application/json"], body: "{}", onEventLoop: false),
            Case(headers: [.authorization: "Bearer \(authorize)", .contentType: "text/plain"], body: "{}", onEventLoop: false),
            Case(
                headers: [.authorization: "Bearer \(authorize)", .contentType: "application/json; charset=utf-8"],
                body: login("u1", #"["acme"]"#, #"["acme/eng"]"#), onEventLoop: false),
            Case(headers: json, body: "{", onEventLoop: false),
            Case(headers: json, body: #"{"provider":"github","username":"u1","extra":1}"#, onEventLoop: false),
            // A body the plain reader leaves to the full parser (an escape), allowed there.
            Case(
                headers: json, body: #"{"provider":"github","username":"u\u0031","external_id":"1","orgs":["acme"],"teams":["acme/eng"]}"#,
                onEventLoop: false),
            Case(path: "/v1/authorize/login?x=1", headers: json, body: login("u1", #"["acme"]"#, #"["acme/eng"]"#), onEventLoop: false),
            Case(path: "/v1/authorize/login/", headers: json, body: login("u1", #"["acme"]"#, #"["acme/eng"]"#), onEventLoop: false),
            Case(method: .put, headers: json, body: login("u1", #"["acme"]"#, #"["acme/eng"]"#), onEventLoop: false),
        ]
    }

    /// What a response says, but for its date.
    static func comparable(_ response: TestResponse) -> String {
        let fields = response.headers.filter { $0.name != .date }.map { "\($0.name.canonicalName): \($0.value)" }
        return "\(response.status.code)\n\(fields.joined(separator: "\n"))\n\n\(String(buffer: response.body))"
    }

    static func metricLines(_ text: String, _ prefix: String) -> [String] {
        text.split(separator: "\n").filter { $0.hasPrefix(prefix) }.map(String.init).sorted()
    }

    @Test func answersAsTheRouterAnswers() async throws {
        let (_, gatehouse, authorize, admin) = try await Self.seeded()
        let cases = Self.cases(authorize: authorize, admin: admin)
        let fastMetrics = GatehouseMetrics(), routedMetrics = GatehouseMetrics()
        let fast = Self.application(gatehouse, metrics: fastMetrics, onEventLoop: true)
        let routed = Self.application(gatehouse, metrics: routedMetrics, onEventLoop: false)
        try await fast.test(.live) { fastClient in
            try await routed.test(.live) { routedClient in
                var onEventLoop = 0.0
                for c in cases {
                    let asked = Date()
                    let a = try await fastClient.execute(
                        uri: c.path, method: c.method, headers: c.headers, body: ByteBuffer(string: c.body))
                    let answered = Date()
                    let b = try await routedClient.execute(
                        uri: c.path, method: c.method, headers: c.headers, body: ByteBuffer(string: c.body))
                    #expect(Self.comparable(a) == Self.comparable(b), "\(c.method) \(c.path) \(c.body)")
                    // Both dates read alike; the fast path's is the time of its answer (to the
                    // second). Hummingbird's own (every routed answer's) comes from a cache its
                    // timer refreshes, late on a loaded machine: only its form is compared.
                    let dateA = try #require(Self.httpDate(a))
                    _ = try #require(Self.httpDate(b))
                    #expect(
                        !c.onEventLoop || dateA >= asked.addingTimeInterval(-1) && dateA <= answered,
                        "\(dateA.timeIntervalSince1970) not in \(asked.timeIntervalSince1970)…\(answered.timeIntervalSince1970)")
                    let counted = try #require(
                        Double(
                            Self.metricLines(fastMetrics.render(), "gatehouse_decisions_on_event_loop_total").first?.split(separator: " ")
                                .last ?? ""))
                    #expect(
                        counted == onEventLoop + (c.onEventLoop ? 1 : 0),
                        "\(c.method) \(c.path) \(c.headers) \(c.body): answered on the event loop?")
                    onEventLoop = counted
                }
            }
        }
        // Counted alike: each decision by kind and reason, each request by route and status.
        for prefix in ["gatehouse_decisions_total{", "gatehouse_http_requests_total{"] {
            #expect(Self.metricLines(fastMetrics.render(), prefix) == Self.metricLines(routedMetrics.render(), prefix))
        }
        #expect(
            Self.metricLines(routedMetrics.render(), "gatehouse_decisions_on_event_loop_total") == [
                "gatehouse_decisions_on_event_loop_total 0"
            ])
    }

    /// Runs a server with the fast path until `body` returns, then shuts it down gracefully
    /// (or when `body` asks for it, through the group it is given).
    static func withServer(
        _ gatehouse: Gatehouse, metrics: GatehouseMetrics, _ body: @escaping @Sendable (Int, ServiceGroup) async throws -> Void
    ) async throws {
        let (ports, running) = AsyncStream<Int>.makeStream()
        let app = application(gatehouse, metrics: metrics, onEventLoop: true) { running.yield($0) }
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            do {
                try await body(port, group)
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    static func request(_ path: String, token: String, _ body: String) -> String {
        "POST \(path) HTTP/1.1\r\nHost: gatehouse\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    /// Reads `count` responses off a connection: (status line, body) each, in the order they came.
    static func responses(_ count: Int, from client: RawClient) -> [(status: String, body: String)] {
        var data: [UInt8] = []
        var answers: [(String, String)] = []
        while answers.count < count {
            if let end = data.firstRange(of: Array("\r\n\r\n".utf8)) {
                let head = String(decoding: data[..<end.lowerBound], as: UTF8.self)
                let lines = head.components(separatedBy: "\r\n")
                let length =
                    lines.first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                if data.count - end.upperBound >= length {
                    answers.append((lines[0], String(decoding: data[end.upperBound..<end.upperBound + length], as: UTF8.self)))
                    data.removeFirst(end.upperBound + length)
                    continue
                }
            }
            guard let chunk = client.read() else { break }
            data += chunk
        }
        return answers
    }

    static func onEventLoop(_ metrics: GatehouseMetrics) -> String? {
        metricLines(metrics.render(), "gatehouse_decisions_on_event_loop_total").first?.split(separator: " ").last.map(String.init)
    }

    @Test func answersKeepTheirOrderBehindARoutedRequest() async throws {
        let (_, gatehouse, authorize, _) = try await Self.seeded()
        let metrics = GatehouseMetrics()
        let requests = [
            // A first login: written, so the router answers it…
            Self.request(
                "/v1/authorize/login", token: authorize,
                #"{"provider":"github","username":"newbie","external_id":"77","orgs":["acme"],"teams":["acme/eng"]}"#),
            // …and the two behind it on the connection wait for its answer (the router answers them too).
            Self.request(
                "/v1/authorize/login", token: authorize,
                #"{"provider":"github","username":"u1","external_id":"1","orgs":["acme"],"teams":["acme/eng"]}"#),
            Self.request(
                "/v1/authorize/upload", token: authorize,
                #"{"repository":{"owner":"acme","name":"api","private":true},"author":{"provider":"github","username":"u4","external_id":"4"}}"#
            ),
        ]
        try await Self.withServer(gatehouse, metrics: metrics) { port, _ in
            let pipelined = try await blocking {
                let client = try RawClient(port: port)
                client.send(requests.joined())
                return Self.responses(3, from: client)
            }
            #expect(Self.onEventLoop(metrics) == "0")
            // Asked again one by one, all three are answered here now, with the same answers.
            let single = try await blocking {
                let client = try RawClient(port: port)
                return try requests.map { text in
                    client.send(text)
                    return try #require(Self.responses(1, from: client).first)
                }
            }
            #expect(Self.onEventLoop(metrics) == "3")
            #expect(pipelined.count == 3)
            #expect(pipelined.map(\.status) == Array(repeating: "HTTP/1.1 200 OK", count: 3))
            #expect(pipelined.map(\.body) == single.map(\.body))
            #expect(Set(pipelined.map(\.body)).count == 3, "three different answers, in the order asked")
        }
    }

    @Test func aTokenRevokedIsRefusedAtOnceOnAConnectionThatUsedIt() async throws {
        let (_, gatehouse, authorize, _) = try await Self.seeded()
        let other = try await gatehouse.createToken(name: "other", scope: .authorize, actor: "test").secret
        let metrics = GatehouseMetrics()
        let body = #"{"provider":"github","username":"u1","external_id":"1","orgs":["acme"],"teams":["acme/eng"]}"#
        try await Self.withServer(gatehouse, metrics: metrics) { port, _ in
            let client = try RawClient(port: port)
            let ask = { @Sendable (token: String) async throws -> String in
                try await blocking {
                    client.send(Self.request("/v1/authorize/login", token: token, body))
                    return Self.responses(1, from: client).first?.status ?? "no answer"
                }
            }
            #expect(try await ask(authorize) == "HTTP/1.1 200 OK")
            #expect(try await ask(authorize) == "HTTP/1.1 200 OK")
            #expect(try await ask(other) == "HTTP/1.1 200 OK")
            #expect(try await ask(authorize) == "HTTP/1.1 200 OK")
            #expect(Self.onEventLoop(metrics) == "4")
            try await gatehouse.revokeToken(name: "codecov", actor: "test")
            #expect(try await ask(authorize) == "HTTP/1.1 401 Unauthorized")
            #expect(try await ask(other) == "HTTP/1.1 200 OK")
            #expect(try await ask(authorize.dropLast() + "x") == "HTTP/1.1 401 Unauthorized")
            #expect(Self.onEventLoop(metrics) == "5")
        }
    }

    @Test func aGracefulShutdownAnswersTheRequestBeingRead() async throws {
        let (_, gatehouse, authorize, _) = try await Self.seeded()
        let metrics = GatehouseMetrics()
        let text = Self.request(
            "/v1/authorize/login", token: authorize,
            #"{"provider":"github","username":"u1","external_id":"1","orgs":["acme"],"teams":["acme/eng"]}"#)
        let split = text.index(text.endIndex, offsetBy: -20)
        try await Self.withServer(gatehouse, metrics: metrics) { port, group in
            let client = try RawClient(port: port)
            client.send(String(text[..<split]))
            try await Task.sleep(for: .milliseconds(500))  // the head read before the shutdown, even on a loaded machine
            await group.triggerGracefulShutdown()
            try await Task.sleep(for: .milliseconds(300))
            let (answer, closed) = try await blocking {
                client.send(String(text[split...]))
                let answer = Self.responses(1, from: client).first
                return (answer, client.read() == nil)
            }
            #expect(answer?.status == "HTTP/1.1 200 OK")
            #expect(answer?.body.contains(#""allow":true"#) == true)
            #expect(closed, "the connection is closed once answered")
            #expect(Self.onEventLoop(metrics) == "1")
        }
    }

    /// The Date field, read as RFC 9110's IMF-fixdate ("Fri, 27 Nov 2026 10:34:37 GMT").
    static func httpDate(_ response: TestResponse) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return response.headers[.date].flatMap(formatter.date(from:))
    }
}

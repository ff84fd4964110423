import Foundation
import GatehouseDomain
import GatehouseHTTP
import GatehouseService
import GatehouseStorage
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing

@testable import GatehouseEgressProxy

/// The egress proxy over real sockets on loopback: destinations are real servers on
/// 127.0.0.1, names are answered by a resolver the test controls.
@Suite("Egress proxy")
struct EgressProxyTests {
    /// The largest buffer a TCP socket may grow to (`net.ipv4.tcp_rmem`/`tcp_wmem`, third field).
    /// (A guess in its place would make the bound below the machine's again: it must be read.)
    static func sysctlMaximum(_ name: String) throws -> Int {
        let text = try String(contentsOfFile: "/proc/sys/net/ipv4/\(name)", encoding: .utf8)
        return try #require(text.split(whereSeparator: \.isWhitespace).last.flatMap { Int($0) }, "no maximum in \(name): \(text)")
    }

    static func policy(port: Int, mode: String = "enforce", allowLoopback: Bool = false) -> String {
        """
        egress:
          mode: \(mode)
          deny_private_networks: true
          allow_cidrs: [\(allowLoopback ? "\"127.0.0.1/32\"" : "")]
          rules:
            - {name: test-upstream, hosts: ["allowed.test", "*.allowed.test"], ports: [\(port)]}
        """
    }

    /// Names the bypass table uses: everything an attacker might point at the loopback
    /// upstream (or at another private place).
    static func resolver() -> ScriptedResolver {
        ScriptedResolver([
            "localhost": ["127.0.0.1", "::1"], "evil.test": ["127.0.0.1"], "allowed.test": ["127.0.0.1"],
            "evil.allowed.test": ["127.0.0.1"],
            "v6.allowed.test": ["::1"], "mixed.allowed.test": ["93.184.216.34", "127.0.0.1"], "mapped.allowed.test": ["::ffff:127.0.0.1"],
            "nat64.allowed.test": ["64:ff9b::7f00:1"], "meta.allowed.test": ["169.254.169.254"], "private.allowed.test": ["10.0.0.1"],
            "cgnat.allowed.test": ["100.64.0.1"], "teredo.allowed.test": ["2001:0:4136:e378:8000:63bf:80ff:fffe"],
            "6to4.allowed.test": ["2002:7f00:1::1"], "zero.allowed.test": ["0.0.0.0"], "linklocal6.allowed.test": ["fe80::1"],
            "public.allowed.test": ["127.0.0.1"],
        ])
    }

    /// URLs refused by the check API and, sent as absolute-URI requests, by the proxy.
    /// `{P}` is the upstream's port (the one the rule allows).
    static let urlCases = [
        // IP literals for the loopback upstream, in every spelling a resolver accepts.
        "http://127.0.0.1:{P}/", "http://127.1:{P}/", "http://2130706433:{P}/", "http://0x7f000001:{P}/", "http://0177.0.0.1:{P}/",
        "http://0x7f.1:{P}/", "http://017700000001:{P}/", "http://127.0.0.1.:{P}/", "http://0:{P}/", "http://0.0.0.0:{P}/",
        "http://127.000.000.001:{P}/", "http://[::1]:{P}/", "http://[0:0:0:0:0:0:0:1]:{P}/", "http://[::ffff:127.0.0.1]:{P}/",
        "http://[::ffff:7f00:1]:{P}/", "http://[::127.0.0.1]:{P}/", "http://[64:ff9b::7f00:1]:{P}/", "http://[2002:7f00:1::]:{P}/",
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]:{P}/", "http://[fe80::1%25lo]:{P}/", "http://169.254.169.254:{P}/latest/meta-data/",
        "http://[fd00:ec2::254]:{P}/",
        // Names that resolve to loopback or other private places, however they are spelled.
        "http://localhost:{P}/", "http://LOCALHOST:{P}/", "http://localhost.:{P}/", "http://evil.test:{P}/", "http://allowed.test:{P}/",
        "http://ALLOWED.TEST.:{P}/", "http://Evil.Allowed.Test:{P}/", "http://v6.allowed.test:{P}/", "http://mixed.allowed.test:{P}/",
        "http://mapped.allowed.test:{P}/", "http://nat64.allowed.test:{P}/", "http://meta.allowed.test:{P}/",
        "http://private.allowed.test:{P}/",
        "http://cgnat.allowed.test:{P}/", "http://teredo.allowed.test:{P}/", "http://6to4.allowed.test:{P}/",
        "http://zero.allowed.test:{P}/",
        "http://linklocal6.allowed.test:{P}/", "http://nxdomain.allowed.test:{P}/",
        // Userinfo and look-alike tricks.
        "http://allowed.test:{P}@evil.test:{P}/", "http://allowed.test@127.0.0.1:{P}/", "http://evil.test:{P}#@allowed.test:{P}/",
        "http://evil.test:{P}?@allowed.test:{P}/", "http://evil.test:{P}\\@allowed.test:{P}/", "http://allowed.test%2eevil.test:{P}/",
        "http://allowed.test.evil.test:{P}/", "http://evilallowed.test:{P}/", "http://allowed.test..:{P}/",
        "http://" + String(repeating: "a", count: 64) + ".allowed.test:{P}/",
        "http://" + String(repeating: "a.", count: 125) + "allowed.test:{P}/",
        // An allowed name on another port.
        "http://allowed.test/", "http://allowed.test:8443/", "http://public.allowed.test:1/",
    ]

    /// Requests only a proxy sees: CONNECT targets, Host headers, request forms.
    static let proxyCases = [
        "CONNECT 127.0.0.1:{P} HTTP/1.1\r\nHost: 127.0.0.1:{P}\r\n\r\n", "CONNECT [::1]:{P} HTTP/1.1\r\n\r\n",
        "CONNECT 2130706433:{P} HTTP/1.1\r\n\r\n", "CONNECT localhost:{P} HTTP/1.1\r\n\r\n", "CONNECT LocalHost.:{P} HTTP/1.1\r\n\r\n",
        "CONNECT allowed.test:{P} HTTP/1.1\r\n\r\n", "CONNECT allowed.test:8443 HTTP/1.1\r\n\r\n", "CONNECT allowed.test HTTP/1.1\r\n\r\n",
        "CONNECT allowed.test:{P}@evil.test:{P} HTTP/1.1\r\n\r\n", "CONNECT meta.allowed.test:{P} HTTP/1.1\r\n\r\n",
        "CONNECT evil.test:{P} HTTP/1.1\r\nHost: allowed.test:{P}\r\n\r\n",
        "CONNECT allowed.test:{P} HTTP/1.1\r\nHost: evil.test:{P}\r\n\r\n",
        "GET http://evil.test:{P}/ HTTP/1.1\r\nHost: allowed.test:{P}\r\n\r\n",
        "GET http://allowed.test:{P}/ HTTP/1.1\r\nHost: evil.test:{P}\r\n\r\n",
        "GET http://allowed.test:{P}/ HTTP/1.1\r\nHost: allowed.test:{P}\r\nHost: evil.test:{P}\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: allowed.test:{P}\r\n\r\n", "GET https://allowed.test:{P}/ HTTP/1.1\r\n\r\n",
        "GET ftp://allowed.test:{P}/ HTTP/1.1\r\n\r\n",
        "GET http://[::1]:{P}/ HTTP/1.1\r\nHost: allowed.test:{P}\r\n\r\n",
        "\u{16}\u{03}\u{01}\u{02}\u{00}\u{01}\u{00}\u{01}\u{fc}\u{03}\u{03}",
    ]

    @Test("A table of bypass attempts: refused by the check API and by the live proxy; the upstream is never reached")
    func bypassTable() async throws {
        let upstream = try await Upstream.start(.http)
        let P = String(upstream.port)
        let resolver = Self.resolver()
        let fixture = try await ProxyFixture.start(policy: Self.policy(port: upstream.port), resolver: resolver)
        #expect(Self.urlCases.count + Self.proxyCases.count >= 60)

        // The check API, over HTTP.
        let token = try await fixture.gatehouse.createToken(name: "codecov", scope: .authorize, actor: "test").secret
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let app = buildApplication(gatehouse: fixture.gatehouse, settings: HTTPSettings(host: "127.0.0.1", port: 0), logger: logger)
        try await app.test(.router) { client in
            for template in Self.urlCases {
                let url = template.replacingOccurrences(of: "{P}", with: P)
                let body = JSONValue.object(["url": .string(url)]).canonicalText
                let response = try await client.execute(
                    uri: "/v1/authorize/egress", method: .post,
                    headers: [.authorization: "Bearer \(token)", .contentType: "application/json"],
                    body: ByteBuffer(string: body))
                let answer = try JSONValue.parse(Array(response.body.readableBytesView))
                #expect(response.status == .ok && answer["allow"] == false, "check API let \(url) through: \(answer)")
            }
        }

        // The proxy: the same URLs as absolute-URI requests, then the proxy-only requests.
        var requests = Self.urlCases.map { "GET \($0) HTTP/1.1\r\nUser-Agent: bypass\r\n\r\n" }
        requests += Self.proxyCases
        for template in requests {
            let request = template.replacingOccurrences(of: "{P}", with: P)
            let response = try await fixture.exchange(request)
            #expect(
                [400, 403].contains(response.status), "proxy answered \(response.status) to \(request.debugDescription): \(response.body)")
            if response.status == 403 { #expect(response.header("x-gatehouse-egress-reason") != nil) }
        }
        #expect(upstream.connections == 0, "the upstream was reached")
        await fixture.proxy.stop()
        await upstream.stop()
    }

    @Test("Allowed destinations pass: a CONNECT tunnel, and plain HTTP rewritten to origin form, one request per connection")
    func allowedDestinations() async throws {
        let upstream = try await Upstream.start(.http)
        let P = upstream.port
        let fixture = try await ProxyFixture.start(policy: Self.policy(port: P, allowLoopback: true), resolver: Self.resolver())

        let tunnel = try await blocking {
            let client = try RawClient(port: fixture.proxy.port)
            client.send("CONNECT Allowed.Test.:\(P) HTTP/1.1\r\nHost: allowed.test:\(P)\r\n\r\n")
            let (head, _) = client.readHead()
            client.send("GET /inside HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n")
            return (head, String(decoding: client.readToEnd(), as: UTF8.self))
        }
        #expect(tunnel.0.hasPrefix("HTTP/1.1 200"), "\(tunnel.0)")
        #expect(tunnel.1.contains("GET /inside"))

        // Plain HTTP: a body, hop-by-hop headers dropped, the Host header of the checked
        // destination, and a pipelined second request (to elsewhere) never sent on.
        let forwarded = try await fixture.exchange(
            "POST http://allowed.test:\(P)/path?q=1#frag HTTP/1.1\r\nHost: allowed.test:\(P)\r\nProxy-Connection: keep-alive\r\n"
                + "Proxy-Authorization: Basic c2VjcmV0\r\nConnection: x-private\r\nX-Private: 1\r\nContent-Length: 5\r\n\r\nhello"
                + "GET http://evil.test:\(P)/second HTTP/1.1\r\n\r\n")
        #expect(forwarded.status == 200)
        #expect(forwarded.body.hasPrefix("POST /path?q=1\n"), "\(forwarded.body)")
        #expect(forwarded.body.contains("body-bytes: 5"))
        #expect(forwarded.body.contains("host: allowed.test:\(P)"))
        for header in ["proxy-connection", "proxy-authorization", "x-private"] {
            #expect(!forwarded.body.contains(header + ":"), "\(header) passed on")
        }
        #expect(!forwarded.body.contains("/second"))
        #expect(forwarded.header("x-upstream") == "yes" && forwarded.header("connection") == "close")
        #expect(upstream.connections == 2)

        // The same through curl, as a client would use it. Waited for off the cooperative
        // threads: the proxy's decision runs on them.
        let curl = try requireProgram("curl", package: "curl")
        let proxy = "http://127.0.0.1:\(fixture.proxy.port)"
        let viaCurl = try await blocking { try run(curl, ["-sS", "-x", proxy, "http://allowed.test:\(P)/curl"]) }
        #expect(viaCurl.stdout.hasPrefix("GET /curl"), "\(viaCurl.stderr)")
        let tunnelled = try await blocking { try run(curl, ["-sS", "-p", "-x", proxy, "http://allowed.test:\(P)/tunnelled"]) }
        #expect(tunnelled.stdout.hasPrefix("GET /tunnelled"), "\(tunnelled.stderr)")
        let refused = try await blocking {
            try run(curl, ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-x", proxy, "http://evil.test:\(P)/"])
        }
        #expect(refused.stdout == "403")
        await fixture.proxy.stop()
        await upstream.stop()
    }

    @Test("On event loops of its own (egress_proxy.threads: 3): three new threads, concurrent tunnels all pass, gone once stopped")
    func ownEventLoops() async throws {
        let upstream = try await Upstream.start(.http)
        let P = upstream.port
        var limits = EgressProxyLimits()
        limits.threads = 3
        let before = Set(Self.eventLoopGroups().keys)
        let fixture = try await ProxyFixture.start(
            policy: Self.policy(port: P, allowLoopback: true), resolver: Self.resolver(), limits: limits)
        // The proxy's group: new since it started, with three threads (other tests' groups have
        // one or as many as there are cores, and were there before, mostly).
        let own = Self.eventLoopGroups().filter { !before.contains($0.key) && $0.value == 3 }.keys
        #expect(own.count == 1, "\(Self.eventLoopGroups())")
        let port = fixture.proxy.port
        let answers = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<12 {
                group.addTask {
                    try await blocking {
                        let client = try RawClient(port: port)
                        client.send("CONNECT 127.0.0.1:\(P) HTTP/1.1\r\n\r\n")
                        let (head, _) = client.readHead()
                        guard head.hasPrefix("HTTP/1.1 200") else { return head }
                        client.send("GET /tunnel-\(i) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                        return String(decoding: client.readToEnd(), as: UTF8.self)
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for i in 0..<12 { #expect(answers.contains { $0.contains("GET /tunnel-\(i)") }, "tunnel \(i): \(answers)") }
        await fixture.proxy.stop()
        let deadline = Date().addingTimeInterval(5)
        while own.contains(where: { Self.eventLoopGroups()[$0] != nil }), Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!own.contains { Self.eventLoopGroups()[$0] != nil }, "the proxy's threads outlived it")
        await upstream.stop()
    }

    /// SwiftNIO's event loop threads in this process (named `NIO-ELT-<group>-#<loop>`), counted
    /// per group.
    static func eventLoopGroups() -> [String: Int] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        var groups: [String: Int] = [:]
        for task in tasks {
            guard let name = try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8),
                name.hasPrefix("NIO-ELT-"), let hash = name.firstIndex(of: "#")
            else { continue }
            groups[String(name[..<hash]), default: 0] += 1
        }
        return groups
    }

    @Test("DNS rebinding fails: the name is resolved once and the proxy connects to the address it checked")
    func rebinding() async throws {
        let upstream = try await Upstream.start(.http)
        let resolver = Self.resolver()
        // First answer public (unreachable from here), every later one the loopback upstream,
        // which this policy would allow: a second resolution would reach it.
        resolver.rebinding("rebind.allowed.test", first: ["93.184.216.34"], then: ["127.0.0.1"])
        resolver.rebinding("rebind2.allowed.test", first: ["93.184.216.34"], then: ["127.0.0.1"])
        let fixture = try await ProxyFixture.start(policy: Self.policy(port: upstream.port, allowLoopback: true), resolver: resolver)
        for request in [
            "CONNECT rebind.allowed.test:\(upstream.port) HTTP/1.1\r\n\r\n",
            "GET http://rebind2.allowed.test:\(upstream.port)/ HTTP/1.1\r\n\r\n",
        ] {
            let response = try await fixture.exchange(request)
            #expect(response.status == 502, "\(response.head) \(response.body)")
            #expect(response.body.contains("93.184.216.34"))
        }
        #expect(resolver.lookups(of: "rebind.allowed.test") == 1 && resolver.lookups(of: "rebind2.allowed.test") == 1)
        #expect(upstream.connections == 0, "a second resolution reached the loopback upstream")
        await fixture.proxy.stop()
        await upstream.stop()
    }

    @Test("Report mode lets refused destinations through and counts them; open mode just lets them through")
    func reportAndOpen() async throws {
        let upstream = try await Upstream.start(.http)
        let P = upstream.port
        let report = try await ProxyFixture.start(policy: Self.policy(port: P, mode: "report"), resolver: Self.resolver())
        let passed = try await report.exchange("GET http://evil.test:\(P)/reported HTTP/1.1\r\n\r\n")
        #expect(passed.status == 200 && passed.body.hasPrefix("GET /reported"))
        try await report.gatehouse.flushBookkeeping()
        let counts = try await report.gatehouse.store.egressDenialCounts(since: nil)
        #expect(counts.contains { $0.key.destination == "evil.test:\(P)" && $0.key.reason == "destination_not_allowed" })
        #expect(
            report.metrics.render().contains("gatehouse_egress_connections_total{outcome=\"forward\",reason=\"destination_not_allowed\"} 1")
        )
        await report.proxy.stop()

        let open = try await ProxyFixture.start(policy: Self.policy(port: P, mode: "open"), resolver: Self.resolver())
        let through = try await open.exchange("GET http://localhost:\(P)/open HTTP/1.1\r\n\r\n")
        #expect(through.status == 200 && through.body.hasPrefix("GET /open"))
        try await open.gatehouse.flushBookkeeping()
        #expect(try await open.gatehouse.store.egressDenialCounts(since: nil).isEmpty)
        await open.proxy.stop()
        await upstream.stop()
    }

    @Test("Refusals are counted per destination, in the compliance report and the metrics")
    func refusalsCounted() async throws {
        let upstream = try await Upstream.start(.http)
        let P = upstream.port
        let fixture = try await ProxyFixture.start(policy: Self.policy(port: P), resolver: Self.resolver())
        for _ in 0..<3 { _ = try await fixture.exchange("CONNECT evil.test:\(P) HTTP/1.1\r\n\r\n") }
        _ = try await fixture.exchange("GET http://169.254.169.254/latest/meta-data/iam HTTP/1.1\r\n\r\n")
        _ = try await fixture.exchange("GET http://allowed.test:\(P)/ HTTP/1.1\r\nHost: evil.test\r\n\r\n")
        _ = try await fixture.exchange("GET http://user:hunter2@bad\\host/secret-path HTTP/1.1\r\n\r\n")
        let report = try await fixture.gatehouse.complianceReport(asOf: nil)
        let byDestination = report.json["egress_denials_by_destination"]
        #expect(byDestination?["evil.test:\(P)"]?["destination_not_allowed"] == 3)
        #expect(byDestination?["169.254.169.254:80"]?["ip_literal_not_allowed"] == 1)
        #expect(byDestination?["allowed.test:\(P)"]?["host_header_mismatch"] == 1)
        let all = report.json.canonicalText + report.csv + report.html
        #expect(!all.contains("hunter2") && !all.contains("secret-path"), "a secret from a refused URL was kept")
        #expect(report.csv.contains("egress_denials,evil.test:\(P),3,destination_not_allowed"))
        #expect(report.html.contains("evil.test:\(P)"))
        let metrics = fixture.metrics.render()
        #expect(metrics.contains("gatehouse_egress_connections_total{outcome=\"refused\",reason=\"destination_not_allowed\"}"))
        #expect(metrics.contains("gatehouse_egress_connections_total{outcome=\"refused\",reason=\"host_header_mismatch\"} 1"))
        await fixture.proxy.stop()
        await upstream.stop()
    }

    @Test("A tunnel passes a half-close on and ends cleanly")
    func halfClose() async throws {
        let echo = try await Upstream.start(.echo)
        let fixture = try await ProxyFixture.start(policy: Self.policy(port: echo.port, allowLoopback: true), resolver: Self.resolver())
        let received = try await blocking {
            let client = try RawClient(port: fixture.proxy.port)
            // The first bytes ride with the CONNECT head, as a client that does not wait would send them.
            client.send("CONNECT allowed.test:\(echo.port) HTTP/1.1\r\n\r\nearly,")
            let (head, rest) = client.readHead()
            client.send("hello")
            client.shutdownWrite()
            return (head, String(decoding: rest + client.readToEnd(), as: UTF8.self))
        }
        #expect(received.0.hasPrefix("HTTP/1.1 200"))
        #expect(received.1 == "early,hellobye\n", "\(received.1.debugDescription)")
        await fixture.proxy.stop()
        await echo.stop()
    }

    @Test("Backpressure: a client that does not read stops the destination; nothing is lost when it does")
    func backpressure() async throws {
        // What the kernel alone may hold between the destination and a client that reads
        // nothing: the destination's send buffer, the proxy's receive buffer from it and send
        // buffer to the client, the client's receive buffer (set below). Loopback buffers grow
        // up to these sysctls' maxima (32 MiB of receive buffer on some machines), so a fixed
        // bound would test the machine, not the proxy. Add what the proxy itself may hold.
        let kernelMay = try 2 * Self.sysctlMaximum("tcp_wmem") + Self.sysctlMaximum("tcp_rmem") + 65536
        let proxyMay = 4 << 20
        let total = kernelMay + proxyMay + (16 << 20)
        let source = try await Upstream.start(.source(count: total))
        let fixture = try await ProxyFixture.start(policy: Self.policy(port: source.port, allowLoopback: true), resolver: Self.resolver())
        let client = try await blocking { try RawClient(port: fixture.proxy.port, receiveBuffer: 65536) }
        let head = try await blocking {
            client.send("CONNECT allowed.test:\(source.port) HTTP/1.1\r\n\r\n")
            return client.readHead()
        }
        #expect(head.head.hasPrefix("HTTP/1.1 200"))
        // The destination stops: nothing more written for half a second, well short of the whole.
        var stalled = source.written.load(ordering: .relaxed)
        let settled = try await eventually(10) {
            try await Task.sleep(for: .milliseconds(500))
            let now = source.written.load(ordering: .relaxed)
            defer { stalled = now }
            return now == stalled
        }
        #expect(settled, "the destination kept sending to a client that reads nothing (\(stalled) bytes)")
        #expect(
            stalled <= kernelMay + proxyMay,
            "the proxy buffered \(stalled) bytes for a client that reads nothing (the kernel may hold \(kernelMay))")
        let (count, intact) = try await blocking {
            var count = head.rest.count
            var intact = Upstream.matchesPattern(head.rest, from: 0)
            while let chunk = client.read() {
                intact = intact && Upstream.matchesPattern(chunk, from: count)
                count += chunk.count
            }
            return (count, intact)
        }
        #expect(count == total && intact)
        await fixture.proxy.stop()
        await source.stop()
    }

    @Test("Connection cap, idle timeout, an unreachable destination")
    func limits() async throws {
        let upstream = try await Upstream.start(.http)
        var limits = EgressProxyLimits()
        limits.maxConnections = 2
        limits.idleTimeout = 30
        limits.connectTimeout = 1
        let fixture = try await ProxyFixture.start(
            policy: Self.policy(port: upstream.port, allowLoopback: true), resolver: Self.resolver(), limits: limits)
        let port = fixture.proxy.port
        let held = try await blocking { [try RawClient(port: port), try RawClient(port: port)] }
        // Both held connections are admitted before the third arrives (connections are set up
        // on two event loops, so their order is otherwise not fixed).
        let deadline = Date().addingTimeInterval(10)
        while !fixture.metrics.render().contains("gatehouse_egress_active_connections 2"), Date() < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let over = try await blocking { ProxyResponse.parse(try RawClient(port: port).readToEnd()) }
        _ = held
        #expect(over.status == 503 && over.header("x-gatehouse-egress-reason") == "too_many_connections")

        // A client that sends nothing is closed after the idle timeout, not held open.
        limits.idleTimeout = 0.5
        limits.maxConnections = 1024
        let idle = try await ProxyFixture.start(
            policy: Self.policy(port: upstream.port, allowLoopback: true), resolver: Self.resolver(), limits: limits)
        let idleClosed = try await blocking {
            let client = try RawClient(port: idle.proxy.port, timeout: 20)
            let start = Date()
            return client.readToEnd().isEmpty && Date().timeIntervalSince(start) < 15
        }
        #expect(idleClosed)
        await idle.proxy.stop()

        // A closed port on an allowed address: a clean 502, not a hang.
        let closed = try RefusingPort()
        let fixture2 = try await ProxyFixture.start(policy: Self.policy(port: closed.port, allowLoopback: true), resolver: Self.resolver())
        let unreachable = try await fixture2.exchange("CONNECT allowed.test:\(closed.port) HTTP/1.1\r\n\r\n")
        withExtendedLifetime(closed) {}
        #expect(unreachable.status == 502 && unreachable.header("x-gatehouse-egress-reason") == "upstream_unreachable")
        await fixture.proxy.stop()
        await fixture2.proxy.stop()
        await upstream.stop()
    }
}

extension EgressProxyTests {
    @Test("Roles: a caller from a role's sources gets the role's rules; others the top-level ones")
    func roles() async throws {
        let upstream = try await Upstream.start(.http)
        let P = upstream.port
        let policy = """
            egress:
              mode: enforce
              rules:
                - {name: slack, hosts: ["hooks.slack.com"], ports: [443]}
              roles:
                - name: ci
                  sources: ["127.0.0.0/8"]
                  allow_cidrs: ["127.0.0.1/32"]
                  rules:
                    - {name: artifacts, hosts: ["allowed.test"], ports: [\(P)]}
                - name: elsewhere
                  sources: ["10.99.0.0/16"]
                  mode: open
            """
        let fixture = try await ProxyFixture.start(policy: policy, resolver: Self.resolver())
        // The proxy's client is on 127.0.0.1: the ci role applies.
        let passed = try await fixture.exchange("GET http://allowed.test:\(P)/ci HTTP/1.1\r\n\r\n")
        #expect(passed.status == 200 && passed.body.hasPrefix("GET /ci"), "\(passed.head) \(passed.body)")
        let refused = try await fixture.exchange("CONNECT hooks.slack.com:443 HTTP/1.1\r\n\r\n")
        #expect(refused.status == 403, "the top-level rules do not apply to the ci role")

        // The check API: top-level rules unless a role is named; an unknown role is an error.
        let top = try await fixture.gatehouse.checkEgress(url: "http://allowed.test:\(P)/")
        #expect(!top.allow && top.verdict.reason == .destinationNotAllowed && top.role == nil)
        let asCI = try await fixture.gatehouse.checkEgress(url: "http://allowed.test:\(P)/", role: "ci")
        #expect(asCI.allow && asCI.json["role"] == "ci" && asCI.json["rule"] == "artifacts")
        await #expect(throws: GatehouseError.self) {
            try await fixture.gatehouse.checkEgress(url: "https://hooks.slack.com/", role: "nobody")
        }
        await fixture.proxy.stop()
        await upstream.stop()

        let problems = PolicyLoader.parse(files: [
            "egress.yml": """
            egress:
              roles:
                - {name: a, sources: ["10.0.0.0/33"], rules: [{name: r, hosts: ["*"], ports: [443]}]}
                - {name: a, sources: []}
                - {sources: ["10.0.0.0/8"]}
            """
        ]).problems.joined(separator: "\n")
        for fragment in [
            "10.0.0.0/33", "egress.roles[0].rules[0].hosts", "role \"a\" is defined twice", "has no sources", "a role needs a name",
        ] {
            #expect(problems.contains(fragment), "\(fragment) missing from:\n\(problems)")
        }
    }
}

extension EgressProxyTests {
    @Test(
        "Socket addresses convert to and from IPAddress as NIO's own parser reads the text",
        arguments: ["127.0.0.1", "10.1.2.3", "255.255.255.255", "::1", "2001:db8::8:800:200c:417a", "::ffff:127.0.0.1", "fe80::1"])
    func socketAddresses(text: String) throws {
        let address = try #require(IPAddress.parse(text))
        let nio = try SocketAddress(ipAddress: text, port: 8443)
        #expect(address.socketAddress(port: 8443) == nio)
        #expect(IPAddress(nio) == address)
        #expect(address.socketAddress(port: 8443).port == 8443)
    }
}

import Foundation
import GatehouseDomain
import NIOHTTP1
import Testing

/// Issue 16, fault 2: the API port (and the gate's forward-auth port) cut off slow heads,
/// silent and idle connections and slow bodies, and cap their connections, so that a few
/// hundred idle sockets cannot starve `/healthz`, decisions or the egress proxy — even under a
/// low file limit.
extension ProcessHeavySuites {
    @Suite("Connection deadlines and caps on the server's ports", .serialized)
    struct HTTPLimitsTests {
        /// A server with short deadlines (and a gate, so the forward-auth port runs too).
        static func server(maxConnections: Int = 1024, fileLimit: Int? = nil) async throws -> (Replica, CLI) {
            let cli = try CLI()
            try cli.setUp(terms: CLITests.currentTerms(seats: 10))
            let config = try String(contentsOfFile: cli.dir.file("gatehouse.yml"), encoding: .utf8)
            _ = try cli.dir.write(
                "gatehouse.yml",
                config + """
                    http: {head_timeout: 1s, idle_timeout: 1s, request_timeout: 1s, max_connections: \(maxConnections)}
                    egress_proxy: {max_connections: \(maxConnections)}
                    gate: {public_url: "https://codecov.acme.internal"}

                    """)
            return (try await Replica.start(in: cli.dir, environment: cli.environment, fileLimit: fileLimit), cli)
        }

        /// Seconds until the server closes a connection that does `act`, or nil if it stays open 10 s.
        static func secondsUntilClosed(port: Int, _ act: @escaping @Sendable (RawClient) -> Void) async throws -> Double? {
            try await blocking {
                let client = try RawClient(port: port, timeout: 10)
                let start = Date()
                act(client)
                while let _ = client.read() {}
                let seconds = Date().timeIntervalSince(start)
                return seconds < 9.5 ? seconds : nil
            }
        }

        @Test func slowSilentAndIdleConnectionsAreClosed() async throws {
            let (replica, _) = try await Self.server()
            defer { replica.kill() }
            for port in [replica.port, replica.gatePort] {
                // A head that trickles in a byte every 300 ms.
                let partial = try await Self.secondsUntilClosed(port: port) { client in
                    client.trickle(Array("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: abcdefghij".utf8), every: 300_000)
                }
                #expect(partial != nil && partial! < 4, "port \(port): a trickling head stayed open \(partial ?? 10) s")
                // Nothing at all.
                let silent = try await Self.secondsUntilClosed(port: port) { _ in }
                #expect(silent != nil && silent! < 4, "port \(port): a silent connection stayed open")
                // A keep-alive connection after its answer.
                let idle = try await Self.secondsUntilClosed(port: port) { client in
                    client.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                    _ = client.readHead()
                }
                #expect(idle != nil && idle! < 4, "port \(port): an idle keep-alive stayed open")
            }
            // A body that trickles.
            let slowBody = try await Self.secondsUntilClosed(port: replica.port) { client in
                client.send(
                    "POST /v1/authorize/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
                client.trickle(Array(repeating: UInt8(ascii: " "), count: 20), every: 300_000)
            }
            #expect(slowBody != nil && slowBody! < 5, "a trickling body stayed open")
        }

        @Test func silentCrowdsDoNotStarveHealthDecisionsOrTheEgressProxy() async throws {
            // A file limit a few hundred silent sockets would exhaust, and caps below it.
            let (replica, cli) = try await Self.server(maxConnections: 100, fileLimit: 256)
            defer { replica.kill() }
            let token = try cli.token("codecov", scope: "authorize")
            let crowd = try await blocking { (0..<300).compactMap { _ in try? RawClient(port: replica.port, timeout: 30) } }
            #expect(crowd.count >= 250, "only \(crowd.count) of the crowd connected")
            let health = try await HTTPProbe.request(.GET, replica.base + "/healthz")
            #expect(health.status == 200)
            let decision = await replica.login("alice", token: token)
            #expect(decision.0 == 200)
            let egress = try #require(
                replica.output.firstMatch(
                    of: /egress proxy is listening.*address=127\.0\.0\.1:(\d+)|address=127\.0\.0\.1:(\d+) \[GatehouseEgressProxy\]/))
            let egressPort = Int(egress.1 ?? egress.2 ?? "0") ?? 0
            let refused = try await blocking {
                ProxyResponse.parse(
                    try RawClient(port: egressPort).let {
                        $0.send("GET http://169.254.169.254/ HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n"); return $0.readToEnd()
                    })
            }
            #expect(refused.status == 403)
            _ = crowd
        }
    }
}

extension RawClient {
    func `let`<T>(_ body: (RawClient) throws -> T) rethrows -> T { try body(self) }
}

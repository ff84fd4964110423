import Foundation
import GatehouseDomain
import GatehouseEgressProxy
import GatehouseHTTP
import GatehouseService
import Testing

/// Issue 16, fault 1: a client trickling its request head one byte at a time must not hold a
/// slot past the head timeout, whatever the tunnel idle timeout; one address cannot take every slot.
@Suite("The egress proxy against slow and greedy clients")
struct EgressSlowClientTests {
    @Test func aTricklingHeadIsCutOffAtTheHeadTimeout() async throws {
        let upstream = try await Upstream.start(.http)
        var limits = EgressProxyLimits()
        limits.idleTimeout = 30
        limits.headTimeout = 1
        limits.connectTimeout = 1
        let fixture = try await ProxyFixture.start(
            policy: EgressProxyTests.policy(port: upstream.port, allowLoopback: true), resolver: EgressProxyTests.resolver(), limits: limits
        )
        let port = fixture.proxy.port
        let (answer, seconds) = try await blocking {
            let client = try RawClient(port: port, timeout: 20)
            let start = Date()
            // One byte every 300 ms, never finishing the head: each byte would reset an idle timer.
            let head = Array("CONNECT allowed.test:\(upstream.port) HTTP/1.1\r\nHost: allowed.test\r\nX-Slow: ".utf8)
            client.trickle(head, every: 300_000)
            return (ProxyResponse.parse(client.readToEnd()), Date().timeIntervalSince(start))
        }
        #expect(answer.status == 408, "a slow head was held for \(seconds) s")
        #expect(answer.header("x-gatehouse-egress-reason") == "request_head_timeout")
        // Cut by the 1 s head timeout: the trickle alone lasts nearly 20 s (65 bytes, one every 300 ms)
        // and the idle timeout is 30 s. The margin is for a loaded machine (the whole suite on two
        // cores once took 5.5 s here).
        #expect(seconds < 15)
        await fixture.proxy.stop()
        await upstream.stop()
    }

    @Test func oneAddressCannotTakeEverySlot() async throws {
        let upstream = try await Upstream.start(.http)
        var limits = EgressProxyLimits()
        limits.maxConnectionsPerSource = 2
        limits.headTimeout = 30
        let fixture = try await ProxyFixture.start(
            policy: EgressProxyTests.policy(port: upstream.port, allowLoopback: true), resolver: EgressProxyTests.resolver(), limits: limits
        )
        let port = fixture.proxy.port
        let held = try await blocking { [try RawClient(port: port), try RawClient(port: port)] }
        let deadline = Date().addingTimeInterval(10)
        while !fixture.metrics.render().contains("gatehouse_egress_active_connections 2"), Date() < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let third = try await blocking { ProxyResponse.parse(try RawClient(port: port).readToEnd()) }
        _ = held
        #expect(third.status == 503)
        #expect(third.header("x-gatehouse-egress-reason") == "too_many_connections_from_source")
        await fixture.proxy.stop()
        await upstream.stop()
    }
}

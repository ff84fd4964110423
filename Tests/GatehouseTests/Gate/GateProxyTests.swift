import Foundation
import GatehouseDomain
import NIOHTTP1
import Testing

extension GateDeployment {
    /// Signs `user` in over plain HTTP through the proxy, following each redirect by hand as a
    /// browser would; the session cookie (`name=value`).
    func signIn(_ user: String, through proxy: GateProxy) async throws -> String {
        var answer = try await HTTPProbe.request(.GET, proxy.base + "/login/gh", headers: [("Accept", "text/html")])
        var url = answer.location ?? ""
        if url.hasPrefix("/") { url = proxy.base + url }
        guard answer.status == 302, url.contains("/gate/sign-in") else {
            throw MissingProgram(message: "no sign-in redirect: \(answer.status) \(answer.headers)")
        }
        answer = try await HTTPProbe.request(.GET, url)
        guard let authorize = answer.location, let binding = answer.cookies["gatehouse_signin"] else {
            throw MissingProgram(message: "sign-in did not start: \(answer.status) \(answer.body)")
        }
        let callback = try await oidc.authorize(authorize, as: user)
        answer = try await HTTPProbe.request(.GET, callback, headers: [("Cookie", "gatehouse_signin=\(binding)")])
        guard answer.status == 302, let session = answer.cookies["gatehouse_session"] else {
            throw MissingProgram(message: "the callback gave no session: \(answer.status) \(answer.body.prefix(400))")
        }
        return "gatehouse_session=\(session)"
    }
}

/// What a client can try against the proxies themselves.
extension ProcessHeavySuites {
    @Suite("The gate behind real proxies", .serialized)
    struct GateProxyTests {
        @Test(arguments: [GateProxy.Kind.nginx, .haproxy, .caddy])
        func clientsCannotSpeakForTheProxy(_ kind: GateProxy.Kind) async throws {
            let deployment = try await GateDeployment(proxy: kind, gateExtra: "  public_access: false\n")
            let gate = try await deployment.start()
            defer { gate.stop() }
            let upstream = gate.upstream, proxy = gate.proxy

            // Headers that describe another (public) request, or claim to be someone: ignored.
            let spoofed = [
                ("X-Original-URI", "/webhooks/github"), ("X-Original-Method", "GET"), ("X-Forwarded-Uri", "/webhooks/github"),
                ("X-Forwarded-Method", "GET"), ("X-Forwarded-Host", "127.0.0.1:\(deployment.proxyPort)"),
                ("X-Original-URL", "http://x/webhooks/github"),
                ("X-Gatehouse-User", "oidc:root"), ("X-Gatehouse-Role", "admin"),
            ]
            for path in ["/login/gh", "/gh/acme", "/graphql/gh"] {
                let answer = try await HTTPProbe.request(.GET, proxy.base + path, headers: spoofed)
                #expect(answer.status != 200, "\(kind) \(path): let through with spoofed headers")
            }
            // On a public path the request passes, but the upstream hears nobody.
            let publicAnswer = try await HTTPProbe.request(.GET, proxy.base + "/webhooks/github", headers: spoofed)
            #expect(publicAnswer.status == 200)
            #expect(upstream.requests.last?.user == "", "\(kind): the upstream heard \(upstream.requests.last?.user ?? "")")
            // Paths dressed up as public ones.
            for path in ["/webhooks/%2e%2e/login/gh", "/webhooks/..%2Flogin/gh", "/gh/acme/graph/badge.svg/%2e%2e/%2e%2e/%2e%2e/graphql"] {
                let answer = try await HTTPProbe.request(.GET, proxy.base + path)
                #expect(
                    answer.status != 200 || !upstream.requests.contains { $0.path.contains("login") || $0.path.contains("graphql") },
                    "\(kind) \(path)")
            }
            #expect(
                !upstream.requests.contains { $0.path.hasPrefix("/login") || $0.path.hasPrefix("/graphql") },
                "\(kind): \(upstream.requests)")
            // /gate/auth is the proxy's question, not the client's.
            #expect(
                try await HTTPProbe.request(.GET, proxy.base + "/gate/auth", headers: [("X-Original-URI", "/webhooks/x")]).status == 404)

            // A signed-in person passes, and the upstream hears who they are, never who they claim.
            let cookie = try await deployment.signIn("alice", through: proxy)
            let alice = try await HTTPProbe.request(
                .GET, proxy.base + "/gh/acme", headers: [("Cookie", cookie), ("X-Gatehouse-User", "oidc:root")])
            #expect(alice.status == 200, "\(kind): \(alice.status) \(alice.body.prefix(300))")
            #expect(upstream.requests.last?.user == "oidc:alice")
            // The same cookie presented for another host (a neighbouring site on the proxy): nothing.
            // Where to come back to after signing in: encoded tricks are refused at the door.
            for rd in [
                "%2F%2Fevil.com", "https%3A%2F%2Fevil.com%2F", "%2F%5Cevil.com", "%252F%252Fevil.com", "//evil.com", "/%09/evil.com",
            ] {
                let answer = try await HTTPProbe.request(.GET, proxy.base + "/gate/sign-in?rd=" + rd)
                #expect(
                    answer.status == 400 || !(answer.location ?? "").contains("evil"),
                    "\(kind) rd=\(rd): \(answer.status) \(answer.location ?? "")")
                #expect(!(answer.location ?? "").hasPrefix("//") && !(answer.location ?? "").contains("evil.com"))
            }

            let seen = upstream.requests.count
            _ = try await HTTPProbe.request(.GET, proxy.base + "/gh/acme", headers: [("Cookie", cookie), ("Host", "evil.acme.internal")])
            #expect(!upstream.requests.dropFirst(seen).contains { $0.user == "oidc:alice" }, "\(kind): the cookie worked for another host")

            // Signed out (the form's token comes from the sign-out page): the cookie, replayed, is nothing.
            let page = try await HTTPProbe.request(.GET, proxy.base + "/gate/sign-out", headers: [("Cookie", cookie)])
            let csrf = try #require(page.body.firstMatch(of: /name="csrf" value="([^"]+)"/)?.1)
            let forged = try await HTTPProbe.post(proxy.base + "/gate/sign-out", form: [("csrf", "x")], headers: [("Cookie", cookie)])
            #expect(forged.status == 403)
            let crossSite = try await HTTPProbe.post(
                proxy.base + "/gate/sign-out", form: [("csrf", String(csrf))],
                headers: [("Cookie", cookie), ("Sec-Fetch-Site", "cross-site")])
            #expect(crossSite.status == 403)
            let signOut = try await HTTPProbe.post(
                proxy.base + "/gate/sign-out", form: [("csrf", String(csrf))], headers: [("Cookie", cookie)])
            #expect(signOut.status == 200)
            let replayed = try await HTTPProbe.request(.GET, proxy.base + "/gh/acme", headers: [("Cookie", cookie)])
            #expect(replayed.status != 200, "\(kind): a signed-out session was replayed")
        }

        @Test func onlyTrustedPeersMayAsk() async throws {
            let deployment = try await GateDeployment(gateExtra: "  trusted_proxies: [10.1.2.3/32]\n")
            let replica = try await deployment.replica()
            defer { replica.kill() }
            // Straight to the replica from loopback, which is not a trusted proxy here.
            let answer = try await HTTPProbe.request(
                .GET, replica.base + "/gate/auth", headers: [("X-Original-URI", "/webhooks/x"), ("X-Forwarded-For", "10.1.2.3")])
            #expect(answer.status == 403)
            #expect(answer.header("X-Gatehouse-Reason") == "untrusted_proxy")
        }

        @Test(arguments: Engine.allCases)
        func twoReplicasBehindNginx(engine: Engine) async throws {
            let database = engine == .postgres ? try PostgresCluster.shared.get().createDatabase() : nil
            let deployment = try await GateDeployment(database: database)
            try await deployment.addPeople()
            let admin = try deployment.cli.token("ops", scope: "admin")
            let a = try await deployment.replica(), b = try await deployment.replica()
            defer {
                a.kill()
                b.kill()
            }
            let upstream = try await EchoUpstream.start()
            let proxy = try await GateProxy(
                .nginx, in: deployment.cli.dir, port: deployment.proxyPort, replicas: [a, b], upstream: upstream.port)
            defer { proxy.process.stop() }

            // A session made on one replica is valid on the other (within a second).
            let cookie = try await deployment.signIn("alice", through: proxy)
            func ask(_ replica: Replica) async throws -> Int {
                try await HTTPProbe.request(
                    .GET, replica.base + "/gate/auth", headers: [("X-Original-URI", "/login/gh"), ("Cookie", cookie)]
                )
                .status
            }
            let both = try await eventually(2) {
                let onA = try await ask(a)
                let onB = try await ask(b)
                return onA == 200 && onB == 200
            }
            #expect(both, "a session is not valid on both replicas")
            for _ in 0..<6 {
                #expect(try await HTTPProbe.request(.GET, proxy.base + "/login/gh", headers: [("Cookie", cookie)]).status == 200)
            }

            // Revoked through replica A's API: replica B refuses within a second.
            let sessions = try await HTTPProbe.request(.GET, a.base + "/v1/sessions", headers: [("Authorization", "Bearer \(admin)")])
            let id = try JSONValue.parse(sessions.body)["sessions"].flatMap {
                if case .array(let list) = $0 { list.first?["id"]?.string } else { nil }
            }
            let revoke = try await HTTPProbe.request(
                .POST, a.base + "/v1/sessions/\(id ?? "")/revoke", headers: [("Authorization", "Bearer \(admin)")])
            #expect(revoke.status == 200, "\(revoke.body)")
            let revokedAt = Date()
            let refused = try await eventually(1) { try await ask(b) == 401 }
            #expect(refused, "replica B still accepts a revoked session")
            #expect(Date().timeIntervalSince(revokedAt) < 1.0)
            #expect(try await ask(a) == 401)

            // One replica killed mid-session: signed-in people keep working through the other.
            let again = try await deployment.signIn("alice", through: proxy)
            a.kill()
            for i in 0..<8 {
                let answer = try await HTTPProbe.request(.GET, proxy.base + "/gh/acme", headers: [("Cookie", again)])
                #expect(answer.status == 200, "request \(i) after replica A died: \(answer.status)")
            }
            // And with both gone, nobody is let in: a page says so.
            b.kill()
            let down = try await HTTPProbe.request(.GET, proxy.base + "/gh/acme", headers: [("Cookie", again), ("Accept", "text/html")])
            #expect(down.status == 503)
            #expect(down.body.contains("sign-in is unavailable"))
        }
    }
}

import Foundation
import GatehouseDomain
import Testing

/// The whole browser flow for real: headless Chromium through a real reverse proxy (nginx
/// `auth_request`, HAProxy with the shipped Lua action, Caddy `forward_auth`, each configured
/// from deploy/) to a stand-in upstream, signing in at a real OpenID Connect provider.
extension ProcessHeavySuites {
    @Suite("The gate in a browser", .serialized)
    struct GateBrowserTests {
        @Test(arguments: [GateProxy.Kind.nginx, .haproxy, .caddy])
        func signInRefuseBlockSignOut(_ kind: GateProxy.Kind) async throws {
            let deployment = try await GateDeployment(proxy: kind, gateExtra: "  public_access: false\n")
            let gate = try await deployment.start()
            defer { gate.stop() }
            let upstream = gate.upstream

            // Alice lands on a Codecov page, signs in at the provider, and is back on that page;
            // the upstream was told who she is.
            let browser = try await Browser(in: deployment.cli.dir)
            #expect(
                try await browser.signIn(at: deployment.publicURL + "/gh/acme/api/pulls?state=open", as: "alice", provider: deployment.oidc)
            )
            let landed = try await browser.waitForText("user=[oidc:alice]")
            let page1 = (try? await browser.text) ?? ""
            #expect(landed, "\(kind): \(page1)")
            let url = try await browser.url
            #expect(url == deployment.publicURL + "/gh/acme/api/pulls?state=open")
            #expect(try await browser.text.contains("email=[alice@acme.com]"))

            // Mallory is not in the allowed group: a page says who she is, why, and whom to ask.
            let other = try await Browser(in: deployment.cli.dir)
            #expect(try await other.signIn(at: deployment.publicURL + "/gh/acme/api", as: "mallory", provider: deployment.oidc))
            let refused = try await other.waitForText("You cannot use Codecov here")
            let page2 = (try? await other.text) ?? ""
            #expect(refused, "\(kind): \(page2)")
            let refusal = try await other.text
            #expect(refusal.contains("oidc:mallory"))
            #expect(refusal.contains("not_in_allowed_group"))
            #expect(refusal.contains("#codecov-help on Slack"))
            #expect(!upstream.requests.contains { $0.user == "oidc:mallory" })
            await other.quit()

            // Blocked mid-session: within a second her next request no longer reaches Codecov,
            // and signing in again ends on the refusal page.
            let before = upstream.requests.count
            try deployment.cli("users", "block", "oidc:alice").expectSuccess()
            try await Task.sleep(for: .seconds(1))
            try await browser.go(deployment.publicURL + "/gh/acme/api")
            let sentToSignIn = try await eventually { try await browser.url.hasPrefix(deployment.oidc.issuer) }
            let page3 = (try? await browser.text) ?? ""
            #expect(sentToSignIn, "\(kind): still let in: \(page3)")
            #expect(upstream.requests.count == before, "\(kind): the upstream saw \(upstream.requests.suffix(2))")
            try await browser.type("input[name=sub]", "alice")
            try await browser.click("form button[type=submit]")
            let blocked = try await browser.waitForText("user_blocked")
            let page4 = (try? await browser.text) ?? ""
            #expect(blocked, "\(kind): \(page4)")

            // Unblocked, signed in again, then signed out: the session is over.
            try deployment.cli("users", "unblock", "oidc:alice").expectSuccess()
            #expect(try await browser.signIn(at: deployment.publicURL + "/gh/acme", as: "alice", provider: deployment.oidc))
            let again = try await browser.waitForText("user=[oidc:alice]")
            let page5 = (try? await browser.text) ?? ""
            #expect(again, "\(kind): \(page5)")
            try await browser.go(deployment.publicURL + "/gate/sign-out")
            try await browser.click("form button[type=submit]")
            let signedOut = try await browser.waitForText("You have signed out")
            let page6 = (try? await browser.text) ?? ""
            #expect(signedOut, "\(kind): \(page6)")
            try await browser.go(deployment.publicURL + "/gh/acme")
            #expect(try await eventually { try await browser.url.hasPrefix(deployment.oidc.issuer) }, "\(kind): signed out, yet let in")
            await browser.quit()

            let actions = try deployment.cli.auditEntries("--action", "session").map { $0["action"]?.string ?? "" }
            #expect(actions.filter { $0 == "session.start" }.count == 2)
            #expect(actions.filter { $0 == "session.end" }.count == 2)
        }
    }
}

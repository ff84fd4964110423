import Crypto
import Foundation
import GatehouseDomain
import GatehouseService
import GatehouseStorage
import NIOHTTP1
import Testing

extension GateFixture {
    /// Starts a sign-in with `provider`, lets the provider's authorize step answer (as the
    /// browser would follow it), and returns what the callback gets: code, state, and the
    /// browser's binding cookie.
    func startSignIn(_ provider: String, rd: String = "/gh/acme") async throws -> (code: String, state: String, cookie: String) {
        guard case .redirect(let url, let setCookie) = try await gatehouse.beginSignIn(rd: rd, with: provider) else {
            throw MissingProgram(message: "no redirect to \(provider)")
        }
        let back = try await HTTPProbe.request(.GET, url)
        guard back.status == 302, let location = back.location, let query = URLComponents(string: location)?.queryItems,
            let code = query.first(where: { $0.name == "code" })?.value, let state = query.first(where: { $0.name == "state" })?.value
        else { throw MissingProgram(message: "\(provider) did not send the browser back: \(back.status) \(back.body)") }
        #expect(location.hasPrefix("https://codecov.acme.internal/gate/callback/\(provider)?"))
        return (code, state, String(setCookie.prefix { $0 != ";" }))
    }

    func finish(_ provider: String, _ started: (code: String, state: String, cookie: String)) async throws -> SignInOutcome {
        try await gatehouse.completeSignIn(
            provider: provider, code: started.code, state: started.state, error: nil, cookieHeader: started.cookie, userAgent: "test",
            address: "127.0.0.1")
    }
}

func gatehouseErrorCode(_ body: () async throws -> Any) async -> String? {
    do {
        _ = try await body()
        return nil
    } catch {
        return GatehouseError.from(error)?.code ?? "\(error)"
    }
}

@Suite("Sign-in through the gate")
struct SignInTests {
    @Test func gitHubOrgsAndTeamsComeFromTheAPIEveryPage() async throws {
        let github = try await GitHubStandIn()
        // Alice: 150 orgs, acme on the second page; team acme/backend. Bob: other orgs only.
        github.accounts.withLock {
            $0["alice"] = .init(
                login: "Alice", id: 101, email: nil, orgs: (0..<149).map { "org\($0)" } + ["acme"], teams: [("acme", "backend")])
            $0["bob"] = .init(login: "bob", id: 102, email: "bob@acme.com", orgs: ["other"], teams: [])
        }
        let f = try await GateFixture(signIn: [github.settings()])
        try await applyLogin(f, "login:\n  github_enterprise: {allowed_orgs: [acme], allowed_teams: [acme/backend]}\n")
        github.desk.nextUser.withLock { $0 = "alice" }
        let outcome = try await f.finish("github", try await f.startSignIn("github"))
        guard case .signedIn(let redirect, let cookie, let session) = outcome else { Issue.record("alice refused: \(outcome)"); return }
        #expect(redirect == "https://codecov.acme.internal/gh/acme")
        #expect(cookie.hasPrefix("__Host-gatehouse_session="))
        #expect(cookie.contains("; Secure"))
        #expect(session.identity.description == "github_enterprise:Alice")
        #expect(
            github.apiCalls.withLock { $0 }.contains { $0.contains("/user/orgs") && $0.contains("page=2") },
            "the second page of orgs was not read")
        // Verified memberships are recorded with source signin; the e-mail came from /user/emails.
        let report = try await f.gatehouse.user("github_enterprise:alice")
        #expect(report.memberships.contains { $0.name == "acme" && $0.source == .signin })
        #expect(report.memberships.contains { $0.name == "acme/backend" && $0.kind == .team && $0.source == .signin })
        #expect(report.person.email == "Alice@users.example")
        // Bob is in no allowed org: refused with the reason, whatever a request might claim.
        github.desk.nextUser.withLock { $0 = "bob" }
        let bob = try await f.finish("github", try await f.startSignIn("github"))
        #expect(
            bob == .refused(identity: IdentityRef(provider: .githubEnterprise, username: "bob"), personID: nil, reason: .notInAllowedOrg))
        #expect(try await f.gatehouse.store.sessions(personID: nil).count == 1)
    }

    @Test func aRevokedGitHubTokenSignsNobodyIn() async throws {
        let github = try await GitHubStandIn()
        github.accounts.withLock { $0["carol"] = .init(login: "carol", id: 103, email: nil, orgs: ["acme"], teams: []) }
        let f = try await GateFixture(signIn: [github.settings()])
        github.desk.nextUser.withLock { $0 = "carol" }
        // Carol revoked the app's access: the code still exchanges, but GitHub answers 401 "Bad
        // credentials" to every API read with the token.
        _ = github.revoked.withLock { $0.insert("carol") }
        let code = await gatehouseErrorCode { try await f.finish("github", try await f.startSignIn("github")) }
        #expect(code == "token_refused")
        #expect(try await f.gatehouse.store.sessions(personID: nil).isEmpty)
        #expect(try await f.gatehouse.users(seat: nil, inactiveDays: nil).isEmpty)
    }

    @Test func gitLabGroupsArePagedWithXNextPage() async throws {
        let gitlab = try await GitLabStandIn()
        gitlab.groups.withLock { $0["dana"] = (7, (0..<130).map { "group\($0)" } + ["acme/platform"]) }
        let f = try await GateFixture(signIn: [gitlab.settings()])
        try await applyLogin(f, "login:\n  gitlab_enterprise: {allowed_groups: [acme/platform]}\n")
        gitlab.desk.nextUser.withLock { $0 = "dana" }
        guard case .signedIn(_, _, let session) = try await f.finish("gitlab", try await f.startSignIn("gitlab")) else {
            Issue.record("dana refused")
            return
        }
        #expect(session.identity.description == "gitlab_enterprise:dana")
    }

    @Test func stateCodeAndBrowserMustMatch() async throws {
        let github = try await GitHubStandIn()
        github.accounts.withLock { $0["alice"] = .init(login: "alice", id: 101, email: nil, orgs: ["acme"], teams: []) }
        let f = try await GateFixture(signIn: [github.settings(), github.settings(name: "other")])
        github.desk.nextUser.withLock { $0 = "alice" }
        // A state never issued.
        let real = try await f.startSignIn("github")
        #expect(await gatehouseErrorCode { try await f.finish("github", (real.code, "made-up-state", real.cookie)) } == "signin_expired")
        // Another browser's binding cookie (login CSRF), or none: refused, and the state is spent.
        let other = try await f.startSignIn("github")
        let mine = try await f.startSignIn("github")
        #expect(await gatehouseErrorCode { try await f.finish("github", (mine.code, mine.state, other.cookie)) } == "signin_mismatch")
        #expect(await gatehouseErrorCode { try await f.finish("github", mine) } == "signin_expired")
        let noCookie = try await f.startSignIn("github")
        #expect(await gatehouseErrorCode { try await f.finish("github", (noCookie.code, noCookie.state, "")) } == "signin_mismatch")
        // A callback to another provider than the one started.
        let crossed = try await f.startSignIn("github")
        #expect(await gatehouseErrorCode { try await f.finish("other", crossed) } == "signin_mismatch")
        // The real one works once; replayed (same state and code), it finds nothing.
        guard case .signedIn = try await f.finish("github", real) else { Issue.record("the real sign-in failed"); return }
        #expect(await gatehouseErrorCode { try await f.finish("github", real) } == "signin_expired")
        // A code replayed under a fresh state is refused by the provider (used once).
        let fresh = try await f.startSignIn("github")
        #expect(await gatehouseErrorCode { try await f.finish("github", (real.code, fresh.state, fresh.cookie)) } == "code_refused")
        // Ten minutes later a started sign-in is over.
        let late = try await f.startSignIn("github")
        f.clock.set(f.clock.now.addingTimeInterval(601))
        #expect(await gatehouseErrorCode { try await f.finish("github", late) } == "signin_expired")
        // The provider said no.
        #expect(
            await gatehouseErrorCode {
                try await f.gatehouse.completeSignIn(
                    provider: "github", code: nil, state: "s", error: "access_denied", cookieHeader: "", userAgent: "", address: "")
            } == "signin_cancelled")
        #expect(try await f.gatehouse.store.sessions(personID: nil).count == 1)
    }

    @Test func openRedirectsAreRefusedBeforeAnythingStarts() async throws {
        let github = try await GitHubStandIn()
        let f = try await GateFixture(signIn: [github.settings()])
        for rd in ["//evil.com", "https://evil.com/", "/\\evil.com", "https://codecov.acme.internal@evil.com/", "javascript:alert(1)"] {
            #expect(await gatehouseErrorCode { try await f.gatehouse.beginSignIn(rd: rd, with: "github") } == "invalid_redirect", "\(rd)")
        }
        #expect(await gatehouseErrorCode { try await f.gatehouse.beginSignIn(rd: "/x", with: "nope") } == "unknown_signin_provider")
    }

    @Test func hostileIDTokensSignNobodyIn() async throws {
        let oidc = try await HostileOIDC()
        let f = try await GateFixture(signIn: [oidc.settings()])
        oidc.desk.nextUser.withLock { $0 = "eve" }
        let stranger = P256.Signing.PrivateKey()
        let attacks: [(String, @Sendable (HostileOIDC, AuthorizationDesk.Grant) -> String)] = [
            ("another key", { o, g in o.sign(o.claims(for: g), key: stranger) }),
            (
                "alg none",
                { o, g in
                    let head = Base64.urlEncode(Array(#"{"alg":"none","typ":"JWT"}"#.utf8))
                    return head + "." + Base64.urlEncode(Array(JSONValue.object(o.claims(for: g)).canonicalText.utf8)) + "."
                }
            ),
            (
                "HS256 over the public key",
                { o, g in
                    let head = Base64.urlEncode(Array(#"{"alg":"HS256","kid":"k1","typ":"JWT"}"#.utf8))
                    let body = Base64.urlEncode(Array(JSONValue.object(o.claims(for: g)).canonicalText.utf8))
                    let secret = SymmetricKey(data: o.published.withLock { $0["k1"]! }.publicKey.x963Representation)
                    let mac = HMAC<SHA256>.authenticationCode(for: Array((head + "." + body).utf8), using: secret)
                    return head + "." + body + "." + Base64.urlEncode(mac)
                }
            ),
            (
                "wrong audience",
                { o, g in
                    var c = o.claims(for: g); c["aud"] = "someone-else"; return o.sign(c)
                }
            ),
            (
                "wrong issuer",
                { o, g in
                    var c = o.claims(for: g); c["iss"] = "https://evil.example"; return o.sign(c)
                }
            ),
            ("expired", { o, g in o.sign(o.claims(for: g, now: Date().addingTimeInterval(-3600))) }),
            (
                "issued in the future",
                { o, g in
                    var c = o.claims(for: g); c["iat"] = .int(Int64(Date().timeIntervalSince1970) + 3600); return o.sign(c)
                }
            ),
            (
                "another sign-in's nonce",
                { o, g in
                    var c = o.claims(for: g); c["nonce"] = "replayed-nonce"; return o.sign(c)
                }
            ),
            (
                "no nonce",
                { o, g in
                    var c = o.claims(for: g); c["nonce"] = nil; return o.sign(c)
                }
            ),
            (
                "another party's token",
                { o, g in
                    var c = o.claims(for: g); c["aud"] = ["gatehouse", "other"]; c["azp"] = "other"; return o.sign(c)
                }
            ),
            (
                "tampered claims",
                { o, g in
                    let honest = o.sign(o.claims(for: g)).split(separator: ".")
                    var c = o.claims(for: g)
                    c["preferred_username"] = "root"
                    return honest[0] + "." + Base64.urlEncode(Array(JSONValue.object(c).canonicalText.utf8)) + "." + honest[2]
                }
            ),
        ]
        for (name, attack) in attacks {
            oidc.mint.withLock { $0 = attack }
            let code = await gatehouseErrorCode { try await f.finish("hostile", try await f.startSignIn("hostile")) }
            #expect(code == "invalid_id_token", "\(name): \(code ?? "signed in")")
        }
        #expect(try await f.gatehouse.store.sessions(personID: nil).isEmpty)
        #expect(try await f.gatehouse.users(seat: nil, inactiveDays: nil).isEmpty, "an attack created a person")

        // The honest token works; then the provider rotates its key: a token under the new key
        // id makes Gatehouse fetch the keys again, and it works too.
        oidc.mint.withLock { $0 = { o, g in o.token(for: g) } }
        guard case .signedIn(_, _, let first) = try await f.finish("hostile", try await f.startSignIn("hostile")) else {
            Issue.record("the honest token was refused")
            return
        }
        #expect(first.identity.description == "oidc:eve")
        let fetches = oidc.jwksFetches.withLock { $0 }
        try await Task.sleep(for: .seconds(10.5))
        oidc.published.withLock { $0 = ["k2": P256.Signing.PrivateKey()] }
        oidc.mint.withLock { $0 = { o, g in o.sign(o.claims(for: g), kid: "k2") } }
        guard case .signedIn = try await f.finish("hostile", try await f.startSignIn("hostile")) else {
            Issue.record("a token under the rotated key was refused")
            return
        }
        #expect(oidc.jwksFetches.withLock { $0 } == fetches + 1)
    }

    func applyLogin(_ f: GateFixture, _ login: String) async throws {
        let path = try f.dir.write("policies/login.yml", login, directory: true)
        _ = try await f.gatehouse.applyPolicies(directory: (path as NSString).deletingLastPathComponent, actor: "test")
    }
}

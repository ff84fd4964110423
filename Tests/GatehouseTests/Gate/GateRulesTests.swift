import Foundation
import GatehouseDomain
import GatehouseHTTP
import NIOCore
import Testing

/// The gate's pure rules: how a path is read and classed, where a sign-in may send someone
/// back, which headers describe the original request, and what the gate answers.
struct GateRulesTests {
    @Test(arguments: [
        ("/gh/acme/api", "/gh/acme/api", true),
        ("/gh/acme/api?x=/../y", "/gh/acme/api", true),
        ("/gh/acme/branch/feat%20x/graph/badge.svg", "/gh/acme/branch/feat x/graph/badge.svg", true),
        ("/webhooks/%2e%2e/api/internal", "/webhooks/../api/internal", false),
        ("/webhooks/../api", "/webhooks/../api", false),
        ("/webhooks/./x", "/webhooks/./x", false),
        ("//webhooks/x", "//webhooks/x", false),
        ("/webhooks%2f..%2fapi", "/webhooks/../api", false),
        ("/webhooks/x%5c..", "/webhooks/x\\..", false),
        ("/webhooks/\\../api", "/webhooks/\\../api", false),
        ("/webhooks/%00", "/webhooks/\u{0}", false),
        ("/webhooks/%zz", "/webhooks/%zz", false),
        ("http://evil/webhooks/x", "/webhooks/x", true),
        ("webhooks/x", "webhooks/x", false),
        ("/api/", "/api/", true),
    ])
    func pathsAreReadAsTheUpstreamReadsThem(_ raw: String, _ decoded: String, _ canonical: Bool) {
        let path = GatePath(requestTarget: raw)
        #expect(path.decoded == decoded, "\(raw)")
        #expect(path.canonical == canonical, "\(raw)")
    }

    @Test func patterns() {
        let webhooks = PathPattern("/webhooks/**")!
        #expect(webhooks.matches("/webhooks/github"))
        #expect(webhooks.matches("/webhooks/"))
        #expect(webhooks.matches("/webhooks/a/b/c"))
        #expect(!webhooks.matches("/webhooks"))
        #expect(!webhooks.matches("/webhooksx/a"))
        let badge = PathPattern("/*/*/*/graph/badge.svg")!
        #expect(badge.matches("/gh/acme/api/graph/badge.svg"))
        #expect(!badge.matches("/gh/acme/api/x/graph/badge.svg"))
        #expect(!badge.matches("/gh/acme/graph/badge.svg"))
        #expect(PathPattern("/**/graph/badge.svg")!.matches("/gh/acme/api/branch/feat/x/graph/badge.svg"))
        #expect(PathPattern("no-slash") == nil)
        #expect(PathPattern("/a/***") == nil)
    }

    @Test(arguments: [
        ("/gate/sign-in", RouteClass.public),
        ("/gate/callback/okta?code=x", .public),
        ("/webhooks/github", .public),
        ("/gh/acme/api/graph/badge.svg?token=x", .public),
        ("/gh/acme/api/branch/main/graphs/sunburst.svg", .public),
        ("/static/js/main.js", .public),
        ("/upload/v4", .upload),
        ("/upload/test_results/v1", .upload),
        ("/login/gh", .signin),
        ("/login", .signin),
        ("/logout/gh", .app),
        ("/gh/acme/api", .app),
        ("/graphql/gh", .app),
        ("/api/v2/github/acme/repos", .app),
        ("/webhooks/%2e%2e/graphql", .signin),
        ("/upload/../api/internal", .signin),
        ("/gh/x/graph/badge.svg/../../../../api", .signin),
    ])
    func theShippedRoutesMirrorCodecovsGateway(_ path: String, _ expected: RouteClass) {
        #expect(GatePolicy.shipped.classify(GatePath(requestTarget: path)) == expected, "\(path)")
    }

    static let origin = PublicOrigin("https://codecov.acme.internal")!

    @Test(arguments: [
        ("", "https://codecov.acme.internal/"),
        ("/gh/acme?tab=pulls", "https://codecov.acme.internal/gh/acme?tab=pulls"),
        ("/@evil.com", "https://codecov.acme.internal/@evil.com"),
        ("https://codecov.acme.internal/gh/acme", "https://codecov.acme.internal/gh/acme"),
        ("https://CODECOV.acme.internal:443/x", "https://codecov.acme.internal/x"),
        ("https://codecov.acme.internal", "https://codecov.acme.internal/"),
        ("https://codecov.acme.internal?x", "https://codecov.acme.internal/?x"),
    ])
    func redirectsStayOnThePublicOrigin(_ rd: String, _ expected: String) {
        #expect(Self.origin.redirectTarget(rd) == expected, "\(rd)")
    }

    @Test(arguments: [
        "//evil.com", "//evil.com/x", "/\\evil.com", "\\\\evil.com", "https://evil.com/", "http://codecov.acme.internal/",
        "https://codecov.acme.internal@evil.com/", "https://codecov.acme.internal.evil.com/", "https://codecov.acme.internal:8443/",
        "javascript:alert(1)", "%2F%2Fevil.com", " /x", "/x\ty", "/x\ny", "https:evil.com", "https:/evil.com",
        "HTTPS://evil.com", "data:text/html,x", "/\u{0}x", "https://codecov.acme.internal\\@evil.com",
    ])
    func openRedirectsAreRefused(_ rd: String) {
        #expect(Self.origin.redirectTarget(rd) == nil, "\(rd) → \(Self.origin.redirectTarget(rd) ?? "nil")")
    }

    @Test func encodedLineBreaksStayText() {
        // Percent-encoded text is a path of the origin, never a header break.
        #expect(Self.origin.redirectTarget("/%0d%0aSet-Cookie:x") == "https://codecov.acme.internal/%0d%0aSet-Cookie:x")
    }

    @Test func originsAreParsedStrictly() {
        #expect(PublicOrigin("https://codecov.acme.internal/")?.description == "https://codecov.acme.internal")
        #expect(PublicOrigin("http://127.0.0.1:8080")?.hostAndPort == "127.0.0.1:8080")
        #expect(PublicOrigin("https://codecov.acme.internal/path") == nil)
        #expect(PublicOrigin("https://user@codecov.acme.internal") == nil)
        #expect(PublicOrigin("ftp://codecov") == nil)
        #expect(Self.origin.matches(host: "codecov.acme.internal:443"))
        #expect(Self.origin.matches(host: "CODECOV.ACME.INTERNAL"))
        #expect(!Self.origin.matches(host: "codecov.acme.internal:8443"))
        #expect(!Self.origin.matches(host: "evil.com"))
    }

    func headers(_ fields: [String: [String]]) -> (String) -> [String] {
        { name in fields.first { $0.key.lowercased() == name.lowercased() }?.value ?? [] }
    }

    @Test func onlyTheConfiguredProxysHeadersAreRead() throws {
        // A client added X-Forwarded-Uri naming a public path; nginx set X-Original-URI.
        let sent = headers(["X-Original-URI": ["/gh/acme/api"], "X-Forwarded-Uri": ["/webhooks/x"], "X-Forwarded-Method": ["GET"]])
        let nginx = try ForwardedRequest.read(kind: .nginx, header: sent, path: "/gate/auth", method: "GET").get()
        #expect(nginx.uri == "/gh/acme/api")
        // The same request under Caddy's reading (Caddy would have overwritten the client's value).
        let caddy = try ForwardedRequest.read(kind: .caddy, header: sent, path: "/gate/auth", method: "GET").get()
        #expect(caddy.uri == "/webhooks/x")
        // nginx's header missing: refused, not guessed from the others.
        #expect(throws: ForwardedRequestProblem.self) {
            try ForwardedRequest.read(
                kind: .nginx, header: self.headers(["X-Forwarded-Uri": ["/webhooks/x"]]), path: "/gate/auth", method: "GET"
            ).get()
        }
        // Two values of the trusted header: ambiguous, refused.
        #expect(throws: ForwardedRequestProblem.self) {
            try ForwardedRequest.read(
                kind: .nginx, header: self.headers(["X-Original-URI": ["/webhooks/x", "/api"]]), path: "/gate/auth", method: "GET"
            ).get()
        }
        let envoy = try ForwardedRequest.read(
            kind: .envoy, header: headers(["Host": ["codecov.acme.internal"]]), path: "/gate/auth/gh/acme?x=1", method: "POST"
        ).get()
        #expect(envoy == ForwardedRequest(method: "POST", uri: "/gh/acme?x=1", host: "codecov.acme.internal", proto: nil))
        let withURL = try ForwardedRequest.read(
            kind: .nginx, header: headers(["X-Original-URI": ["/x"], "X-Original-URL": ["https://codecov.acme.internal/x"]]),
            path: "/gate/auth", method: "GET"
        ).get()
        #expect(withURL.host == "codecov.acme.internal")
        #expect(withURL.proto == "https")
    }

    @Test func cookies() {
        #expect(GateCookies.value(of: "gatehouse_session", in: "a=1; gatehouse_session=abc; b=2") == "abc")
        // A second cookie of the same name (planted by a neighbouring site): refused, not guessed.
        #expect(GateCookies.value(of: "gatehouse_session", in: "gatehouse_session=abc; gatehouse_session=def") == nil)
        #expect(GateCookies.value(of: "gatehouse_session", in: "xgatehouse_session=abc") == nil)
        let secure = GateCookies(secure: true)
        #expect(secure.session == "__Host-gatehouse_session")
        #expect(
            secure.setCookie(secure.session, "v", maxAge: 60)
                == "__Host-gatehouse_session=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure")
        #expect(GateCookies(secure: false).setCookie("gatehouse_session", "v", maxAge: 60).hasSuffix("SameSite=Lax"))
    }

    @Test func pkceAsRFC7636AppendixB() {
        #expect(SignInSecrets.codeChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
        let verifier = SignInSecrets.codeVerifier(binding: "b", state: "s")
        #expect(verifier.count == 43)
        #expect(verifier != SignInSecrets.codeVerifier(binding: "b", state: "t"))
        #expect(verifier != SignInSecrets.nonce(binding: "b", state: "s"))
        var rng = SystemRandomNumberGenerator()
        let id = SignInSecrets.sessionID(using: &rng)
        #expect(SignInSecrets.isSessionID(id))
        #expect(!SignInSecrets.isSessionID("s_../../etc"))
    }

    @Test func gateAnswers() {
        func decide(
            _ c: RouteClass, _ session: (String, Verdict)? = nil, license: LicenseState = .valid, open: Bool = true, codecov: Bool = false
        ) -> GateAnswer {
            GateDecider.decide(
                routeClass: c, session: session.map { ($0.0, $0.1) }, licenseState: license, publicAccess: open,
                carriesCodecovSession: codecov)
        }
        #expect(decide(.public, license: .expired) == .pass(personID: nil))
        #expect(decide(.upload) == .pass(personID: nil))
        #expect(decide(.upload, license: .expired) == .refuse(.licenseExpired))
        #expect(decide(.signin) == .signIn)
        #expect(decide(.app) == .pass(personID: nil))
        #expect(decide(.app, codecov: true) == .signIn)
        #expect(decide(.app, open: false) == .signIn)
        #expect(decide(.app, license: .missing) == .refuse(.licenseMissing))
        #expect(decide(.app, ("p_1", .allow(.ok))) == .pass(personID: "p_1"))
        #expect(decide(.signin, ("p_1", .deny(.userBlocked))) == .refuse(.userBlocked))
        #expect(decide(.app, ("p_1", .activateSeat(elseDeny: .noSeatAvailable))) == .signIn)
    }
}

@Suite("The gate's peer addresses")
struct PeerAddressTests {
    @Test func socketAddressesBecomeDomainAddresses() throws {
        #expect(try SocketAddress(ipAddress: "127.0.0.1", port: 1).ipAddressValue == IPAddress.parse("127.0.0.1"))
        #expect(try SocketAddress(ipAddress: "10.1.2.3", port: 80).ipAddressValue == IPAddress.parse("10.1.2.3"))
        #expect(try SocketAddress(ipAddress: "::1", port: 1).ipAddressValue == IPAddress.parse("::1"))
        #expect(try SocketAddress(ipAddress: "2001:db8::ff00:42:8329", port: 1).ipAddressValue == IPAddress.parse("2001:db8::ff00:42:8329"))
    }
}

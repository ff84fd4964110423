import Foundation
import GatehouseDomain
import GatehouseHTTP
import GatehouseService
import GatehouseStorage
import Logging
import NIOHTTP1
import Testing

/// A gate over a fresh database with a license in force, and helpers to ask it questions as
/// nginx would.
struct GateFixture {
    let dir: TempDir
    let clock: TestClock
    let gatehouse: Gatehouse
    let gate: GateConfiguration
    let database: String
    let vendor = TestVendor()
    static let proxy = IPAddress.parse("127.0.0.1")

    init(
        engine: Engine = .sqlite, publicAccess: Bool = true, idle: TimeInterval = 7200, signIn: [SignInSettingsForTests] = [],
        console: ConsoleSettings = ConsoleSettings(), licensee: String = "Acme Corp"
    ) async throws {
        dir = try TempDir()
        clock = TestClock(Date())
        // The gate as gatehouse.yml says it, secrets in files.
        var yaml =
            "gate:\n  public_url: https://codecov.acme.internal\n  public_access: \(publicAccess)\n  session: {idle_timeout: \(Int(idle))s}\n"
        if !signIn.isEmpty { yaml += "  signin:\n" }
        for entry in signIn {
            _ = try dir.write("\(entry.name).secret", entry.secret + "\n")
            yaml += "    - {name: \(entry.name), kind: \(entry.kind), \(entry.lines), client_secret_file: \(entry.name).secret}\n"
        }
        let config = try GatehouseConfiguration.load(path: try dir.write("gatehouse.yml", yaml), environment: [:])
        let gate = try #require(config.gate)
        self.gate = gate
        database = try engine.newDatabase(in: dir)
        gatehouse = Gatehouse(
            store: try DatabaseLocation(database).open(create: true), trustedKeys: vendor.trusted, instanceHost: "codecov.acme.internal",
            gate: gate, console: console,
            now: { [clock] in clock.now })
        _ = try await gatehouse.migrate(actor: "test")
        let now = clock.now
        var terms = TestVendor.terms(
            starts: UTC.format(now.addingTimeInterval(-86_400)), expires: UTC.format(now.addingTimeInterval(364 * 86_400)))
        terms.licensee = licensee
        _ = try await gatehouse.installLicense(text: vendor.signUnchecked(terms), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
    }

    /// A second process on the same database (another replica): a store of its own.
    func replica() throws -> Gatehouse {
        Gatehouse(
            store: try DatabaseLocation(database).open(create: false), trustedKeys: vendor.trusted, instanceHost: "codecov.acme.internal",
            gate: gate,
            now: { [clock] in clock.now })
    }

    /// Signs `user` in as the gate's callback would: the login decision, then a session.
    /// Returns the cookie value.
    func signIn(_ user: String, on gatehouse: Gatehouse? = nil) async throws -> String {
        let g = gatehouse ?? self.gatehouse
        let ref = IdentityRef.parse(user)!
        let decision = try await g.authorizeLogin(LoginRequest(identity: ref, verified: true), actor: "test")
        #expect(decision.allow, "\(user): \(decision.reason)")
        var rng = SystemRandomNumberGenerator()
        let token = SignInSecrets.random(using: &rng)
        let session = GateSession(
            id: SignInSecrets.sessionID(using: &rng), tokenHash: SignInSecrets.hash(token), personID: decision.personID!, identity: ref,
            signIn: "test", createdAt: clock.now, expiresAt: clock.now.addingTimeInterval(gate.session.maxAge), lastSeenAt: clock.now,
            userAgent: "", address: "")
        try await g.store.startSession(session, actor: "test", at: clock.now)
        try await g.refresh()
        return token
    }

    /// Asks the gate about `uri` as nginx would, with `cookie` and any other headers.
    func ask(
        _ uri: String, cookie: String? = nil, from peer: String = "127.0.0.1", headers extra: [String: [String]] = [:],
        on gatehouse: Gatehouse? = nil
    ) async -> GateAuthAnswer {
        var fields = ["X-Original-URI": [uri], "X-Original-Method": ["GET"]]
        if let cookie { fields["Cookie"] = ["\(gate.cookies.session)=\(cookie)"] }
        for (k, v) in extra { fields[k] = v }
        return await (gatehouse ?? self.gatehouse).gateAuth(peer: IPAddress.parse(peer), method: "GET", path: "/gate/auth") { name in
            fields.first { $0.key.lowercased() == name.lowercased() }?.value ?? []
        }
    }
}

@Suite("The gate's forward auth")
struct GateAuthTests {
    @Test func sessionsPassAndOthersSignIn() async throws {
        let f = try await GateFixture()
        let token = try await f.signIn("oidc:alice")
        let pass = await f.ask("/login/gh", cookie: token)
        #expect(pass.status == 200)
        #expect(pass.user == "oidc:alice")
        #expect(pass.role == "user")
        #expect(await f.ask("/login/gh").status == 401)
        #expect(await f.ask("/login/gh").signInURL == "https://codecov.acme.internal/gate/sign-in?rd=/login/gh")
        // Anonymous visitors of app pages pass under public_access, unless Codecov knows them.
        #expect(await f.ask("/gh/acme/api").status == 200)
        #expect(await f.ask("/gh/acme/api").user == nil)
        #expect(await f.ask("/gh/acme/api", headers: ["Cookie": ["sessionid=x"]]).status == 401)
        #expect(await f.ask("/webhooks/github").status == 200)
        #expect(await f.ask("/upload/v4").status == 200)
    }

    @Test func forgedExpiredIdleAndOtherHostSessionsAreRefused() async throws {
        let f = try await GateFixture(idle: 600)
        let token = try await f.signIn("oidc:alice")
        var rng = SystemRandomNumberGenerator()
        // Forged: random secrets, the hash itself, the session id, a truncated secret.
        let session = try await f.gatehouse.store.sessions(personID: nil)[0]
        for forged in [SignInSecrets.random(using: &rng), session.tokenHash, session.id, String(token.dropLast()), token + "A", ""] {
            #expect(await f.ask("/login/gh", cookie: forged).status == 401, "\(forged)")
        }
        // The cookie of another host's gate (a proxy serving several sites), or named as on http.
        #expect(await f.ask("/login/gh", cookie: token, headers: ["X-Original-URL": ["https://evil.acme.internal/login/gh"]]).status == 401)
        #expect(await f.ask("/login/gh", headers: ["Cookie": ["gatehouse_session=\(token)"]]).status == 401)
        // Two session cookies (one planted): neither is guessed at.
        #expect(
            await f.ask("/login/gh", headers: ["Cookie": ["\(f.gate.cookies.session)=\(token); \(f.gate.cookies.session)=x"]]).status == 401
        )
        #expect(
            await f.ask("/login/gh", cookie: token, headers: ["X-Original-URL": ["https://codecov.acme.internal/login/gh"]]).status == 200)
        // Idle for the idle timeout: over, and ended (audited).
        f.clock.set(f.clock.now.addingTimeInterval(601))
        #expect(await f.ask("/login/gh", cookie: token).status == 401)
        #expect(try await f.gatehouse.store.sessions(personID: nil).isEmpty)
        let ended = try await f.gatehouse.store.auditEntries(AuditQuery(action: "session.end"))
        #expect(ended.count == 1)
        #expect(ended.first?.details.contains("\"reason\":\"idle\"") == true)
        // Past its absolute end, however busy.
        let busy = try await f.signIn("oidc:alice")
        for _ in 0..<(Int(f.gate.session.maxAge) / 300) {
            f.clock.set(f.clock.now.addingTimeInterval(300))
            _ = await f.ask("/login/gh", cookie: busy)
        }
        f.clock.set(f.clock.now.addingTimeInterval(300))
        #expect(await f.ask("/login/gh", cookie: busy).status == 401)
    }

    @Test func onlyTrustedProxiesAskAndOnlyTheirHeadersCount() async throws {
        let f = try await GateFixture()
        let token = try await f.signIn("oidc:alice")
        let untrusted = await f.ask("/webhooks/x", from: "10.9.8.7")
        #expect(untrusted.status == 403)
        #expect(untrusted.reason == "untrusted_proxy")
        #expect(await f.ask("/login/gh", cookie: token, from: "::1").status == 200)
        // A client's own X-Forwarded-Uri (public path) beside nginx's X-Original-URI: nginx's counts.
        #expect(await f.ask("/login/gh", headers: ["X-Forwarded-Uri": ["/webhooks/x"], "X-Forwarded-Method": ["GET"]]).status == 401)
        // nginx's header missing (a misconfigured proxy): refused, whatever else is there.
        let missing = await f.gatehouse.gateAuth(peer: GateFixture.proxy, method: "GET", path: "/gate/auth") { name in
            name == "X-Forwarded-Uri" ? ["/webhooks/x"] : name == "X-Forwarded-Method" ? ["GET"] : []
        }
        #expect(missing.status == 403)
        #expect(missing.reason == "proxy_misconfigured")
        // Paths dressed up as public ones need a session.
        for uri in ["/webhooks/%2e%2e/login/gh", "/webhooks/../graphql/gh", "//webhooks/x", "/upload/v4/..%2f..%2fapi"] {
            #expect(await f.ask(uri).status == 401, "\(uri)")
        }
    }

    @Test(arguments: Engine.allCases)
    func blockedDepartedSeatlessAndRevokedSessionsEndEverywhere(engine: Engine) async throws {
        let f = try await GateFixture(engine: engine)
        let other = try f.replica()
        try await other.refresh()
        let alice = try await f.signIn("oidc:alice")
        let bob = try await f.signIn("oidc:bob")
        let carol = try await f.signIn("oidc:carol")
        // A session made by one replica is valid on the other once it catches up.
        try await other.syncIfChanged()
        #expect(await f.ask("/login/gh", cookie: alice, on: other).status == 200)
        // Blocked through replica A: A refuses at once, B after its next sync.
        _ = try await f.gatehouse.setBlocked("oidc:alice", blocked: true, actor: "test")
        #expect(await f.ask("/login/gh", cookie: alice).status == 401)
        try await other.syncIfChanged()
        #expect(await f.ask("/login/gh", cookie: alice, on: other).status == 401)
        // Seat released through B: the session ends (signing in again asks for a seat).
        _ = try await other.deactivateSeat(user: "oidc:bob", actor: "test")
        try await f.gatehouse.syncIfChanged()
        #expect(await f.ask("/login/gh", cookie: bob).status == 401)
        // Revoked by an administrator through A: refused by B after its sync.
        let revoked = try await f.gatehouse.revokeSessions(id: nil, user: "oidc:carol", actor: "token:ops")
        #expect(revoked.count == 1)
        try await other.syncIfChanged()
        #expect(await f.ask("/login/gh", cookie: carol, on: other).status == 401)
        let actors = try await f.gatehouse.store.auditEntries(AuditQuery(action: "session.end")).map { "\($0.actor) \($0.details)" }
        #expect(actors.count == 3)
        #expect(actors.contains { $0.hasPrefix("token:ops") && $0.contains("revoked") })
        #expect(try await f.gatehouse.verifyAudit().ok)
    }

    @Test func aPersonWhoLosesAccessIsRefusedWithTheReason() async throws {
        let f = try await GateFixture()
        let token = try await f.signIn("oidc:mallory")
        try await applyPolicy(f, "login:\n  deny: [\"oidc:mallory\"]\n")
        let answer = await f.ask("/login/gh", cookie: token)
        #expect(answer.status == 403)
        #expect(answer.reason == "denied_by_policy")
        #expect(answer.user == "oidc:mallory")
    }

    func applyPolicy(_ f: GateFixture, _ login: String) async throws {
        let policies = try f.dir.write("policies/login.yml", login, directory: true)
        _ = try await f.gatehouse.applyPolicies(directory: (policies as NSString).deletingLastPathComponent, actor: "test")
    }
}

extension TempDir {
    /// Writes `name` (creating its directory when asked).
    func write(_ name: String, _ text: String, directory: Bool) throws -> String {
        try FileManager.default.createDirectory(
            atPath: (file(name) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        return try write(name, text)
    }
}

@Suite("Verified memberships")
struct VerifiedMembershipTests {
    @Test func whatASignInReadOutranksWhatARequestClaims() async throws {
        let f = try await GateFixture()
        let policy = try f.dir.write("policies/login.yml", "login:\n  github: {allowed_orgs: [acme]}\n", directory: true)
        _ = try await f.gatehouse.applyPolicies(directory: (policy as NSString).deletingLastPathComponent, actor: "test")
        let alice = IdentityRef(provider: .github, username: "alice")
        // The gate's sign-in read alice's orgs from GitHub: acme; later, she has left it.
        let member = try await f.gatehouse.authorizeLogin(
            LoginRequest(identity: alice, externalID: "1", orgs: ["acme"], verified: true), actor: "signin:github")
        #expect(member.allow)
        let left = try await f.gatehouse.authorizeLogin(
            LoginRequest(identity: alice, externalID: "1", orgs: ["other"], verified: true), actor: "signin:github")
        #expect(left.reason == .notInAllowedOrg)
        // A caller now claims she is in acme: the verified read says otherwise.
        let claimed = try await f.gatehouse.authorizeLogin(
            LoginRequest(identity: alice, externalID: "1", orgs: ["acme"]), actor: "token:codecov")
        #expect(!claimed.allow)
        #expect(claimed.reason == .notInAllowedOrg)
        // Someone never signed in through the gate is judged on claims, as before.
        let bob = try await f.gatehouse.authorizeLogin(
            LoginRequest(identity: IdentityRef(provider: .github, username: "bob"), orgs: ["acme"]), actor: "token:codecov")
        #expect(bob.allow)
    }
}

/// The forward-auth listener (`listen.gate_port`): a bare SwiftNIO server in front of the same
/// decision.
@Suite("The gate's forward-auth listener")
struct ForwardAuthListenerTests {
    @Test func answersOnTheEventLoopAndAsksTheDatabaseWhenItMust() async throws {
        let f = try await GateFixture(idle: 600)
        let token = try await f.signIn("oidc:alice")
        var logger = Logger(label: "test")
        logger.logLevel = .error
        let server = try await ForwardAuthServer(
            gatehouse: f.gatehouse, metrics: GatehouseMetrics(), settings: ForwardAuthSettings(host: "127.0.0.1", port: 0), logger: logger
        ).start()
        defer { Task { await server.stop() } }
        let base = "http://127.0.0.1:\(server.port)"
        #expect(try await HTTPProbe.request(.GET, base + "/healthz").status == 200)
        #expect(try await HTTPProbe.request(.GET, base + "/v1/license").status == 404)
        let cookie = ("Cookie", "\(f.gate.cookies.session)=\(token)")
        let pass = try await HTTPProbe.request(.GET, base + "/gate/auth", headers: [("X-Original-URI", "/login/gh"), cookie])
        #expect(pass.status == 200)
        #expect(pass.header("X-Gatehouse-User") == "oidc:alice")
        // Any method, and Envoy's path prefix.
        #expect(try await HTTPProbe.request(.POST, base + "/gate/auth", headers: [("X-Original-URI", "/login/gh"), cookie]).status == 200)
        let signIn = try await HTTPProbe.request(
            .GET, base + "/gate/auth?redirect=1", headers: [("X-Original-URI", "/login/gh"), ("Accept", "text/html")])
        #expect(signIn.status == 302)
        #expect(signIn.location == "https://codecov.acme.internal/gate/sign-in?rd=/login/gh")
        let refused = try await HTTPProbe.request(
            .GET, base + "/gate/auth", headers: [("X-Original-URI", "/login/gh"), ("X-Original-URI", "/x")])
        #expect(refused.status == 403)
        #expect(refused.header("X-Gatehouse-Reason") == "proxy_misconfigured")
        // Idle in memory: the database is asked (off the event loop), the session ended.
        f.clock.set(f.clock.now.addingTimeInterval(601))
        #expect(try await HTTPProbe.request(.GET, base + "/gate/auth", headers: [("X-Original-URI", "/login/gh"), cookie]).status == 401)
        #expect(try await f.gatehouse.store.sessions(personID: nil).isEmpty)
        // A malformed request: 400, and the connection is closed.
        let bad = try await rawExchange(port: server.port, "GET /gate/auth HTTP/1.1\r\nHost x\r\n\r\n")
        #expect(bad.hasPrefix("HTTP/1.1 400"))
    }

    /// Sends raw bytes and reads until the server closes.
    func rawExchange(port: Int, _ text: String) async throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        _ = text.withCString { send(fd, $0, strlen($0), 0) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var answer = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            answer += buffer[0..<n]
        }
        return String(decoding: answer, as: UTF8.self)
    }
}

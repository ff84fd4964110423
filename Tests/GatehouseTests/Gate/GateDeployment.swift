import Foundation
import GatehouseDomain
import Testing

/// A gated deployment for tests: a license, a gatehouse.yml whose gate signs people in at a
/// real OIDC provider (`oidc-provider-mock`), policies, and the proxy's port chosen up front
/// (it is the gate's public URL). Replicas and the proxy are started by the test.
struct GateDeployment {
    let cli: CLI
    let oidc: OIDCProviderMock
    let proxyPort: Int
    let proxy: GateProxy.Kind
    var publicURL: String { "http://127.0.0.1:\(proxyPort)" }

    /// - Parameters:
    ///   - login: the body of policies/login.yml.
    ///   - database: a PostgreSQL URL, or the default SQLite file.
    init(
        proxy: GateProxy.Kind = .nginx, seats: Int64 = 10, login: String = Self.groupsLogin, database: String? = nil, gateExtra: String = ""
    )
        async throws
    {
        cli = try CLI()
        self.proxy = proxy
        try cli.setUp(terms: CLITests.currentTerms(seats: seats), database: database)
        oidc = try await OIDCProviderMock(in: cli.dir)
        proxyPort = try freeLoopbackPort()
        _ = try cli.dir.write("oidc.secret", "client-secret-for-tests\n")
        let config = try String(contentsOfFile: cli.dir.file("gatehouse.yml"), encoding: .utf8)
        _ = try cli.dir.write(
            "gatehouse.yml",
            config + """
                gate:
                  public_url: http://127.0.0.1:\(proxyPort)
                  proxy: \(proxy.rawValue)
                  help: "#codecov-help on Slack"
                  signin:
                    - {name: okta, kind: oidc, issuer: "\(oidc.issuer)", client_id: gatehouse, client_secret_file: oidc.secret}
                \(gateExtra)
                """)
        try FileManager.default.createDirectory(atPath: cli.dir.file("policies"), withIntermediateDirectories: true)
        _ = try cli.dir.write("policies/login.yml", login)
        try cli("policy", "apply", "policies").expectSuccess()
    }

    /// Only members of the group codecov-users may sign in through the OIDC provider.
    static let groupsLogin = "login:\n  admins: [\"oidc:root\"]\n  oidc: {allowed_groups: [codecov-users]}\n"

    func replica() async throws -> Replica { try await Replica.start(in: cli.dir, environment: cli.environment) }

    /// Alice belongs to codecov-users; mallory does not.
    func addPeople() async throws {
        try await oidc.setUser("alice", ["preferred_username": "alice", "email": "alice@acme.com", "groups": ["codecov-users", "eng"]])
        try await oidc.setUser("mallory", ["preferred_username": "mallory", "email": "mallory@acme.com", "groups": ["contractors"]])
    }
}

extension Replica {
    var port: Int { Int(base.split(separator: ":").last ?? "0") ?? 0 }
}

/// A started gated deployment: one replica, the stand-in upstream, the proxy in front.
struct RunningGate {
    let replica: Replica
    let upstream: EchoUpstream
    let proxy: GateProxy

    func stop() {
        proxy.process.stop()
        replica.kill()
    }
}

extension GateDeployment {
    /// Adds the people, starts one replica, the upstream and the proxy.
    func start() async throws -> RunningGate {
        try await addPeople()
        let replica = try await self.replica()
        let upstream = try await EchoUpstream.start()
        let proxy = try await GateProxy(self.proxy, in: cli.dir, port: proxyPort, replicas: [replica], upstream: upstream.port)
        return RunningGate(replica: replica, upstream: upstream, proxy: proxy)
    }
}

extension Browser {
    /// Opens `url`, waits to be sent to the provider, and signs in there as `user`.
    func signIn(at url: String, as user: String, provider: OIDCProviderMock) async throws -> Bool {
        try await go(url)
        guard try await eventually(10, { try await self.url.hasPrefix(provider.issuer) }) else { return false }
        try await type("input[name=sub]", user)
        try await click("form button[type=submit]")
        return true
    }
}

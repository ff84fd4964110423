import Foundation
import GatehouseDomain
import NIOHTTP1
import Testing

/// The gate's commands as an administrator runs them: configuration mistakes, the deployment
/// doctor, Codecov's own configuration, and sessions.
@Suite("The gate's commands", .serialized)
struct GateCLITests {
    func cli(gate: String, files: [String: String] = [:]) throws -> CLI {
        let cli = try CLI()
        try cli.setUp(terms: CLITests.currentTerms)
        for (name, text) in files { _ = try cli.dir.write(name, text) }
        let config = try String(contentsOfFile: cli.dir.file("gatehouse.yml"), encoding: .utf8)
        _ = try cli.dir.write("gatehouse.yml", config + gate)
        return cli
    }

    @Test func everyConfigurationProblemIsNamedAtOnce() throws {
        let cli = try self.cli(
            gate: """
                gate:
                  public_url: https://codecov.acme.internal/path
                """)
        try cli("gate", "check").expectCleanFailure("gate.public_url: expected http(s)://host[:port] with no path")

        let many = try self.cli(
            gate: """
                gate:
                  public_url: https://codecov.acme.internal
                  proxy: apache
                  trusted_proxies: [not-an-address]
                  session: {max_age: 5s}
                  signin:
                    - {name: okta, kind: oidc, issuer: "https://acme.okta.com", client_id: x}
                    - {name: gh, kind: bitbucket, client_id: x, client_secret_file: missing.secret}
                    - {name: Bad Name, kind: github, client_id: x}
                """)
        let result = try many("gate", "check")
        result.expectCleanFailure("problems")
        for fragment in [
            "gate.proxy", "apache", "not-an-address", "max_age", "GATEHOUSE_SIGNIN_OKTA_CLIENT_SECRET", "gate.signin.gh.kind", "a-z 0-9",
        ] {
            #expect(result.stderr.contains(fragment), "\(fragment) not in \(result.stderr)")
        }
    }

    @Test func theDoctorFindsTheUsualMistakesAndNeverPrintsSecrets() async throws {
        let dir = try TempDir()
        let oidc = try await OIDCProviderMock(in: dir)
        let closed = try freeLoopbackPort()
        let secret = "do-not-print-this-secret-8f2c"
        let cli = try self.cli(
            gate: """
                gate:
                  public_url: http://codecov.acme.internal
                  trusted_proxies: [0.0.0.0/0]
                  signin:
                    - {name: okta, kind: oidc, issuer: "\(oidc.issuer)", client_id: gatehouse, client_secret_file: okta.secret}
                    - {name: gone, kind: oidc, issuer: "http://127.0.0.1:\(closed)", client_id: gatehouse, client_secret_file: okta.secret}
                """,
            files: [
                "okta.secret": secret,
                "codecov.yml": "setup:\n  codecov_url: https://codecov.elsewhere\ngithub:\n  organizations: [other]\n",
            ])
        try FileManager.default.createDirectory(atPath: cli.dir.file("policies"), withIntermediateDirectories: true)
        _ = try cli.dir.write(
            "policies/login.yml", "login:\n  admins: [\"github:alice\"]\n  github: {allowed_orgs: [acme], allowed_teams: [acme/backend]}\n")
        _ = try cli.dir.write("policies/gate.yml", "gate:\n  routes:\n    - {class: signin, paths: [\"/gate/**\", \"/login/**\"]}\n")
        try cli("policy", "apply", "policies").expectSuccess()
        let check = try cli("gate", "check", "--codecov-config", "codecov.yml")
        #expect(check.status == 1)
        let out = check.stdout
        for fragment in [
            "public URL is http", "any client could describe its own request", "a redirect loop", "okta: discovery and keys answer",
            "gone: ", "http://codecov.acme.internal/gate/callback/okta", "setup.codecov_url is https://codecov.elsewhere",
            "github.organizations [\"other\"] differ", "problems found",
        ] {
            #expect(out.contains(fragment), "\(fragment) not in:\n\(out)")
        }
        let json = try cli("gate", "check", "--json", "--codecov-config", "codecov.yml")
        #expect(try JSONValue.parse(json.stdout)["ok"] == false)
        for output in [out, json.stdout, json.stderr, check.stderr] { #expect(!output.contains(secret)) }

        // What Codecov's own codecov.yml should say to agree with login.yml.
        let export = try cli("export", "codecov-config").expectSuccess().stdout
        #expect(export.contains("codecov_url: \"http://codecov.acme.internal\""))
        #expect(export.contains("- {service: github, username: \"alice\"}"))
        #expect(export.contains("github:\n  organizations: [\"acme\"]\n  teams: [\"backend\"]"))
        #expect(!export.contains(secret))
    }

    @Test func sessionsAreListedAndRevoked() async throws {
        let deployment = try await GateDeployment()
        let gate = try await deployment.start()
        defer { gate.stop() }
        let proxy = gate.proxy
        let cookie = try await deployment.signIn("alice", through: proxy)
        let cli = deployment.cli
        let list = try JSONValue.parse(try cli("sessions", "list", "--json").expectSuccess().stdout)
        guard case .array(let sessions) = list, let id = sessions.first?["id"]?.string else {
            Issue.record("no session listed: \(list)")
            return
        }
        #expect(sessions.first?["identity"] == "oidc:alice")
        #expect(!list.canonicalText.contains(cookie.split(separator: "=")[1]), "a session secret was listed")
        #expect(try cli("sessions", "list", "oidc:alice").expectSuccess().stdout.contains(id))
        try cli("sessions", "revoke", "s_aaaaaaaaaaaaaaaaaaaa").expectCleanFailure("no live session")
        try cli("sessions", "revoke", "../etc/passwd").expectCleanFailure("is not a session id")
        try cli("sessions", "revoke").expectCleanFailure("give a session id, --user USER or --all")
        try cli("sessions", "revoke", "--all", "--user", "oidc:alice").expectCleanFailure("one of them")
        #expect(try cli("sessions", "revoke", id).expectSuccess().stdout.contains("ended 1 session"))
        // How soon every replica follows is GateProxyTests' to time; this one checks that the
        // CLI's revocation (another process, straight to the database) is followed at all.
        let refused = try await eventually(5) {
            try await HTTPProbe.request(.GET, proxy.base + "/login/gh", headers: [("Cookie", cookie), ("Accept", "text/html")]).status
                == 302
        }
        #expect(refused, "a revoked session still let alice in")
        let entry = try cli.auditEntries("--action", "session.end").last
        #expect(entry?["actor"]?.string.hasPrefix("cli:") == true)
        #expect(try cli("sessions", "list").expectSuccess().stdout.contains("no live sessions"))
        // Everyone signed out at once.
        _ = try await deployment.signIn("alice", through: proxy)
        #expect(try cli("sessions", "revoke", "--all").expectSuccess().stdout.contains("ended 1 session"))
    }
}

import Foundation
import GatehouseDomain
import GatehouseHTTP
import GatehouseService
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// `gatehouse ldap test|sync`, `POST /v1/ldap/sync` and configuration, against a real slapd.
@Suite("Directory commands and API")
struct DirectoryCommandTests {
    /// A CLI set up with a license and an `ldap:` section pointing at `slapd`.
    func cli(_ slapd: Slapd, extra: String = "") throws -> CLI {
        let cli = try CLI()
        try cli.setUp()
        _ = try cli.dir.write("ldap.pw", Slapd.servicePassword + "\n")
        let yml = try String(contentsOfFile: cli.dir.file("gatehouse.yml"), encoding: .utf8)
        _ = try cli.dir.write(
            "gatehouse.yml",
            yml + """
                ldap:
                  url: \(slapd.url)
                  bind_dn: \(Slapd.serviceDN)
                  bind_password_file: ldap.pw
                  user_base: ou=people,\(Slapd.suffix)
                  group_base: ou=groups,\(Slapd.suffix)
                  page_size: 3
                  timeout: 5s
                  sync_interval: 15m
                \(extra)
                """)
        return cli
    }

    @Test("ldap test binds, counts and times; ldap sync --dry-run prints the plan and changes nothing; the password is never printed")
    func commands() async throws {
        let slapd = try Slapd(ldif: DirectoryFixture.ldif)
        let cli = try cli(slapd)
        let test = try cli("ldap", "test").expectSuccess()
        #expect(test.stdout.contains("people: 7") && test.stdout.contains("groups: 5") && test.stdout.contains("bind: ok"))
        #expect(test.stdout.contains("directory: never synced"))

        let before = try cli.snapshot()
        let dry = try cli("ldap", "sync", "--dry-run").expectSuccess()
        #expect(dry.stdout.contains("dry run") && dry.stdout.contains("+ ldap:alice <alice@acme.com>") && dry.stdout.contains("7 added"))
        #expect(try cli.snapshot() == before)

        let sync = try cli("ldap", "sync", "--json").expectSuccess()
        let json = try JSONValue.parse(Array(sync.stdout.utf8))
        #expect(json["added"]?.arrayValue?.count == 7 && json["dry_run"] == false)
        #expect(try cli("users", "show", "ldap:frank", "--json").stdout.contains("codecov-users"))
        let resync = try cli("ldap", "sync").expectSuccess()
        #expect(resync.stdout.contains("0 added, 0 updated, 0 left, 0 membership changes"))
        #expect(try cli("ldap", "test").expectSuccess().stdout.contains("directory: fresh"))

        for output in [test, dry, sync, resync] { #expect(!(output.stdout + output.stderr).contains(Slapd.servicePassword)) }
        #expect(try cli("audit", "verify").status == 0)
    }

    @Test("A sync of more people than are listed prints the first of them and counts the rest; --json lists every one")
    func longPlanCounted() async throws {
        let shown = DirectorySyncOutcome.listedPerKind
        let slapd = try Slapd(ldif: DirectoryFixture.many(shown + 30))
        let cli = try cli(slapd)
        let dry = try cli("ldap", "sync", "--dry-run").expectSuccess()
        let lines = dry.stdout.split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("  + ldap:") }.count == shown)
        #expect(lines.contains("  … and 30 more added (--json lists every one)"), "\(dry.stdout.suffix(400))")
        #expect(lines.last == "\(shown + 30) added, 0 updated, 0 left, 0 membership changes")
        let json = try JSONValue.parse(Array(try cli("ldap", "sync", "--dry-run", "--json").expectSuccess().stdout.utf8))
        #expect(json["added"]?.arrayValue?.count == shown + 30)
    }

    @Test("ldap test --user matches the uid exactly: filter metacharacters are escaped")
    func escapedLookup() async throws {
        let slapd = try Slapd(ldif: DirectoryFixture.ldif)
        let cli = try cli(slapd)
        let weird = try cli("ldap", "test", "--user", DirectoryFixture.weirdUID).expectSuccess()
        #expect(weird.stdout.contains("cn=weird name,ou=people,dc=acme,dc=com"))
        for probe in ["*", "alice)(uid=*", "*)(|(uid=*", #"we\2aird(1)\x"#, "we*", "a\u{0}"] {
            let result = try cli("ldap", "test", "--user", probe, "--json").expectSuccess()
            let json = try JSONValue.parse(Array(result.stdout.utf8))
            #expect(json["lookup"]?.arrayValue?.isEmpty == true, "\(probe) matched: \(result.stdout)")
        }
    }

    @Test("A stopped directory: ldap test exits non-zero and says stale; the server keeps answering")
    func staleCommand() async throws {
        let slapd = try Slapd(ldif: DirectoryFixture.ldif)
        let cli = try cli(slapd)
        try cli("ldap", "sync").expectSuccess()
        slapd.stop()
        let sync = try cli("ldap", "sync")
        sync.expectCleanFailure("nothing changed, decisions continue from the last good sync")
        let test = try cli("ldap", "test")
        #expect(test.status != 0)
        #expect(test.stdout.contains("directory: stale") && test.stdout.contains("error:"))
    }

    @Test("Configuration problems are all reported at once, without the password")
    func configurationProblems() async throws {
        let slapd = try Slapd(ldif: DirectoryFixture.ldif)
        let cli = try cli(slapd)
        var yml = try String(contentsOfFile: cli.dir.file("gatehouse.yml"), encoding: .utf8)
        yml = yml.replacingOccurrences(of: "url: \(slapd.url)", with: "url: http://wrong")
            .replacingOccurrences(of: "timeout: 5s", with: "timeout: soon")
            .replacingOccurrences(of: "page_size: 3", with: "page_size: 3\n  user_filter: objectClass=person")
        _ = try cli.dir.write("gatehouse.yml", yml)
        let result = try cli("ldap", "test")
        result.expectCleanFailure("3 problems")
        #expect(result.stderr.contains("ldap.url") && result.stderr.contains("ldap.timeout") && result.stderr.contains("ldap.user_filter"))
    }

    @Test("The bind password may come from GATEHOUSE_LDAP_BIND_PASSWORD instead of a file")
    func passwordFromEnvironment() async throws {
        let slapd = try Slapd(ldif: DirectoryFixture.ldif)
        var cli = try cli(slapd)
        let yml = try String(contentsOfFile: cli.dir.file("gatehouse.yml"), encoding: .utf8)
        _ = try cli.dir.write("gatehouse.yml", yml.replacingOccurrences(of: "  bind_password_file: ldap.pw\n", with: ""))
        try cli("ldap", "test").expectCleanFailure("GATEHOUSE_LDAP_BIND_PASSWORD")
        cli.environment["GATEHOUSE_LDAP_BIND_PASSWORD"] = Slapd.servicePassword
        #expect(try cli("ldap", "test").expectSuccess().stdout.contains("people: 7"))
    }

    @Test("POST /v1/ldap/sync (admin), GET /v1/ldap/status, and readyz's directory state")
    func http() async throws {
        let slapd = try Slapd(ldif: DirectoryFixture.ldif)
        let (_, gatehouse, _) = try await gatehouseWithLicense(directory: slapd.configuration())
        let admin = try await gatehouse.createToken(name: "admin", scope: .admin, actor: "test").secret
        let reader = try await gatehouse.createToken(name: "reader", scope: .read, actor: "test").secret
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let app = buildApplication(gatehouse: gatehouse, settings: HTTPSettings(host: "127.0.0.1", port: 0), logger: logger)
        try await app.test(.router) { client in
            let denied = try await client.execute(uri: "/v1/ldap/sync", method: .post, headers: [.authorization: "Bearer \(reader)"])
            #expect(denied.status == .forbidden)
            let dry = try await client.execute(
                uri: "/v1/ldap/sync?dry_run=true", method: .post, headers: [.authorization: "Bearer \(admin)"])
            #expect(dry.status == .ok)
            #expect(try JSONValue.parse(Array(dry.body.readableBytesView))["dry_run"] == true)
            let bad = try await client.execute(
                uri: "/v1/ldap/sync?force=maybe", method: .post, headers: [.authorization: "Bearer \(admin)"])
            #expect(bad.status == .badRequest)
            let sync = try await client.execute(uri: "/v1/ldap/sync", method: .post, headers: [.authorization: "Bearer \(admin)"])
            #expect(sync.status == .ok)
            // The periodic sync also runs once at startup, so this one may find nothing new.
            #expect(try JSONValue.parse(Array(sync.body.readableBytesView))["people"] == 7)
            #expect(try await gatehouse.users(seat: nil, inactiveDays: nil).count == 7)
            let status = try await client.execute(uri: "/v1/ldap/status", method: .get, headers: [.authorization: "Bearer \(reader)"])
            #expect(try JSONValue.parse(Array(status.body.readableBytesView))["state"] == "fresh")
            slapd.stop()
            let failed = try await client.execute(uri: "/v1/ldap/sync", method: .post, headers: [.authorization: "Bearer \(admin)"])
            #expect(failed.status == .serviceUnavailable)
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .ok)
            let anonymous = try JSONValue.parse(Array(ready.body.readableBytesView))
            #expect(anonymous["directory"]?["state"] == "stale")
            // Issue 16, fault 11: the directory's server, bind DN and last error only for a token.
            #expect(anonymous["directory"]?["last_error"] == nil)
            #expect(!String(buffer: ready.body).contains(Slapd.serviceDN))
            let detailed = try await client.execute(uri: "/readyz", method: .get, headers: [.authorization: "Bearer \(reader)"])
            #expect(try JSONValue.parse(Array(detailed.body.readableBytesView))["directory"]?["last_error"] != nil)
        }
    }
}

extension JSONValue {
    /// The elements, when this is an array.
    var arrayValue: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }
}

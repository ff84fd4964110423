import Foundation
import GRDB
import GatehouseDomain
import Testing

/// The real `gatehouse` binary, run in a temporary directory (which also proves the
/// migrations ship inside the binary: nothing is read from the source tree).
struct CLI {
    let dir: TempDir
    var environment: [String: String] = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory()]

    init() throws { dir = try TempDir() }

    @discardableResult
    func callAsFunction(_ arguments: String...) throws -> ProcessResult {
        try run(gatehouseBinary, arguments, cwd: dir.path, environment: environment)
    }

    /// A vendor key, a gatehouse.yml that trusts it, a migrated database and a license.
    /// `database` (a URL) goes into gatehouse.yml; without it the default SQLite file is used.
    func setUp(terms: String = CLITests.terms, database: String? = nil) throws {
        let publicPEM = try self("license", "keygen", "--out", "vendor.pem", "--kid", "v2").expectSuccess().stdout
        _ = try dir.write("vendor.pub.pem", publicPEM)
        _ = try dir.write(
            "gatehouse.yml",
            "instance_url: https://codecov.acme.internal\n" + (database.map { "database: \($0)\n" } ?? "")
                + "license:\n  public_keys:\n    - {kid: v2, pem_file: vendor.pub.pem}\n")
        _ = try dir.write("terms.json", terms)
        try self("license", "sign", "--key", "vendor.pem", "--kid", "v2", "--terms", "terms.json", "--out", "acme.lic").expectSuccess()
        try self("migrate").expectSuccess()
        try self("license", "install", "acme.lic").expectSuccess()
    }

    /// Everything observable about the database's state, to show a failure changed nothing.
    func snapshot() throws -> String {
        try self("audit", "list", "--json").stdout + self("tokens", "list", "--json").stdout
            + self("license", "status", "--json").stdout
            .replacingOccurrences(of: #""days_left": -?\d+"#, with: "", options: .regularExpression)
    }
}

extension ProcessResult {
    @discardableResult
    func expectSuccess(sourceLocation: SourceLocation = #_sourceLocation) -> ProcessResult {
        #expect(status == 0, "exit \(status): \(stderr)", sourceLocation: sourceLocation)
        return self
    }

    /// One clear line on stderr, nothing on stdout, a non-zero exit.
    func expectCleanFailure(_ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(status != 0, "expected failure, got success: \(stdout)", sourceLocation: sourceLocation)
        #expect(stdout.isEmpty, "stdout: \(stdout)", sourceLocation: sourceLocation)
        let lines = stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr should be one line: \(stderr)", sourceLocation: sourceLocation)
        #expect(stderr.hasPrefix("gatehouse: error: "), "\(stderr)", sourceLocation: sourceLocation)
        #expect(stderr.contains(fragment), "\(fragment) not in: \(stderr)", sourceLocation: sourceLocation)
    }
}

@Suite("The gatehouse command line", .serialized)
struct CLITests {
    static let terms = """
        {"license_id":"lic_acme_2026","licensee":"Acme Corp","issued_at":"2026-11-01T00:00:00Z",
         "starts_at":"2026-11-01T00:00:00Z","expires_at":"2027-11-01T00:00:00Z","seats":200,
         "seat_price_cents":25000,"currency":"USD","instance_url":"https://codecov.acme.internal",
         "grace_days":14,"supersedes":null}
        """

    /// The SPEC example in force today, with `seats` seats at the cheapest price the minimum allows.
    static func currentTerms(seats: Int64) -> String {
        currentTerms.replacingOccurrences(of: "\"seats\":200", with: "\"seats\":\(seats)")
            .replacingOccurrences(of: "\"seat_price_cents\":25000", with: "\"seat_price_cents\":\(TestVendor.price(seats: seats))")
    }

    /// The license must be in force today for install to succeed: shift the SPEC example to now.
    static var currentTerms: String {
        let start = UTC.formatDay(Date().addingTimeInterval(-10 * 86_400))
        let end = UTC.formatDay(Date().addingTimeInterval(355 * 86_400))
        return terms.replacingOccurrences(of: "2026-11-01T", with: start + "T").replacingOccurrences(of: "2027-11-01T", with: end + "T")
    }

    @Test func licenseWorkflowFromTheReadme() throws {
        let cli = try CLI()
        try cli.setUp(terms: Self.currentTerms)
        let status = try JSONValue.parse(try cli("license", "status", "--json").expectSuccess().stdout)
        #expect(status["state"] == "valid")
        #expect(status["seats"] == 200)
        let quote = try JSONValue.parse(try cli("seats", "quote", "--add", "10", "--json").expectSuccess().stdout)
        #expect(quote["added_seats"] == 10)
        #expect(quote["term_days"] == 365)
        #expect(quote["remaining_days"] == 355)
        // 10 × 25,000 × 355 / 365 = 243,150.68… → 243,151
        #expect(quote["amount_cents"] == 243_151)
        let token = try JSONValue.parse(
            try cli("tokens", "create", "--name", "codecov", "--scope", "authorize", "--json").expectSuccess().stdout)
        guard case .string(let secret)? = token["token"] else { Issue.record("no token"); return }
        #expect(token["last_four"] == .string(String(secret.suffix(4))))
        let listed = try cli("tokens", "list", "--json").expectSuccess().stdout
        #expect(listed.contains("codecov") && !listed.contains(secret))
        let verify = try JSONValue.parse(try cli("audit", "verify", "--json").expectSuccess().stdout)
        #expect(verify == ["ok": true, "entries": 3, "first_broken": nil, "problem": nil])
    }

    @Test func dormantSeatsReviewedAsCSVThenReleased() throws {
        let cli = try CLI()
        try cli.setUp(terms: Self.currentTerms)
        try cli("seats", "activate", "github:alice").expectSuccess()
        try cli("seats", "activate", "oidc:=HYPERLINK").expectSuccess()
        // Never seen counts from creation: with 0 days, everyone seated is dormant.
        let csv = try cli("users", "list", "--seat", "active", "--inactive-days", "0", "--format", "csv").expectSuccess().stdout
        let rows = csv.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(rows.first == "id,name,email,status,seat,last_seen_at,created_at,identities")
        #expect(rows.count == 3)
        // A name a spreadsheet would run as a formula is made inert.
        #expect(rows.contains { $0.contains(",'=HYPERLINK,") }, "\(rows)")
        try cli("users", "list", "--format", "xml").expectCleanFailure("--format must be text or csv")

        let dry = try JSONValue.parse(try cli("seats", "release", "--inactive-days", "0", "--dry-run", "--json").expectSuccess().stdout)
        #expect(dry["count"] == 2 && dry["dry_run"] == true)
        #expect(try JSONValue.parse(try cli("seats", "status", "--json").expectSuccess().stdout)["active"] == 2)
        let done = try cli("seats", "release", "--inactive-days", "0").expectSuccess().stdout
        #expect(done.contains("released 2 seats"))
        #expect(try JSONValue.parse(try cli("seats", "status", "--json").expectSuccess().stdout)["active"] == 0)
        #expect(try cli("audit", "verify").status == 0)
    }

    @Test func failuresAreOneLineAndChangeNothing() throws {
        let cli = try CLI()
        try cli.setUp(terms: Self.currentTerms)
        try cli("tokens", "create", "--name", "codecov", "--scope", "authorize").expectSuccess()
        _ = try cli.dir.write("garbage.lic", "hello")
        _ = try cli.dir.write("broken.yml", "listen: {port: http}\n")
        let before = try cli.snapshot()
        let cases: [([String], String)] = [
            (["license", "install", "garbage.lic"], "license refused"),
            (["license", "install", "absent.lic"], "cannot read absent.lic"),
            (["license", "install", "acme.lic"], "already installed"),
            (["tokens", "create", "--name", "codecov", "--scope", "admin"], "already exists"),
            (["tokens", "create", "--name", "x", "--scope", "superuser"], "--scope must be"),
            (["tokens", "revoke", "nobody"], "no token named nobody"),
            (["seats", "quote", "--add", "5", "--on", "2099-01-01"], "not before the end of the term"),
            (["seats", "quote", "--add", "0"], "--add must be at least 1"),
            (["audit", "list", "--since", "yesterday"], "--since must be a date"),
            (["license", "status", "--database", "sqlite:\(cli.dir.path)/absent/x.db"], "run `gatehouse migrate`"),
            (["license", "status", "--config", "broken.yml"], "listen.port"),
            (["license", "status", "--database", "mysql://x"], "sqlite:PATH or postgres"),
            (["no-such-command"], "Unexpected argument 'no-such-command'"),
        ]
        for (arguments, fragment) in cases {
            try run(gatehouseBinary, arguments, cwd: cli.dir.path).expectCleanFailure(fragment)
        }
        #expect(try cli.snapshot() == before)
        #expect(!FileManager.default.fileExists(atPath: cli.dir.file("absent")))
    }

    @Test func vendorSideRefusals() throws {
        let cli = try CLI()
        try cli("license", "keygen", "--out", "v.pem").expectSuccess()
        let key = try String(contentsOfFile: cli.dir.file("v.pem"), encoding: .utf8)
        // Never overwrite a vendor key.
        try cli("license", "keygen", "--out", "v.pem").expectCleanFailure("already exists")
        #expect(try String(contentsOfFile: cli.dir.file("v.pem"), encoding: .utf8) == key)
        let attributes = try FileManager.default.attributesOfItem(atPath: cli.dir.file("v.pem"))
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        // Terms that break three rules: all three reasons, and no file written.
        _ = try cli.dir.write(
            "cheap.json",
            Self.terms.replacingOccurrences(of: "\"seats\":200", with: "\"seats\":0")
                .replacingOccurrences(of: "2027-11-01", with: "2027-06-01").replacingOccurrences(of: "\"USD\"", with: "\"EUR\""))
        let result = try cli("license", "sign", "--key", "v.pem", "--kid", "v", "--terms", "cheap.json", "--out", "cheap.lic")
        result.expectCleanFailure("seats must be at least 1")
        #expect(result.stderr.contains("currency must be USD") && result.stderr.contains("at least 365 days"))
        #expect(!FileManager.default.fileExists(atPath: cli.dir.file("cheap.lic")))
    }

    @Test func verifyExitStatus() throws {
        let cli = try CLI()
        let publicPEM = try cli("license", "keygen", "--out", "v.pem", "--kid", "v").expectSuccess().stdout
        _ = try cli.dir.write("v.pub.pem", publicPEM)
        _ = try cli.dir.write("terms.json", Self.currentTerms)
        try cli("license", "sign", "--key", "v.pem", "--kid", "v", "--terms", "terms.json", "--out", "a.lic").expectSuccess()
        let ok = try cli("license", "verify", "a.lic", "--public-key", "v.pub.pem").expectSuccess()
        #expect(ok.stdout.hasPrefix("valid: lic_acme_2026"))
        // Another vendor's key: refused, exit non-zero, the reason named.
        let otherPEM = try cli("license", "keygen", "--out", "w.pem").stdout
        _ = try cli.dir.write("w.pub.pem", otherPEM)
        try cli("license", "verify", "a.lic", "--public-key", "w.pub.pem").expectCleanFailure("signature does not match")
        let json = try cli("license", "verify", "a.lic", "--public-key", "w.pub.pem", "--json")
        #expect(json.status != 0)
        #expect(try JSONValue.parse(json.stdout)["valid"] == false)
    }

    @Test func auditVerifyFailsOnATamperedDatabase() throws {
        let cli = try CLI()
        try cli.setUp(terms: Self.currentTerms)
        try cli("tokens", "create", "--name", "codecov", "--scope", "authorize").expectSuccess()
        // The auditor's script agrees with gatehouse on an intact chain…
        let python = try requireProgram("python3", package: "python3")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs/audit-verify.py")
            .standardized.path
        let export = try cli("audit", "list", "--json").expectSuccess().stdout
        let intact = try run(python, [script], stdin: export)
        #expect(intact.status == 0, "\(intact.stdout)\(intact.stderr)")
        // Exports: the full JSON export verifies; a filtered one verifies with --partial; CSV quotes.
        let full = try cli("audit", "export", "--format", "json").expectSuccess().stdout
        #expect(try run(python, [script], stdin: full).status == 0)
        let filtered = try cli("audit", "export", "--format", "json", "--action", "token").expectSuccess().stdout
        #expect(try run(python, [script, "--partial"], stdin: filtered).status == 0)
        try cli("audit", "export", "--format", "csv", "--out", "audit.csv").expectSuccess()
        let csv = try String(contentsOfFile: cli.dir.file("audit.csv"), encoding: .utf8).components(separatedBy: "\r\n").filter {
            !$0.isEmpty
        }
        #expect(csv.first == "seq,at,actor,action,subject,details,prev_hash,hash")
        #expect(csv.count == 1 + 3)  // header; migrate, license install, token create
        #expect(csv[1].contains("\"{\"\"applied\"\":[1,2,3,4,5,6,7,8,9,10,11,12]"))  // every migration, CSV-quoted
        try cli("audit", "export", "--format", "xml").expectCleanFailure("--format must be json or csv")
        try cli("report", "usage", "--out", "usage.json").expectSuccess()
        let usage = try JSONValue.parse(String(contentsOfFile: cli.dir.file("usage.json"), encoding: .utf8))
        #expect(usage["format"] == "gatehouse-usage/1")
        #expect(usage["instance_url"] == "https://codecov.acme.internal")
        // …and both catch an edit made behind Gatehouse's back.
        let queue = try DatabaseQueue(path: cli.dir.file("gatehouse.db"))
        try queue.write { try $0.execute(sql: "UPDATE audit_log SET actor = 'cli:someone-else' WHERE seq = 2") }
        try cli("audit", "verify").expectCleanFailure("BROKEN at entry 2")
        let tampered = try run(python, [script], stdin: try cli("audit", "list", "--json").stdout)
        #expect(tampered.status == 1)
        #expect(tampered.stdout.contains("entry 2"))
    }
}

@Suite("People, seats and policy on the command line", .serialized)
struct PeopleCLITests {
    @Test func seatsUsersAndPolicies() throws {
        let cli = try CLI()
        try cli.setUp(terms: CLITests.currentTerms)
        try cli("seats", "activate", "github:alice").expectSuccess()
        try cli("users", "link", "github:alice", "gitlab:alice").expectSuccess()
        let status = try JSONValue.parse(try cli("seats", "status", "--json").expectSuccess().stdout)
        #expect(status["active"] == 1)
        #expect(status["licensed"] == 200)
        let users = try JSONValue.parse(try cli("users", "list", "--seat", "active", "--json").expectSuccess().stdout)
        guard case .array(let list) = users, list.count == 1 else { Issue.record("\(users)"); return }
        #expect(list[0]["identities"] == ["github:alice", "gitlab:alice"])
        try cli("users", "block", "gitlab:alice").expectSuccess()
        #expect(try JSONValue.parse(try cli("seats", "status", "--json").stdout)["active"] == 0)
        try cli("seats", "activate", "github:alice").expectCleanFailure("blocked")
        try cli("users", "show", "nobody@example.com").expectCleanFailure("no person matches")
        try cli("users", "show", "nonsense").expectCleanFailure("is not provider:username")
        try cli("seats", "true-up").expectSuccess()

        let policies = cli.dir.file("policies")
        try FileManager.default.createDirectory(atPath: policies, withIntermediateDirectories: true)
        _ = try cli.dir.write("policies/seats.yml", "seats:\n  overage_percent: 500\n")
        let check = try cli("policy", "check", "policies")
        #expect(check.status != 0)
        #expect(check.stderr.contains("seats.yml: line 2: seats.overage_percent"))
        try cli("policy", "apply", "policies").expectCleanFailure("policy refused")
        _ = try cli.dir.write("policies/seats.yml", "seats:\n  overage_percent: 10\n")
        try cli("policy", "check", "policies").expectSuccess()
        try cli("policy", "apply", "policies").expectSuccess()
        let shown = try JSONValue.parse(try cli("policy", "show", "--json").expectSuccess().stdout)
        #expect(shown["policy"]?["seats"]?["overage_percent"] == 10)
        #expect(try JSONValue.parse(try cli("seats", "status", "--json").stdout)["limit"] == 220)
        try cli("audit", "verify").expectSuccess()
    }
}

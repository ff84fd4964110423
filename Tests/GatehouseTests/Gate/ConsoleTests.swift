import Foundation
import GRDB
import GatehouseDomain
import GatehouseHTTP
import GatehouseService
import GatehouseStorage
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

/// The admin console over the real router: who gets in, what each page shows, and that a
/// change happens only for an admin's own same-origin form, audited with the admin as actor.
@Suite("The admin console")
struct ConsoleTests {
    static let loginPolicy = "login:\n  admins: [\"oidc:root\"]\n"

    static func fixture(licensee: String = "Acme Corp") async throws -> GateFixture {
        let f = try await GateFixture(console: ConsoleSettings(readGroups: ["auditors"]), licensee: licensee)
        let policies = f.dir.file("policies")
        try FileManager.default.createDirectory(atPath: policies, withIntermediateDirectories: true)
        _ = try f.dir.write("policies/login.yml", loginPolicy)
        _ = try await f.gatehouse.applyPolicies(directory: policies, actor: "test")
        try await f.gatehouse.refresh()
        return f
    }

    static func app(_ f: GateFixture) -> some ApplicationProtocol {
        var logger = Logger(label: "test")
        logger.logLevel = .error
        return Application(router: buildRouter(gatehouse: f.gatehouse, metrics: GatehouseMetrics()), logger: logger)
    }

    struct Page {
        var status: HTTPResponse.Status
        var body: String
        var headers: HTTPFields
        var location: String? { headers[.location] }
        /// The form token on the page.
        var csrf: String? { body.firstMatch(of: /name="csrf" value="([^"]+)"/).map { String($0.1) } }
    }

    static func get(_ client: some TestClientProtocol, _ path: String, cookie: String?) async throws -> Page {
        var headers: HTTPFields = [.accept: "text/html"]
        if let cookie { headers[.cookie] = cookie }
        return try await client.execute(uri: path, method: .get, headers: headers) { r in
            Page(status: r.status, body: String(buffer: r.body), headers: r.headers)
        }
    }

    static func post(_ client: some TestClientProtocol, _ path: String, cookie: String?, form: String, site: String? = "same-origin")
        async throws -> Page
    {
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded", .accept: "text/html"]
        if let cookie { headers[.cookie] = cookie }
        if let site { headers[HTTPField.Name("Sec-Fetch-Site")!] = site }
        return try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: form)) { r in
            Page(status: r.status, body: String(buffer: r.body), headers: r.headers)
        }
    }

    @Test("A one-time link signs the first admin in, once; it is refused for anyone not in login.admins")
    func signInLink() async throws {
        let f = try await Self.fixture()
        await #expect(throws: GatehouseError.self) { try await f.gatehouse.consoleSignInLink(user: "oidc:bob", actor: "test") }
        let (url, expires) = try await f.gatehouse.consoleSignInLink(user: "oidc:root", actor: "cli:ops")
        #expect(url.hasPrefix("https://codecov.acme.internal/console/link?token="))
        #expect(expires == f.clock.now.addingTimeInterval(600))
        let token = String(url.split(separator: "=").last!)
        try await Self.app(f).test(.router) { client in
            // Looking at the link uses nothing up.
            let shown = try await Self.get(client, "/console/link?token=\(token)", cookie: nil)
            #expect(shown.status == .ok && shown.body.contains("name=\"token\" value=\"\(token)\""))
            let used = try await Self.post(client, "/console/link", cookie: nil, form: "token=\(token)")
            #expect(used.status == .seeOther && used.location == "/console")
            let cookie = try #require(used.headers[.setCookie]).split(separator: ";").first.map(String.init)
            #expect(cookie?.hasPrefix("__Host-gatehouse_session=") == true)
            let overview = try await Self.get(client, "/console", cookie: cookie)
            #expect(overview.status == .ok && overview.body.contains("<h1>Overview</h1>"))
            let again = try await Self.post(client, "/console/link", cookie: nil, form: "token=\(token)")
            #expect(again.status == .badRequest && again.body.contains("expired or was already used"))
        }
        // The session is in memory as stored (its times to the millisecond, as a reload reads them).
        try await expectMemoryFollowsWrites(f.gatehouse)
        // Expired links are refused too.
        let (late, _) = try await f.gatehouse.consoleSignInLink(user: "oidc:root", actor: "test")
        f.clock.set(f.clock.now.addingTimeInterval(601))
        await #expect(throws: GatehouseError.self) {
            try await f.gatehouse.redeemConsoleLink(token: String(late.split(separator: "=").last!), userAgent: "", address: "")
        }
        let links = try await f.gatehouse.auditEntries(AuditQuery(action: "console.link"))
        #expect(links.count == 2 && links.allSatisfy { !$0.details.contains("token") })
    }

    @Test("Who gets in: no session → sign-in; a non-admin → refused; read-only sees no forms; headers are strict")
    func access() async throws {
        let f = try await Self.fixture()
        let root = try await f.signIn("oidc:root")
        let alice = try await f.signIn("oidc:alice")
        // An auditor: a member of a console read group, as her sign-in's verified groups say.
        let carol = try await f.signIn("oidc:carol")
        _ = try await f.gatehouse.authorizeLogin(
            LoginRequest(identity: IdentityRef.parse("oidc:carol")!, groups: ["auditors"], verified: true), actor: "test")
        let name = f.gate.cookies.session
        let cookie: @Sendable (String) -> String = { token in "\(name)=\(token)" }
        try await Self.app(f).test(.router) { client in
            let anonymous = try await Self.get(client, "/console/people", cookie: nil)
            #expect(anonymous.status == .found && anonymous.location == "/gate/sign-in?rd=/console/people")
            let refused = try await Self.get(client, "/console", cookie: cookie(alice))
            #expect(refused.status == .forbidden && refused.body.contains("not a Gatehouse administrator"))
            let admin = try await Self.get(client, "/console", cookie: cookie(root))
            #expect(admin.status == .ok)
            #expect(admin.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true)
            #expect(admin.headers[.contentSecurityPolicy]?.contains("script-src") == false)  // default-src 'none': no script at all
            #expect(admin.headers[.cacheControl] == "no-store")
            #expect(admin.headers[HTTPField.Name("Referrer-Policy")!] == "same-origin")
            #expect(admin.body.contains("<svg class=\"chart\""))
            let person = try await Self.get(client, "/console/people/oidc:alice", cookie: cookie(root))
            #expect(person.status == .ok && person.csrf != nil)
            let readOnly = try await Self.get(client, "/console/people/oidc:alice", cookie: cookie(carol))
            #expect(
                readOnly.status == .ok && readOnly.body.contains("(read-only)") && readOnly.csrf == nil
                    && !readOnly.body.contains("<button type=\"submit\" class=\"danger\""))
            // A browser asking for / is sent to the console.
            let root = try await client.execute(uri: "/", method: .get, headers: [.accept: "text/html"]) { $0 }
            #expect(root.status == .found && root.headers[.location] == "/console")
        }
    }

    @Test("Changes: the admin's own form only — no token, another session's, another site, a read-only admin change nothing")
    func changes() async throws {
        let f = try await Self.fixture()
        let root = try await f.signIn("oidc:root")
        let other = try await f.signIn("oidc:root")
        // An auditor: a member of a console read group, as her sign-in's verified groups say.
        let carol = try await f.signIn("oidc:carol")
        _ = try await f.gatehouse.authorizeLogin(
            LoginRequest(identity: IdentityRef.parse("oidc:carol")!, groups: ["auditors"], verified: true), actor: "test")
        _ = try await f.signIn("oidc:alice")
        let name = f.gate.cookies.session
        let cookie: @Sendable (String) -> String = { token in "\(name)=\(token)" }
        try await Self.app(f).test(.router) { client in
            let mine = try #require(try await Self.get(client, "/console/people/oidc:alice", cookie: cookie(root)).csrf)
            let theirs = try #require(try await Self.get(client, "/console/people/oidc:alice", cookie: cookie(other)).csrf)
            #expect(mine != theirs)
            let head = try await f.gatehouse.auditEntries(AuditQuery(limit: 1)).last?.seq
            let path = "/console/people/oidc:alice/seat"
            let attempts: [(String?, String, String?)] = [
                (cookie(root), "do=deactivate&confirm=yes", "same-origin"),  // no token
                (cookie(root), "do=deactivate&confirm=yes&csrf=\(theirs)", "same-origin"),  // another session's
                (cookie(root), "do=deactivate&confirm=yes&csrf=\(mine)", "cross-site"),  // another site's form
                (cookie(root), "do=deactivate&confirm=yes&csrf=\(mine)", "same-site"),
                (cookie(carol), "do=deactivate&confirm=yes&csrf=\(mine)", "same-origin"),  // read-only
            ]
            for (who, form, site) in attempts {
                let answer = try await Self.post(client, path, cookie: who, form: form, site: site)
                #expect(answer.status == .forbidden, "\(form) \(site ?? "")")
            }
            let signedOut = try await Self.post(client, path, cookie: nil, form: "do=deactivate&confirm=yes&csrf=\(mine)")
            #expect(signedOut.status == .unauthorized)
            #expect(try await f.gatehouse.auditEntries(AuditQuery(limit: 1)).last?.seq == head)
            #expect(try await f.gatehouse.user("oidc:alice").person.seat == .active)

            // Taking access away asks first; the confirmed form does it, audited as the admin.
            let ask = try await Self.post(client, path, cookie: cookie(root), form: "do=deactivate&csrf=\(mine)")
            #expect(ask.status == .ok && ask.body.contains("Take the seat away?") && ask.body.contains("name=\"confirm\" value=\"yes\""))
            #expect(try await f.gatehouse.user("oidc:alice").person.seat == .active)
            let done = try await Self.post(client, path, cookie: cookie(root), form: "do=deactivate&confirm=yes&csrf=\(mine)")
            #expect(done.status == .seeOther && done.location == "/console/people/oidc:alice?done=seat-taken")
            let history = try await Self.get(client, "/console/people/oidc:alice", cookie: cookie(root))
            #expect(history.body.contains("<td>seat taken</td><td>console:oidc:root</td>"))
            #expect(try await f.gatehouse.user("oidc:alice").person.seat == SeatState.none)
            let given = try await Self.post(client, path, cookie: cookie(root), form: "do=activate&csrf=\(mine)")
            #expect(given.status == .seeOther)
            let blocked = try await Self.post(
                client, "/console/people/oidc:alice/block", cookie: cookie(root), form: "do=block&confirm=yes&csrf=\(mine)")
            #expect(blocked.status == .seeOther)
            let notice = try await Self.get(client, blocked.location ?? "", cookie: cookie(root))
            #expect(notice.body.contains("Blocked: the seat is released."))
        }
        let entries = try await f.gatehouse.auditEntries(AuditQuery(limit: 10_000)).filter { $0.actor == "console:oidc:root" }
        #expect(entries.map(\.action).contains("seat.deactivate") && entries.map(\.action).contains("seat.activate"))
        #expect(entries.map(\.action).contains("person.status"))
        try await expectMemoryFollowsWrites(f.gatehouse)
    }

    @Test("Everything a person or provider controls is escaped: group names, searches, the licensee")
    func escaping() async throws {
        let f = try await Self.fixture(licensee: #"Acme "Evil" <b>Corp</b>"#)
        let root = try await f.signIn("oidc:root")
        _ = try await f.gatehouse.authorizeLogin(
            LoginRequest(identity: IdentityRef.parse("oidc:mallory")!, groups: ["<script>alert(1)</script>"], verified: true), actor: "test"
        )
        let cookie = "\(f.gate.cookies.session)=\(root)"
        try await Self.app(f).test(.router) { client in
            let person = try await Self.get(client, "/console/people/oidc:mallory", cookie: cookie)
            #expect(person.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !person.body.contains("<script>"))
            let search = try await Self.get(client, "/console/people?q=%22%3E%3Cscript%3Ex%3C%2Fscript%3E", cookie: cookie)
            #expect(search.status == .ok && !search.body.contains("<script>") && search.body.contains("&quot;&gt;&lt;script&gt;"))
            let overview = try await Self.get(client, "/console", cookie: cookie)
            #expect(overview.body.contains("Acme &quot;Evil&quot; &lt;b&gt;Corp&lt;/b&gt;") && !overview.body.contains("<b>Corp"))
        }
    }

    /// Terms that break three of the vendor's rules at once: a term under a year, a value under
    /// 50,000 USD, a currency other than USD.
    static func badTerms(now: Date) -> LicenseTerms {
        var terms = TestVendor.terms(
            id: "lic_bad", seats: 10, price: 10_000, starts: UTC.format(now.addingTimeInterval(-86_400)),
            expires: UTC.format(now.addingTimeInterval(100 * 86_400)))
        terms.currency = "EUR"
        return terms
    }

    @Test("License: a refused file shows every reason and changes nothing; a good one is installed as the admin")
    func license() async throws {
        let f = try await Self.fixture()
        let root = try await f.signIn("oidc:root")
        let cookie = "\(f.gate.cookies.session)=\(root)"
        let bad = f.vendor.signUnchecked(Self.badTerms(now: f.clock.now))
        var good = TestVendor.terms(
            id: "lic_acme_2027", seats: 300, price: TestVendor.price(seats: 300), starts: UTC.format(f.clock.now.addingTimeInterval(-3600)),
            expires: UTC.format(f.clock.now.addingTimeInterval(400 * 86_400)))
        good.licensee = "Acme Corp"
        let goodText = f.vendor.signUnchecked(good)
        @Sendable func encoded(_ text: String) -> String {
            text.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        }
        try await Self.app(f).test(.router) { client in
            let csrf = try #require(try await Self.get(client, "/console/license", cookie: cookie).csrf)
            let head = try await f.gatehouse.auditEntries(AuditQuery(limit: 1)).last?.seq
            // A browser's textarea sends CRLF line ends.
            let refused = try await Self.post(
                client, "/console/license", cookie: cookie,
                form: "csrf=\(csrf)&license=" + encoded(bad.replacingOccurrences(of: "\n", with: "\r\n")))
            #expect(refused.status == .unprocessableContent)
            let reasons = refused.body.firstMatch(of: /<ul><li>(.*?)<\/ul>/)?.1.components(separatedBy: "<li>") ?? []
            #expect(reasons.count >= 3, "\(refused.body)")
            #expect(refused.body.contains("365") && refused.body.contains("50,000") && refused.body.contains("USD"))
            #expect(try await f.gatehouse.auditEntries(AuditQuery(limit: 1)).last?.seq == head)
            #expect(try await f.gatehouse.licenseStatus().license?.licenseID == "lic_acme_2026")
            let installed = try await Self.post(
                client, "/console/license", cookie: cookie,
                form: "csrf=\(csrf)&license=" + encoded(goodText.replacingOccurrences(of: "\n", with: "\r\n")))
            #expect(installed.status == .seeOther && installed.location == "/console/license?done=license-installed")
            let page = try await Self.get(client, installed.location ?? "", cookie: cookie)
            #expect(page.body.contains("The license was installed") && page.body.contains("lic_acme_2027"))
        }
        #expect(try await f.gatehouse.licenseStatus().license?.licenseID == "lic_acme_2027")
        #expect(try await f.gatehouse.auditEntries(AuditQuery(action: "license.install")).last?.actor == "console:oidc:root")
    }

    @Test("Audit: filtered, exported, and a row edited by hand shows the chain broken at that entry")
    func audit() async throws {
        let f = try await Self.fixture()
        let root = try await f.signIn("oidc:root")
        let cookie = "\(f.gate.cookies.session)=\(root)"
        try await Self.app(f).test(.router) { client in
            let intact = try await Self.get(client, "/console/audit?verify=1", cookie: cookie)
            #expect(intact.body.contains("The chain is intact"))
            let filtered = try await Self.get(client, "/console/audit?action=policy.apply", cookie: cookie)
            #expect(filtered.body.contains("1 entries") && filtered.body.contains("format=csv&amp;action=policy.apply"))
            let csv = try await client.execute(
                uri: "/console/audit/export?format=csv&action=policy.apply", method: .get, headers: [.cookie: cookie, .accept: "text/html"]
            ) { $0 }
            #expect(csv.headers[.contentType] == "text/csv; charset=utf-8")
            #expect(String(buffer: csv.body).hasPrefix(AuditEntry.csvHeader + "\r\n"))
            #expect(String(buffer: csv.body).split(separator: "\r\n").count == 2)
            let bad = try await Self.get(client, "/console/audit?since=yesterday", cookie: cookie)
            #expect(bad.status == .badRequest && bad.body.contains("YYYY-MM-DD"))

            let queue = try DatabaseQueue(path: f.dir.file("gatehouse.db"))
            try await queue.write { try $0.execute(sql: "UPDATE audit_log SET actor = 'cli:someone-else' WHERE seq = 2") }
            let broken = try await Self.get(client, "/console/audit?verify=1", cookie: cookie)
            #expect(broken.body.contains("The chain is broken at entry 2"))
        }
    }

    @Test("Policies: a set with a mistake shows file and line and applies nothing; a good one shows its changes and applies")
    func policies() async throws {
        let f = try await Self.fixture()
        let root = try await f.signIn("oidc:root")
        let cookie = "\(f.gate.cookies.session)=\(root)"
        @Sendable func encoded(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! }
        try await Self.app(f).test(.router) { client in
            let page = try await Self.get(client, "/console/policies", cookie: cookie)
            #expect(page.body.contains("admins: [&quot;oidc:root&quot;]"))
            let csrf = try #require(page.csrf)
            let before = try await f.gatehouse.policySetInForce()?.sha256
            let login = "login:\r\n  admins: [\"oidc:root\"]\r\n  deny: [\"oidc:mallory\"]\r\n"
            let broken = try await Self.post(
                client, "/console/policies", cookie: cookie,
                form: "csrf=\(csrf)&do=apply&login.yml=\(encoded(login))&seats.yml=\(encoded("seats:\n  overage_percent: lots\n"))")
            #expect(broken.status == .unprocessableContent)
            #expect(broken.body.contains("seats.yml: line 2: seats.overage_percent"), "\(broken.body)")
            #expect(try await f.gatehouse.policySetInForce()?.sha256 == before)
            let checked = try await Self.post(
                client, "/console/policies", cookie: cookie, form: "csrf=\(csrf)&do=check&login.yml=\(encoded(login))")
            #expect(checked.status == .ok && checked.body.contains("The set is valid"))
            #expect(checked.body.contains("<span class=\"added\">+   deny: [&quot;oidc:mallory&quot;]</span>"))
            #expect(try await f.gatehouse.policySetInForce()?.sha256 == before)
            let applied = try await Self.post(
                client, "/console/policies", cookie: cookie, form: "csrf=\(csrf)&do=apply&login.yml=\(encoded(login))")
            #expect(applied.status == .seeOther && applied.location == "/console/policies?done=policy-applied")
        }
        let inForce = try await f.gatehouse.policySetInForce()
        #expect(inForce?.files["login.yml"]?.contains("\r") == false && inForce?.appliedBy == "console:oidc:root")
        let refused = try await f.gatehouse.authorizeLogin(LoginRequest(identity: IdentityRef.parse("oidc:mallory")!), actor: "test")
        #expect(!refused.allow)
    }

    @Test("Reports, egress and directory pages: the compliance report in three formats, a URL checked, a directory that is not there")
    func reportsEgressDirectory() async throws {
        let f = try await Self.fixture()
        let root = try await f.signIn("oidc:root")
        let carol = try await f.signIn("oidc:carol")
        _ = try await f.gatehouse.authorizeLogin(
            LoginRequest(identity: IdentityRef.parse("oidc:carol")!, groups: ["auditors"], verified: true), actor: "test")
        let cookie = "\(f.gate.cookies.session)=\(root)"
        try await Self.app(f).test(.router) { client in
            let html = try await client.execute(
                uri: "/console/reports/compliance?format=html", method: .get, headers: [.cookie: cookie, .accept: "text/html"]
            ) { $0 }
            #expect(html.status == .ok && html.headers[.contentType] == "text/html; charset=utf-8")
            #expect(html.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true)
            #expect(String(buffer: html.body).contains("<svg"))
            let csv = try await client.execute(
                uri: "/console/reports/compliance?format=csv", method: .get, headers: [.cookie: cookie, .accept: "text/html"]
            ) { $0 }
            #expect(csv.status == .ok && csv.headers[.contentType] == "text/csv; charset=utf-8")
            let bad = try await Self.get(client, "/console/reports/compliance?as_of=soon", cookie: cookie)
            #expect(bad.status == .badRequest)
            let usage = try await client.execute(
                uri: "/console/reports/usage", method: .get, headers: [.cookie: cookie, .accept: "text/html"]
            ) { $0 }
            #expect(usage.status == .ok && String(buffer: usage.body).contains("gatehouse-usage/1"))

            let egress = try await Self.get(client, "/console/egress", cookie: "\(f.gate.cookies.session)=\(carol)")
            let token = try #require(egress.csrf)
            let checked = try await Self.post(
                client, "/console/egress", cookie: "\(f.gate.cookies.session)=\(carol)",
                form: "csrf=\(token)&url=https%3A%2F%2Flocalhost%2F")
            #expect(
                checked.status == .ok && checked.body.contains("Refused: localhost:443 (destination_not_allowed): no rule allows localhost")
            )
            let listed = try await Self.get(client, "/console/egress", cookie: cookie)
            #expect(listed.body.contains("localhost:443"))

            let directory = try await Self.get(client, "/console/directory", cookie: cookie)
            #expect(directory.body.contains("No directory is configured"))
            let rootToken = try #require(listed.csrf)
            let sync = try await Self.post(client, "/console/directory", cookie: cookie, form: "csrf=\(rootToken)&do=sync")
            #expect(sync.status == .conflict && sync.body.contains("no directory is configured"))
        }
    }

    @Test("A person's accounts and sessions: link, unlink and end a session, each confirmed when it takes access away")
    func identitiesAndSessions() async throws {
        let f = try await Self.fixture()
        let root = try await f.signIn("oidc:root")
        let alice = try await f.signIn("oidc:alice")
        let cookie = "\(f.gate.cookies.session)=\(root)"
        try await Self.app(f).test(.router) { client in
            let page = try await Self.get(client, "/console/people/oidc:alice", cookie: cookie)
            let csrf = try #require(page.csrf)
            let session = try #require(page.body.firstMatch(of: /name="session" value="(s_[a-z0-9]+)"/)).1
            let path = "/console/people/oidc:alice"
            let linked = try await Self.post(
                client, path + "/identities", cookie: cookie, form: "csrf=\(csrf)&do=link&identity=github%3Aalice")
            #expect(linked.status == .seeOther)
            #expect(try await f.gatehouse.user("github:alice").person.id == f.gatehouse.user("oidc:alice").person.id)
            let bad = try await Self.post(
                client, path + "/identities", cookie: cookie, form: "csrf=\(csrf)&do=link&identity=not-an-account")
            #expect(bad.status == .badRequest && bad.body.contains("is not provider:username"))
            let ask = try await Self.post(
                client, path + "/identities", cookie: cookie, form: "csrf=\(csrf)&do=unlink&identity=github%3Aalice")
            #expect(ask.status == .ok && ask.body.contains("name=\"identity\" value=\"github:alice\""))
            let unlinked = try await Self.post(
                client, path + "/identities", cookie: cookie, form: "csrf=\(csrf)&do=unlink&identity=github%3Aalice&confirm=yes")
            #expect(unlinked.status == .seeOther)
            // The account is no longer alice's; its next sign-in makes a person of its own.
            await #expect(throws: GatehouseError.self) { try await f.gatehouse.user("github:alice") }
            #expect(try await f.gatehouse.user("oidc:alice").identities.map(\.ref.description) == ["oidc:alice"])
            // Another person's page cannot end alice's session.
            let elsewhere = try await Self.post(
                client, "/console/people/oidc:root/sessions", cookie: cookie, form: "csrf=\(csrf)&session=\(session)&confirm=yes")
            #expect(elsewhere.status == .notFound)
            let ended = try await Self.post(client, path + "/sessions", cookie: cookie, form: "csrf=\(csrf)&session=\(session)&confirm=yes")
            #expect(ended.status == .seeOther)
        }
        #expect(try await f.gatehouse.sessionHolder(cookieHeader: "\(f.gate.cookies.session)=\(alice)") == nil)
        let ends = try await f.gatehouse.auditEntries(AuditQuery(action: "session.end"))
        #expect(ends.last?.actor == "console:oidc:root")
        try await expectMemoryFollowsWrites(f.gatehouse)
    }

    @Test("Seats: figures, the true-up and a quote for more seats; a bad quote says why")
    func seats() async throws {
        let f = try await Self.fixture()
        let root = try await f.signIn("oidc:root")
        let cookie = "\(f.gate.cookies.session)=\(root)"
        try await Self.app(f).test(.router) { client in
            let page = try await Self.get(client, "/console/seats", cookie: cookie)
            #expect(page.status == .ok && page.body.contains("no true-up needed") && page.body.contains("<svg class=\"chart\""))
            let quote = try await Self.get(client, "/console/seats?add=10", cookie: cookie)
            #expect(quote.body.contains("10 seats added on") && quote.body.contains("rounded half to even"))
            let bad = try await Self.get(client, "/console/seats?add=lots", cookie: cookie)
            #expect(bad.status == .ok && bad.body.contains("a whole number from 1 to 1,000,000"))
        }
    }

    @Test("People: searched and paged on the server")
    func peoplePages() async throws {
        let f = try await Self.fixture()
        for i in 0..<120 { _ = try await f.gatehouse.activateSeat(user: "github:user\(String(format: "%03d", i))", actor: "test") }
        let first = try await f.gatehouse.peoplePage(search: nil, seat: .active, page: 1)
        #expect(first.total == 120 && first.pages == 3 && first.people.count == 50)
        let last = try await f.gatehouse.peoplePage(search: nil, seat: .active, page: 3)
        #expect(last.people.count == 20 && last.people.last?.identities == ["github:user119"])
        #expect(try await f.gatehouse.peoplePage(search: "USER07", seat: nil, page: 1).total == 10)
        #expect(try await f.gatehouse.peoplePage(search: "github:user100", seat: nil, page: 9).page == 1)
        // A change shows at once (the cached name order is remade).
        _ = try await f.gatehouse.deactivateSeat(user: "github:user007", actor: "test")
        #expect(try await f.gatehouse.peoplePage(search: nil, seat: .active, page: 1).total == 119)
        #expect(try await f.gatehouse.peoplePage(search: "user007", seat: SeatState.none, page: 1).total == 1)
        let root = try await f.signIn("oidc:root")
        try await Self.app(f).test(.router) { client in
            let page = try await Self.get(client, "/console/people?seat=active&page=2", cookie: "\(f.gate.cookies.session)=\(root)")
            #expect(page.body.contains("page 2 of 3"))
            #expect(page.body.contains("href=\"/console/people?page=3&amp;seat=active\""))
        }
    }
}

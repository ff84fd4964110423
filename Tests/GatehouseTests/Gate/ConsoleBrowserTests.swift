import Foundation
import GRDB
import GatehouseDomain
import GatehouseHTTP
import GatehouseService
import GatehouseStorage
import Hummingbird
import Logging
import NIOHTTP1
import Testing

extension ProcessHeavySuites {
    /// The console in real headless Chromium over WebDriver: signed in with a one-time link,
    /// every page walked, a seat taken away through the confirmation, keyboard-free of script.
    /// Screenshots of every page go to .build/test-artifacts/console/ to be looked at.
    @Suite("The admin console in a real browser")
    struct ConsoleBrowserTests {
        static let artifacts = repositoryRoot + "/.build/test-artifacts/console"

        /// A console on a free loopback port (the gate's public URL is its own address), with a
        /// license, an admin (github:root) and four seat holders.
        struct Console {
            let dir: TempDir
            let port: Int
            let gatehouse: Gatehouse
            let vendor: TestVendor
            let clock: TestClock
            let server: Task<Void, any Error>
            var base: String { "http://127.0.0.1:\(port)" }
        }

        static func console() async throws -> Console {
            let dir = try TempDir()
            let port = try freeLoopbackPort()
            let config = try GatehouseConfiguration.load(
                path: try dir.write("gatehouse.yml", "gate:\n  public_url: http://127.0.0.1:\(port)\n"), environment: [:])
            let vendor = TestVendor()
            let clock = TestClock(Date())
            let gatehouse = try await vendor.gatehouse(in: dir, clock: clock, gate: config.gate)
            let now = clock.now
            var terms = TestVendor.terms(
                seats: 50, price: TestVendor.price(seats: 50), starts: UTC.format(now.addingTimeInterval(-30 * 86_400)),
                expires: UTC.format(now.addingTimeInterval(335 * 86_400)))
            terms.licensee = "Acme Corp"
            _ = try await gatehouse.installLicense(text: vendor.signUnchecked(terms), actor: "test")
            try FileManager.default.createDirectory(atPath: dir.file("policies"), withIntermediateDirectories: true)
            _ = try dir.write("policies/login.yml", "login:\n  admins: [\"github:root\"]\n")
            _ = try await gatehouse.applyPolicies(directory: dir.file("policies"), actor: "test")
            for name in ["alice", "bob", "carol", "dave"] { _ = try await gatehouse.activateSeat(user: "github:\(name)", actor: "test") }
            try await gatehouse.refresh()

            var logger = Logger(label: "console")
            logger.logLevel = .error
            let app = Application(
                router: buildRouter(gatehouse: gatehouse, metrics: GatehouseMetrics()),
                configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
            let server = Task { try await app.run() }
            try waitForPort(port)
            return Console(dir: dir, port: port, gatehouse: gatehouse, vendor: vendor, clock: clock, server: server)
        }

        /// axe-core, as axe-selenium-python (PyPI, in .venv-test) bundles it.
        static func axeSource() throws -> String {
            let lib = repositoryRoot + "/.venv-test/lib"
            for python in (try? FileManager.default.contentsOfDirectory(atPath: lib)) ?? [] {
                let path = "\(lib)/\(python)/site-packages/axe_selenium_python/node_modules/axe-core/axe.min.js"
                if let text = try? String(contentsOfFile: path, encoding: .utf8) { return text }
            }
            throw MissingProgram(
                message: "axe-core is missing: run `make test-deps` (installs axe-selenium-python from PyPI into .venv-test)")
        }

        /// The serious and critical accessibility violations axe-core finds on the page shown.
        static func violations(_ browser: Browser, axe: String) async throws -> [String] {
            let script =
                axe + """
                    ;var done = arguments[arguments.length - 1];
                    axe.run(document).then(function (r) {
                      done(r.violations.filter(function (v) { return v.impact === "serious" || v.impact === "critical"; })
                        .map(function (v) { return v.id + " (" + v.impact + "): " + v.help + " — " + v.nodes.map(function (n) { return n.html; }).join(" | "); }));
                    }, function (e) { done(["axe failed: " + e]); });
                    """
            let answer = try await Browser.call(.POST, browser.base + "/execute/async", ["script": .string(script), "args": []])
            guard case .array(let items) = answer else { return ["axe gave no answer: \(answer)"] }
            return items.map(\.string)
        }

        /// Runs a script in the page; its string result.
        @discardableResult
        static func script(_ browser: Browser, _ source: String) async throws -> String {
            (try await Browser.call(.POST, browser.base + "/execute/sync", ["script": .string(source), "args": []])).string
        }

        @Test("Accessibility: no serious or critical axe-core violation on any page; the forms work from the keyboard")
        func accessibility() async throws {
            let axe = try Self.axeSource()
            let c = try await Self.console()
            defer { c.server.cancel() }
            let browser = try await Browser(in: c.dir)
            defer { Task { await browser.quit() } }
            let (link, _) = try await c.gatehouse.consoleSignInLink(user: "github:root", actor: "test")
            try await browser.go(link)
            #expect(try await Self.violations(browser, axe: axe) == [], "the link page")
            // Keyboard: the focused button is pressed with Enter.
            try await Browser.call(
                .POST, browser.base + "/element/\(try await browser.element("button[type=submit]"))/value", ["text": "\u{E007}"])
            #expect(try await browser.waitForText("Overview"))
            let alice = try await c.gatehouse.user("github:alice").person.id
            for path in [
                "/console", "/console/people", "/console/people/\(alice)", "/console/seats", "/console/seats?add=10",
                "/console/seat-requests", "/console/license", "/console/policies",
                "/console/audit", "/console/reports", "/console/egress", "/console/directory",
            ] {
                try await browser.go(c.base + path)
                #expect(try await Self.violations(browser, axe: axe) == [], "\(path)")
            }
            // Every control of every page is reached with Tab, in order, and nothing is narrower
            // than a phone (390 px): no sideways scrolling.
            let controls = "a[href], button, input:not([type=hidden]), select, textarea"
            for path in [
                "/console", "/console/people", "/console/people/\(alice)", "/console/seats", "/console/license", "/console/policies",
                "/console/audit", "/console/egress", "/console/directory",
            ] {
                try await browser.go(c.base + path)
                let count = Int(try await Self.script(browser, "return String(document.querySelectorAll('\(controls)').length);")) ?? 0
                #expect(count > 0, "\(path)")
                var focused = Set<String>()
                try await Self.script(browser, "document.body.focus(); return '';")
                // A date field takes several Tabs (day, month, year): press on until every control was reached.
                for _ in 0..<(count * 4) where focused.subtracting(["-1"]).count < count {
                    try await Browser.call(
                        .POST, browser.base + "/actions",
                        [
                            "actions": [
                                [
                                    "type": "key", "id": "keyboard",
                                    "actions": [["type": "keyDown", "value": "\u{E004}"], ["type": "keyUp", "value": "\u{E004}"]],
                                ]
                            ]
                        ])
                    focused.insert(
                        try await Self.script(
                            browser,
                            "var all = Array.from(document.querySelectorAll('\(controls)')); return String(all.indexOf(document.activeElement));"
                        ))
                }
                #expect(focused.subtracting(["-1"]).count == count, "\(path): Tab reached \(focused.count) of \(count) controls")
            }
            try await Browser.call(.POST, browser.base + "/window/rect", ["width": 390, "height": 844])
            for path in ["/console", "/console/people", "/console/people/\(alice)", "/console/license"] {
                try await browser.go(c.base + path)
                let fits = try await Self.script(browser, "return String(document.documentElement.scrollWidth <= window.innerWidth);")
                #expect(fits == "true", "\(path) scrolls sideways on a phone")
            }
            try await browser.go(c.base + "/console")
            try await browser.screenshot(to: Self.artifacts + "/phone-overview.png")
            try await Browser.call(.POST, browser.base + "/window/rect", ["width": 1200, "height": 900])

            // Search by typing and Enter; then Tab from the search field reaches the next control.
            try await browser.go(c.base + "/console/people")
            try await browser.type("#q", "bob\u{E007}")
            #expect(try await browser.waitForText("1 person"))
            try await browser.type("#q", "\u{E004}")
            let active = try await Browser.call(.GET, browser.base + "/element/active")
            guard case .object(let fields) = active, let id = fields.values.first?.string else {
                Issue.record("no focused element")
                return
            }
            #expect((try await Browser.call(.GET, browser.base + "/element/\(id)/name")).string == "select")
        }

        @Test("Sign in with the link, walk the pages, take a seat away with confirmation")
        func walk() async throws {
            let c = try await Self.console()
            defer { c.server.cancel() }
            let (dir, port, gatehouse, vendor, clock) = (c.dir, c.port, c.gatehouse, c.vendor, c.clock)
            let browser = try await Browser(in: dir)
            defer { Task { await browser.quit() } }
            let (link, _) = try await gatehouse.consoleSignInLink(user: "github:root", actor: "test")
            try await Browser.call(.POST, browser.base + "/window/rect", ["width": 1200, "height": 900])
            try await browser.go(link)
            try await browser.screenshot(to: Self.artifacts + "/1-link.png")
            try await browser.click("button[type=submit]")
            #expect(try await browser.waitForText("Overview"))
            let overview = try await browser.text
            #expect(overview.contains("5 of 50 seats in use"))
            #expect(overview.contains("Acme Corp"))
            try await browser.screenshot(to: Self.artifacts + "/2-overview.png")

            try await browser.go("http://127.0.0.1:\(port)/console/people")
            try await browser.type("#q", "alice")
            try await browser.click("form.search button")
            #expect(try await browser.waitForText("1 person"))
            try await browser.screenshot(to: Self.artifacts + "/3-people.png")
            try await browser.click("tbody a")
            #expect(try await browser.waitForText("github:alice"))
            try await browser.screenshot(to: Self.artifacts + "/4-person.png")
            try await browser.click("button.danger")  // the first: take the seat away
            #expect(try await browser.waitForText("Take the seat away?"))
            #expect(try await browser.text.contains("alice (github:alice) loses their Codecov seat now"))
            try await browser.screenshot(to: Self.artifacts + "/5-confirm.png")
            try await browser.click("button.danger")
            #expect(try await browser.waitForText("The seat was taken away."))
            try await browser.screenshot(to: Self.artifacts + "/6-done.png")
            #expect(try await gatehouse.user("github:alice").person.seat == SeatState.none)
            // Give it back, then block her (asked first).
            try await browser.click("form[action$='/seat'] button")
            #expect(try await browser.waitForText("The seat was given."))
            #expect(try await gatehouse.user("github:alice").person.seat == .active)
            try await browser.click("form[action$='/block'] button")
            #expect(try await browser.waitForText("Block this person?"))
            try await browser.click("button.danger")
            #expect(try await browser.waitForText("Blocked: the seat is released."))
            #expect(try await gatehouse.user("github:alice").person.status == .blocked)
            try await browser.go("http://127.0.0.1:\(port)/console/seats?add=10")
            #expect(try await browser.waitForText("10 seats added on"))
            try await browser.screenshot(to: Self.artifacts + "/6b-seats.png")
            let taken = try await gatehouse.auditEntries(AuditQuery(action: "seat.deactivate"))
            #expect(taken.last?.actor == "console:github:root")

            try await browser.go("http://127.0.0.1:\(port)/console/seat-requests")
            #expect(try await browser.waitForText("Nobody is waiting for a seat."))
            try await browser.screenshot(to: Self.artifacts + "/7-seat-requests.png")

            // A license that breaks three rules: all three reasons, on the page.
            try await browser.go("http://127.0.0.1:\(port)/console/license")
            try await browser.screenshot(to: Self.artifacts + "/8-license.png")
            try await browser.type("#license-text", vendor.signUnchecked(ConsoleTests.badTerms(now: clock.now)))
            try await browser.click("form[action='/console/license'] button")
            #expect(try await browser.waitForText("The license was refused"))
            let refusal = try await browser.text
            #expect(refusal.contains("365") && refusal.contains("50,000") && refusal.contains("USD"), "\(refusal)")
            try await browser.screenshot(to: Self.artifacts + "/9-license-refused.png")
            #expect(try await gatehouse.licenseStatus().license?.licenseID == "lic_acme_2026")

            // The audit log, edited by hand: the console says where the chain breaks.
            let queue = try DatabaseQueue(path: dir.file("gatehouse.db"))
            try await queue.write { try $0.execute(sql: "UPDATE audit_log SET subject = 'edited' WHERE seq = 3") }
            try await browser.go("http://127.0.0.1:\(port)/console/audit")
            try await browser.click("a[href='/console/audit?verify=1']")
            #expect(try await browser.waitForText("The chain is broken at entry 3"))
            try await browser.screenshot(to: Self.artifacts + "/10-audit-broken.png")

            // A policy set with a mistake: the file and the line.
            try await browser.go("http://127.0.0.1:\(port)/console/policies")
            try await Browser.call(.POST, browser.base + "/element/\(try await browser.element("#file-seats\\.yml"))/clear")
            try await browser.type("#file-seats\\.yml", "seats:\n  auto_activate: maybe\n")
            try await browser.click("button[value=apply]")
            #expect(try await browser.waitForText("seats.yml: line 2"))
            try await browser.screenshot(to: Self.artifacts + "/11-policies-problem.png")
            #expect(try await gatehouse.policySetInForce()?.files["seats.yml"] == nil)

            for (name, path, text) in [
                ("12-reports", "/console/reports", "Compliance"), ("13-egress", "/console/egress", "Check a URL"),
                ("14-directory", "/console/directory", "No directory is configured"),
            ] {
                try await browser.go("http://127.0.0.1:\(port)\(path)")
                #expect(try await browser.waitForText(text))
                try await browser.screenshot(to: Self.artifacts + "/\(name).png")
            }
            try await browser.go("http://127.0.0.1:\(port)/console/reports/compliance?format=html")
            #expect(try await browser.waitForText("Acme Corp"))
            try await browser.screenshot(to: Self.artifacts + "/15-compliance.png")
        }
    }
}

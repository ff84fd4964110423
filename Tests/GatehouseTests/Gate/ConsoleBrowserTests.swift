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

        @Test("Sign in with the link, walk the pages, take a seat away with confirmation")
        func walk() async throws {
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
            defer { server.cancel() }
            try waitForPort(port)

            let browser = try await Browser(in: dir)
            defer { Task { await browser.quit() } }
            let (link, _) = try await gatehouse.consoleSignInLink(user: "github:root", actor: "test")
            try await Browser.call(.POST, browser.base + "/window/rect", ["width": 1200, "height": 900])
            try await browser.go(link)
            try await browser.screenshot(to: Self.artifacts + "/1-link.png")
            try await browser.click("button[type=submit]")
            #expect(try await browser.waitForText("Overview"))
            let overview = try await browser.text
            #expect(overview.contains("5 of 50 seats in use") || overview.contains("of 50 seats in use"))
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
        }
    }
}

import Foundation
import GRDB
import GatehouseDomain
import GatehouseHTTP
import GatehouseService
import GatehouseStorage
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@Suite("Compliance report", .serialized)
struct ComplianceReportTests {
    /// A history seeded through the public operations on chosen days.
    func history() async throws -> (TempDir, Gatehouse, TestClock, [String: String]) {
        let clock = TestClock(ts("2026-11-02T10:00:00Z"))
        let (dir, gatehouse, _) = try await gatehouseWithLicense(
            policy: ["login.yml": "login:\n  admins: [\"github:root\"]\n  deny: [\"github:mallory\"]\n"], clock: clock)
        let firstPolicy = try await gatehouse.policyInForce()["sha256"]
        _ = try await gatehouse.activateSeat(user: "github:alice", actor: "cli:admin")
        try await expectMemoryFollowsWrites(gatehouse)
        _ = try await gatehouse.activateSeat(user: "github:bob", actor: "cli:admin")
        try await expectMemoryFollowsWrites(gatehouse)
        clock.set(ts("2026-11-04T09:00:00Z"))
        _ = try await gatehouse.deactivateSeat(user: "github:alice", actor: "cli:admin")
        try await expectMemoryFollowsWrites(gatehouse)
        _ = try await gatehouse.activateSeat(user: "github:carol", actor: "cli:admin")
        try await expectMemoryFollowsWrites(gatehouse)
        _ = try await gatehouse.authorizeLogin(login("github:mallory"), actor: "t")
        try await expectMemoryFollowsWrites(gatehouse)
        let policies = dir.file("policies2")
        try FileManager.default.createDirectory(atPath: policies, withIntermediateDirectories: true)
        try "login:\n  admins: [\"github:carol\"]\n".write(toFile: policies + "/login.yml", atomically: true, encoding: .utf8)
        _ = try await gatehouse.applyPolicies(directory: policies, actor: "cli:admin")
        try await expectMemoryFollowsWrites(gatehouse)
        let secondPolicy = try await gatehouse.policyInForce()["sha256"]
        clock.set(ts("2026-11-06T12:00:00Z"))
        _ = try await gatehouse.setBlocked("github:bob", blocked: true, actor: "cli:admin")
        try await expectMemoryFollowsWrites(gatehouse)
        guard case .string(let a)? = firstPolicy, case .string(let b)? = secondPolicy else { throw CocoaError(.coderValueNotFound) }
        return (dir, gatehouse, clock, ["first": a, "second": b])
    }

    func holders(_ report: ComplianceReport) -> Set<String> { Set(report.holders.flatMap(\.identities)) }

    @Test func asOfMatchesTheRecordedHistory() async throws {
        let (_, gatehouse, _, policy) = try await history()
        let day2 = try await gatehouse.complianceReport(asOf: day("2026-11-02"))
        #expect(holders(day2) == ["github:alice", "github:bob"])
        #expect(day2.activeSeats == 2)
        #expect(day2.policy?.sha256 == policy["first"])
        #expect(day2.admins == ["github:root"])
        #expect(day2.denials.isEmpty)
        #expect(day2.licenseState == .valid)

        let day4 = try await gatehouse.complianceReport(asOf: day("2026-11-04"))
        #expect(holders(day4) == ["github:bob", "github:carol"])
        #expect(day4.policy?.sha256 == policy["second"])
        #expect(day4.admins == ["github:carol"])
        #expect(day4.denials == ["login/denied_by_policy": 1])
        #expect(day4.peak == 2)

        let now = try await gatehouse.complianceReport(asOf: nil)
        #expect(holders(now) == ["github:carol"])
        #expect(now.daily.map(\.peak) == [0, 2, 2, 2, 2, 2])  // 11-01 … 11-06
        #expect(now.daily.map(\.end) == [0, 2, 2, 2, 2, 1])
        #expect(now.audit.ok)
        let json = now.json
        #expect(json["license"]?["license_id"] == "lic_acme_2026")
        #expect(json["seat_usage"]?["peak_in_term"] == 2)
    }

    @Test func theChartSpansTheTermAndShowsTheFirstDay() async throws {
        let clock = TestClock(ts("2026-11-01T10:00:00Z"))
        let (_, gatehouse, _) = try await gatehouseWithLicense(clock: clock)
        _ = try await gatehouse.activateSeat(user: "github:alice", actor: "cli:admin")
        try await expectMemoryFollowsWrites(gatehouse)
        // The term's first day: one point, drawn as a dot; the axis runs to the term's last day.
        let first = try await gatehouse.complianceReport(asOf: nil)
        #expect(first.daily.count == 1)
        #expect(first.chart.contains("<circle class=\"in-use-latest\" cx=\"50.0\""), "\(first.chart)")
        #expect(first.chart.contains(">2026-11-01</text>") && first.chart.contains(">2027-10-31</text>"))
        #expect(!first.chart.contains("<polyline"))
        // Half way through: a line from the left edge to the middle, not to the right edge.
        clock.set(ts("2027-05-02T10:00:00Z"))
        let middle = try await gatehouse.complianceReport(asOf: nil)
        let polyline = try #require(middle.chart.firstMatch(of: /<polyline class="in-use" points="([^"]*)"/)?.1)
        let xs = polyline.split(separator: " ").compactMap { Double($0.split(separator: ",")[0]) }
        #expect(xs.first == 50 && (410...420).contains(xs.last ?? 0), "\(xs.suffix(3))")
        #expect(middle.chart.contains(">2027-05-02</text>") && middle.chart.contains(">2027-10-31</text>"))
    }

    @Test func tamperingShowsInTheReport() async throws {
        let (dir, gatehouse, _, _) = try await history()
        try await DatabaseQueue(path: dir.file("gatehouse.db")).write { try $0.execute(sql: "UPDATE audit_log SET actor = 'cli:nobody' WHERE seq = 5") }
        let report = try await gatehouse.complianceReport(asOf: nil)
        #expect(!report.audit.ok)
        #expect(report.audit.firstBroken == 5)
        #expect(report.html.contains("BROKEN at entry 5"))
        #expect(report.csv.contains("audit_chain,ok,false,broken at 5"))
    }

    @Test func htmlRendersInHeadlessChromium() async throws {
        let chromium = try requireProgram("chromium", package: "chromium")
        let (dir, gatehouse, _, _) = try await history()
        let html = try await gatehouse.complianceReport(asOf: nil).html
        // Self-contained: nothing to fetch.
        #expect(!html.contains("src=") && !html.contains("href=") && !html.contains("@import") && !html.contains("url("))
        let file = try dir.write("report.html", html)
        let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--user-data-dir=\(dir.file("chromium"))"]
        let dom = try run(chromium, flags + ["--dump-dom", "file://\(file)"], environment: ["HOME": dir.path, "PATH": "/usr/bin:/bin"])
        #expect(dom.status == 0, "\(dom.stderr.suffix(500))")
        #expect(dom.stdout.contains("<svg"))
        #expect(dom.stdout.contains("class=\"in-use\""))
        #expect(dom.stdout.contains("class=\"licensed\""))
        #expect(dom.stdout.components(separatedBy: "<table").count - 1 >= 6)
        #expect(dom.stdout.contains("github:carol"))
        let png = dir.file("report.png")
        let shot = try run(chromium, flags + ["--screenshot=\(png)", "--window-size=1200,1800", "file://\(file)"], environment: ["HOME": dir.path, "PATH": "/usr/bin:/bin"])
        #expect(shot.status == 0, "\(shot.stderr.suffix(500))")
        let size = (try? FileManager.default.attributesOfItem(atPath: png)[.size] as? Int) ?? 0
        #expect(size > 20_000, "screenshot is \(size) bytes")
    }

    @Test func overHTTP() async throws {
        let (_, gatehouse, _, _) = try await history()
        let reader = try await gatehouse.createToken(name: "auditor", scope: .read, actor: "test").secret
        try await expectMemoryFollowsWrites(gatehouse)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let app = Application(router: buildRouter(gatehouse: gatehouse, metrics: GatehouseMetrics()), logger: logger)
        try await app.test(.router) { client in
            let auth: HTTPFields = [.authorization: "Bearer \(reader)"]
            try await client.execute(uri: "/v1/reports/compliance?format=csv&as_of=2026-11-02", method: .get, headers: auth) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/csv; charset=utf-8")
                #expect(String(buffer: response.body).contains("seat_holder,"))
            }
            try await client.execute(uri: "/v1/reports/compliance?format=html", method: .get, headers: auth) { response in
                #expect(String(buffer: response.body).hasPrefix("<!DOCTYPE html>"))
            }
            try await client.execute(uri: "/v1/reports/compliance", method: .get, headers: auth) { response in
                #expect((try? JSONValue.parse(Array(response.body.readableBytesView)))?["audit_chain"]?["ok"] == true)
            }
            try await client.execute(uri: "/v1/reports/compliance?format=pdf", method: .get, headers: auth) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/v1/reports/compliance?as_of=yesterday", method: .get, headers: auth) { #expect($0.status == .badRequest) }
        }
    }
}

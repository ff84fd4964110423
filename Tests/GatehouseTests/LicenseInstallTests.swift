import Foundation
import GatehouseDomain
import GatehouseService
import GatehouseStorage
import Testing

@Suite("Installing licenses and amendments")
struct LicenseInstallTests {
    let vendor = TestVendor()

    @Test(arguments: Engine.allCases) func amendmentRecordsProration(engine: Engine) async throws {
        let dir = try TempDir()
        let clock = TestClock(ts("2027-05-01T10:00:00Z"))
        let gatehouse = try await vendor.gatehouse(in: dir, engine: engine, clock: clock)
        _ = try await gatehouse.installLicense(text: vendor.signUnchecked(TestVendor.terms()), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        let amendment = TestVendor.terms(id: "lic_acme_2026_a1", seats: 210, starts: "2027-05-01T00:00:00Z", supersedes: "lic_acme_2026")
        let report = try await gatehouse.installLicense(text: vendor.signUnchecked(amendment), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(report.status.license?.licenseID == "lic_acme_2026_a1")
        #expect(report.status.license?.seats == 210)
        #expect(report.status.license?.termStartsAt == ts("2026-11-01T00:00:00Z"))
        let prorations = try await gatehouse.store.prorations()
        #expect(prorations.count == 1)
        #expect(prorations[0].proration.addedSeats == 10)
        #expect(prorations[0].proration.termDays == 365)
        #expect(prorations[0].proration.remainingDays == 184)
        #expect(prorations[0].proration.amountCents == 126_027)
        let audit = try await gatehouse.auditEntries(AuditQuery(action: "license.install"))
        #expect(audit.count == 2)
        #expect(audit[1].details.contains("\"amount_cents\":126027"))
        // The quote for further seats uses the original term start.
        let quote = try await gatehouse.quote(add: 10, on: day("2027-05-01"))
        #expect(quote.proration.amountCents == 126_027)
    }

    @Test func aFileSavedOnWindowsIsStoredInItsOneCanonicalSpelling() async throws {
        let dir = try TempDir()
        let gatehouse = try await vendor.gatehouse(in: dir, clock: TestClock(ts("2026-11-10T00:00:00Z")))
        let text = vendor.signUnchecked(TestVendor.terms())
        _ = try await gatehouse.installLicense(text: "\u{FEFF}" + text.replacingOccurrences(of: "\n", with: "\r\n"), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(try await gatehouse.store.licenseInForce()?.fileText == text)
    }

    @Test(arguments: Engine.allCases) func badAmendmentsAreRefusedWithEveryReasonAndChangeNothing(engine: Engine) async throws {
        let dir = try TempDir()
        let clock = TestClock(ts("2027-05-01T10:00:00Z"))
        let gatehouse = try await vendor.gatehouse(in: dir, engine: engine, clock: clock)
        _ = try await gatehouse.installLicense(text: vendor.signUnchecked(TestVendor.terms()), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        let before = try await gatehouse.auditEntries(AuditQuery())
        var bad = TestVendor.terms(id: "lic_bad", seats: 190, price: 30_000, starts: "2027-05-01T00:00:00Z", expires: "2028-05-01T00:00:00Z", supersedes: "lic_other")
        bad.licensee = "Someone Else"
        let error = await #expect(throws: GatehouseError.self) {
            try await gatehouse.installLicense(text: vendor.signUnchecked(bad), actor: "test")
        }
        for fragment in ["supersedes", "licensee", "expiry", "not more than 200"] {
            #expect(error?.message.contains(fragment) == true, "\(fragment) missing from \(error?.message ?? "")")
        }
        #expect(try await gatehouse.auditEntries(AuditQuery()) == before)
        #expect(try await gatehouse.store.licenseInForce()?.licenseID == "lic_acme_2026")
        #expect(try await gatehouse.store.prorations().isEmpty)
    }

    @Test(arguments: Engine.allCases) func refusedInstallsChangeNothing(engine: Engine) async throws {
        let dir = try TempDir()
        let clock = TestClock(ts("2026-11-10T00:00:00Z"))
        let gatehouse = try await vendor.gatehouse(in: dir, engine: engine, clock: clock)
        let other = TestVendor()
        let cases: [(String, String)] = [
            ("garbage", "not a license"),
            ("other key", other.signUnchecked(TestVendor.terms())),
            ("too short", vendor.signUnchecked(TestVendor.terms(expires: "2027-06-01T00:00:00Z"))),
            ("expired", vendor.signUnchecked(TestVendor.terms(starts: "2024-01-01T00:00:00Z", expires: "2025-01-01T00:00:00Z"))),
            ("amends nothing", vendor.signUnchecked(TestVendor.terms(supersedes: "lic_x"))),
        ]
        for (name, text) in cases {
            await #expect(throws: GatehouseError.self, "\(name)") { try await gatehouse.installLicense(text: text, actor: "test") }
        }
        #expect(try await gatehouse.store.licenseInForce() == nil)
        #expect(try await gatehouse.auditEntries(AuditQuery()).map(\.action) == ["schema.migrate"])
        // Installing the same license twice is a conflict, not a second row.
        _ = try await gatehouse.installLicense(text: vendor.signUnchecked(TestVendor.terms()), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        let again = await #expect(throws: GatehouseError.self) {
            try await gatehouse.installLicense(text: vendor.signUnchecked(TestVendor.terms()), actor: "test")
        }
        #expect(again?.kind == .conflict)
    }

    @Test(arguments: Engine.allCases) func renewalReplacesAndFutureRenewalWaits(engine: Engine) async throws {
        let dir = try TempDir()
        let clock = TestClock(ts("2027-10-20T00:00:00Z"))
        let gatehouse = try await vendor.gatehouse(in: dir, engine: engine, clock: clock)
        _ = try await gatehouse.installLicense(text: vendor.signUnchecked(TestVendor.terms()), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        let renewal = vendor.signUnchecked(TestVendor.terms(id: "lic_acme_2027", starts: "2027-11-01T00:00:00Z", expires: "2028-11-01T00:00:00Z"))
        let early = await #expect(throws: GatehouseError.self) { try await gatehouse.installLicense(text: renewal, actor: "test") }
        #expect(early?.code == "license_not_yet_valid")
        clock.set(ts("2027-11-01T08:00:00Z"))
        let report = try await gatehouse.installLicense(text: renewal, actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(report.status.state == .valid)
        #expect(report.status.license?.licenseID == "lic_acme_2027")
    }
}

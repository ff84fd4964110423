import Foundation
import GatehouseDomain
import GatehouseStorage
import Testing

@testable import GatehouseService

@Suite("License states with an injected clock")
struct LicenseStateTests {
    let vendor = TestVendor()

    func evaluate(at now: String, latestSeen: String? = nil) -> LicenseEvaluation {
        let verification = LicenseVerifier.verify(vendor.signUnchecked(TestVendor.terms()), trusted: vendor.trusted, instanceHost: nil)
        return LicenseEvaluator.evaluate(verification, now: ts(now), latestSeen: latestSeen.map(ts))
    }

    @Test func timeWindow() {
        #expect(evaluate(at: "2026-10-31T23:59:59Z").state == .notYetValid)
        #expect(evaluate(at: "2026-11-01T00:00:00Z").state == .valid)
        #expect(evaluate(at: "2027-10-01T23:59:59Z").state == .valid)  // 31 days left
        #expect(evaluate(at: "2027-10-02T00:00:00Z").state == .expiring)  // 30 days left
        #expect(evaluate(at: "2027-10-02T00:00:00Z").daysLeft == 30)
        #expect(evaluate(at: "2027-10-31T23:59:59Z").daysLeft == 1)
        #expect(evaluate(at: "2027-11-01T00:00:00Z").state == .grace)
        #expect(evaluate(at: "2027-11-14T23:59:59Z").state == .grace)  // grace_days 14
        #expect(evaluate(at: "2027-11-15T00:00:00Z").state == .expired)
        #expect(evaluate(at: "2027-11-15T00:00:00Z").daysLeft == -14)
    }

    @Test func statesAllowSeatsAsDocumented() {
        #expect(LicenseState.grace.allowsExistingSeats && !LicenseState.grace.allowsNewSeats)
        #expect(LicenseState.expiring.allowsNewSeats)
        #expect(!LicenseState.clockTampered.allowsExistingSeats && !LicenseState.expired.allowsExistingSeats)
    }

    @Test func clockRollback() {
        // 23 h behind the latest time seen is tolerated; 25 h is tampering.
        #expect(evaluate(at: "2027-01-01T00:00:00Z", latestSeen: "2027-01-01T23:00:00Z").state == .valid)
        #expect(evaluate(at: "2027-01-01T00:00:00Z", latestSeen: "2027-01-02T01:00:00Z").state == .clockTampered)
    }

    @Test func missingAndInvalid() {
        #expect(LicenseEvaluator.evaluate(nil, now: ts("2027-01-01T00:00:00Z"), latestSeen: nil).state == .missing)
        let other = TestVendor()
        let bad = LicenseVerifier.verify(other.signUnchecked(TestVendor.terms()), trusted: vendor.trusted, instanceHost: nil)
        #expect(LicenseEvaluator.evaluate(bad, now: ts("2027-01-01T00:00:00Z"), latestSeen: nil).state == .invalid)
    }

    @Test func statusThroughTheServiceFollowsTheClockAndDetectsRollback() async throws {
        let dir = try TempDir()
        let clock = TestClock(ts("2026-11-10T09:00:00Z"))
        let gatehouse = try await vendor.gatehouse(in: dir, clock: clock)
        #expect(try await gatehouse.licenseStatus().state == .missing)
        _ = try await gatehouse.installLicense(text: vendor.signUnchecked(TestVendor.terms()), actor: "test")
        #expect(try await gatehouse.licenseStatus().state == .valid)
        // The server observes the clock as it runs (every minute; here at each step).
        let start = ContinuousClock.now
        func serverObserves() async throws {
            try await gatehouse.observeClock(wall: clock.now, at: start.advanced(by: .seconds(clock.now.timeIntervalSince(ts("2026-11-10T09:00:00Z")))))
        }
        try await serverObserves()
        clock.set(ts("2027-10-20T00:00:00Z"))
        try await serverObserves()
        let expiring = try await gatehouse.licenseStatus()
        #expect(expiring.state == .expiring)
        #expect(expiring.daysLeft == 12)
        #expect(expiring.warnings.contains { $0.contains("expires in 12 days") })
        clock.set(ts("2027-11-05T00:00:00Z"))
        try await serverObserves()
        #expect(try await gatehouse.licenseStatus().state == .grace)
        // Someone sets the clock back a month to stretch the license: detected, persisted.
        clock.set(ts("2027-10-05T00:00:00Z"))
        #expect(try await gatehouse.licenseStatus().state == .clockTampered)
        // A new process (new service over the same database) still sees it.
        let again = Gatehouse(store: try SQLStore.sqlite(path: dir.file("gatehouse.db"), create: false), trustedKeys: vendor.trusted, instanceHost: nil, now: { clock.now })
        #expect(try await again.licenseStatus().state == .clockTampered)
        // Correcting the clock restores the real state.
        clock.set(ts("2027-11-20T00:00:00Z"))
        #expect(try await gatehouse.licenseStatus().state == .expired)
    }

    @Test func statusReportsProblemsWhenTrustIsWithdrawn() async throws {
        let dir = try TempDir()
        let clock = TestClock(ts("2026-11-10T09:00:00Z"))
        let gatehouse = try await vendor.gatehouse(in: dir, clock: clock)
        _ = try await gatehouse.installLicense(text: vendor.signUnchecked(TestVendor.terms()), actor: "test")
        // The administrator removes the vendor key from the configuration.
        let distrusting = Gatehouse(store: gatehouse.store, trustedKeys: TrustedKeys(), instanceHost: nil, now: { clock.now })
        let status = try await distrusting.licenseStatus()
        #expect(status.state == .invalid)
        #expect(status.problems.map(\.code) == ["unknown_kid"])
    }
}

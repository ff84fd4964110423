import Foundation
import GRDB
import GatehouseDomain
import GatehouseStorage
import Testing

@testable import GatehouseService

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The same database opened by a new process whose clock is `clock` (a restart, or a command).
private func reopened(_ gatehouse: Gatehouse, trusting vendor: TestVendor, clock: TestClock) throws -> Gatehouse {
    Gatehouse(
        store: try DatabaseLocation(gatehouse.store.location).open(create: false), trustedKeys: vendor.trusted,
        instanceHost: "codecov.acme.internal", now: { clock.now })
}

/// `observeClock` as the server runs it, `seconds` of real (monotonic) time after `start`.
private func observe(_ gatehouse: Gatehouse, at clock: TestClock, after seconds: Double, since start: ContinuousClock.Instant) async throws
{
    try await gatehouse.observeClock(wall: clock.now, at: start.advanced(by: .seconds(seconds)))
}

@Suite("The latest time seen (clock rollback)")
struct ClockTests {
    @Test func theRecordedTimeNeverOutrunsRealElapsedTime() {
        let t = ts("2027-01-01T00:00:00Z")
        // Started 30 days ahead of the last record: ten minutes of running take in twenty.
        let ahead = ClockAnchor(base: t, wall: t.addingTimeInterval(30 * 86_400))
        #expect(ahead.bounded(wall: t.addingTimeInterval(30 * 86_400 + 600), elapsed: 600) == t.addingTimeInterval(1200))
        // Corrected while running: the clock itself, once it is the lesser.
        #expect(ahead.bounded(wall: t.addingTimeInterval(900), elapsed: 900) == t.addingTimeInterval(900))
        // A jump while running is not taken at all.
        let steady = ClockAnchor(base: t, wall: t)
        #expect(steady.bounded(wall: t.addingTimeInterval(30 * 86_400), elapsed: 3600) == t.addingTimeInterval(3600))
        // A week's downtime is caught up after a week of running.
        let downtime = ClockAnchor(base: t, wall: t.addingTimeInterval(7 * 86_400))
        #expect(downtime.bounded(wall: t.addingTimeInterval(8 * 86_400), elapsed: 86_400) == t.addingTimeInterval(2 * 86_400))
        #expect(downtime.bounded(wall: t.addingTimeInterval(14 * 86_400), elapsed: 7 * 86_400) == t.addingTimeInterval(14 * 86_400))
        // A clock behind the record at start records nothing beyond the clock.
        let behind = ClockAnchor(base: t, wall: t.addingTimeInterval(-3600))
        #expect(behind.bounded(wall: t.addingTimeInterval(-3000), elapsed: 600) == t.addingTimeInterval(-3000))
    }

    @Test func readOnlyCommandsUnderAForwardClockRecordNothing() async throws {
        let clock = TestClock(ts("2026-11-20T00:00:00Z"))
        let (_, gatehouse, vendor) = try await gatehouseWithLicense(clock: clock)
        let before = try await gatehouse.store.latestSeen()
        // Someone runs `license status` (and looks at readiness) with the clock a month ahead.
        let ahead = TestClock(ts("2026-12-20T00:00:00Z"))
        let command = try reopened(gatehouse, trusting: vendor, clock: ahead)
        #expect(try await command.licenseStatus().state == .valid)
        _ = await command.readiness()
        #expect(try await gatehouse.store.latestSeen() == before)
        // After a restart with the right clock, seated and new people alike are let in.
        let server = try reopened(gatehouse, trusting: vendor, clock: clock)
        try await server.observeClock(wall: clock.now, at: .now)
        #expect(try await server.licenseStatus().state == .valid)
        #expect(try await server.authorizeLogin(login("github:alice"), actor: "test").allow)
    }

    @Test func aServerStartedWithItsClockAheadRecordsOnlyWhatItRan() async throws {
        let clock = TestClock(ts("2026-11-20T00:00:00Z"))
        let (_, first, vendor) = try await gatehouseWithLicense(clock: clock)
        try await first.observeClock(wall: clock.now, at: .now)
        // Restarted with the clock 30 days ahead, it runs ten minutes…
        let ahead = TestClock(ts("2026-12-20T00:00:00Z"))
        let server = try reopened(first, trusting: vendor, clock: ahead)
        let start = ContinuousClock.now
        for minute in 0...10 {
            try await observe(server, at: ahead, after: Double(minute * 60), since: start)
            ahead.set(ahead.now.addingTimeInterval(60))
        }
        let recorded = try #require(try await server.store.latestSeen())
        #expect(recorded <= ts("2026-11-20T00:20:00Z"))
        #expect(try await server.licenseStatus().state == .valid)
        // …then the clock is put right: nobody is locked out.
        clock.set(ts("2026-11-20T00:15:00Z"))
        let corrected = try reopened(first, trusting: vendor, clock: clock)
        #expect(try await corrected.licenseStatus().state == .valid)
        #expect(try await corrected.authorizeLogin(login("github:alice"), actor: "test").allow)
    }

    @Test func aClockSetBackIsFoundInTheChainWhenTheRowIsEditedBack() async throws {
        let clock = TestClock(ts("2027-06-01T00:00:00Z"))
        let (dir, server, vendor) = try await gatehouseWithLicense(clock: clock)
        // The server runs for three days, observing (every ten minutes here; an hourly entry in the chain).
        let start = ContinuousClock.now
        for minute in stride(from: 0, through: 3 * 24 * 60, by: 10) {
            clock.set(ts("2027-06-01T00:00:00Z").addingTimeInterval(Double(minute * 60)))
            try await observe(server, at: clock, after: Double(minute * 60), since: start)
        }
        #expect(try await server.auditEntries(AuditQuery(action: "clock.observe")).count == 73)
        // Someone sets the clock back a week, and the `clock` row back with it.
        clock.set(ts("2027-05-28T00:00:00Z"))
        let db = try DatabaseQueue(path: dir.file("gatehouse.db"))
        try await db.write { try $0.execute(sql: "UPDATE clock SET latest_seen_at = '2027-05-27T00:00:00.000Z'") }
        let restarted = try reopened(server, trusting: vendor, clock: clock)
        let status = try await restarted.licenseStatus()
        #expect(status.state == .clockTampered)
        #expect(status.warnings.contains { $0.contains("2027-06-04") })
        #expect(try await restarted.authorizeLogin(login("github:alice"), actor: "test").reason == .clockTampered)
        #expect(try await restarted.verifyAudit().ok)
    }

    @Test func anAdministratorClearsAFalseAlarmAndItIsAudited() async throws {
        let clock = TestClock(ts("2026-11-20T00:00:00Z"))
        let (_, first, vendor) = try await gatehouseWithLicense(clock: clock)
        // A server ran two days with its clock five days ahead (at most two extra days recorded)…
        let ahead = TestClock(ts("2026-11-25T00:00:00Z"))
        let server = try reopened(first, trusting: vendor, clock: ahead)
        let start = ContinuousClock.now
        for hour in 0...48 {
            ahead.set(ts("2026-11-25T00:00:00Z").addingTimeInterval(Double(hour * 3600)))
            try await observe(server, at: ahead, after: Double(hour * 3600), since: start)
        }
        // …and once the clock is right, two days on, it is a day and more behind the record.
        clock.set(ts("2026-11-22T00:00:00Z"))
        let fixed = try reopened(first, trusting: vendor, clock: clock)
        #expect(try await fixed.licenseStatus().state == .clockTampered)
        let report = try await fixed.resetClock(actor: "cli:ops", reason: "NTP pointed at a broken source")
        #expect(report.previous == ts("2026-11-24T00:00:00Z"))
        #expect(report.status.state == .valid)
        #expect(try await fixed.authorizeLogin(login("github:alice"), actor: "test").allow)
        let entry = try #require(try await fixed.auditEntries(AuditQuery(action: "clock.reset")).last)
        #expect(entry.actor == "cli:ops")
        let details = try JSONValue.parse(entry.details)
        #expect(details["previous_latest_seen"] == "2026-11-24T00:00:00Z")
        #expect(details["reason"] == "NTP pointed at a broken source")
        // It lasts (observations before the reset no longer count), and rollback is still caught.
        let later = try reopened(first, trusting: vendor, clock: clock)
        #expect(try await later.licenseStatus().state == .valid)
        let restart = ContinuousClock.now
        for hour in 0...48 {
            clock.set(ts("2026-11-22T00:00:00Z").addingTimeInterval(Double(hour * 3600)))
            try await observe(later, at: clock, after: Double(hour * 3600), since: restart)
        }
        clock.set(ts("2026-11-21T00:00:00Z"))
        #expect(try await later.licenseStatus().state == .clockTampered)
        #expect(try await later.verifyAudit().ok)
    }

    @Test func statusAndDecisionsJudgeTheClockAlike() async throws {
        let clock = TestClock(ts("2026-11-20T00:00:00Z"))
        let (_, server, vendor) = try await gatehouseWithLicense(clock: clock)
        #expect(try await server.authorizeLogin(login("github:alice"), actor: "test").allow)
        // Another replica, long run with its clock ahead, put a later time in the chain.
        let replica = try reopened(server, trusting: vendor, clock: clock)
        try await replica.store.recordClockObservation(ts("2026-11-23T00:00:00Z"), replica: "other")
        _ = try await server.syncIfChanged()
        // Until this server reads the time again, both answers come from what it knows…
        #expect(try await server.licenseStatus().state == .valid)
        #expect(try await server.authorizeLogin(login("github:bob"), actor: "test").allow)
        #expect(await server.readiness().json["license"] == "valid")
        // …and after its next observation (every minute) both say the clock is behind.
        try await server.observeClock(wall: clock.now, at: .now)
        #expect(try await server.licenseStatus().state == .clockTampered)
        #expect(try await server.authorizeLogin(login("github:carol"), actor: "test").reason == .clockTampered)
        #expect(await server.readiness().json["license"] == "clock_tampered")
    }
}

extension ProcessHeavySuites {
    @Suite("The clock with the real binary under faketime", .serialized)
    struct ClockProcessTests {
        /// The license state a running server reports (`/readyz`, no token needed).
        static func served(_ replica: Replica) async throws -> JSONValue? {
            let (data, _) = try await Replica.session.data(from: URL(string: replica.base + "/readyz")!)
            return try JSONValue.parse(Array(data))["license"]
        }

        @Test("A command or a server run a month ahead locks nobody out; a false alarm is cleared by an audited reset")
        func forwardClocks() async throws {
            let faketime = try requireProgram("faketime", package: "faketime")
            let cli = try CLI()
            try cli.setUp(terms: CLITests.currentTerms(seats: 20))
            let authorize = try cli.token("codecov", scope: "authorize")
            let server = try await Replica.start(in: cli.dir, environment: cli.environment)
            #expect(await server.login("alice", token: authorize).1?["allow"] == true)

            // `license status` with the clock a month ahead, while the server runs.
            let now = try JSONValue.parse(cli("license", "status", "--json").expectSuccess().stdout)
            let ahead = try JSONValue.parse(
                run(
                    faketime, ["-f", "+30d", gatehouseBinary, "license", "status", "--json"], cwd: cli.dir.path,
                    environment: cli.environment
                )
                .expectSuccess().stdout)
            if case .int(let days)? = now["days_left"], case .int(let aheadDays)? = ahead["days_left"] {
                #expect(days - aheadDays == 30, "faketime did not move the command's clock")
            } else {
                Issue.record("no days_left in \(now) / \(ahead)")
            }
            // The running server's status and decisions agree, and nothing changed after a restart.
            #expect(try await Self.served(server) == "valid")
            #expect(await server.login("bob", token: authorize).1?["allow"] == true)
            server.kill(SIGTERM)
            let restarted = try await Replica.start(in: cli.dir, environment: cli.environment)
            #expect(await restarted.login("alice", token: authorize).1?["allow"] == true)
            #expect(await restarted.login("carol", token: authorize).1?["allow"] == true)
            #expect(try await Self.served(restarted) == "valid")
            restarted.kill(SIGTERM)

            // The server itself started a month ahead: it records only the seconds it ran.
            let forward = try await Replica.start(in: cli.dir, environment: cli.environment, clockOffset: "+30d")
            #expect(await forward.login("dave", token: authorize).1?["allow"] == true)
            try await Task.sleep(for: .seconds(1))
            forward.kill(SIGTERM)
            let back = try await Replica.start(in: cli.dir, environment: cli.environment)
            #expect(await back.login("alice", token: authorize).1?["allow"] == true)
            #expect(try await Self.served(back) == "valid")
            back.kill(SIGTERM)

            // A false alarm (as a server long run three days ahead leaves behind), cleared.
            let db = try DatabaseQueue(path: cli.dir.file("gatehouse.db"))
            let threeDays = UTC.format(Date().addingTimeInterval(3 * 86_400), milliseconds: true)
            try await db.write { try $0.execute(sql: "UPDATE clock SET latest_seen_at = ?", arguments: [threeDays]) }
            try db.close()
            #expect(try JSONValue.parse(cli("license", "status", "--json").stdout)["state"] == "clock_tampered")
            let reset = try cli("license", "clock-reset", "--reason", "NTP pointed at a broken source").expectSuccess()
            #expect(reset.stdout.contains("the latest time seen is now"), "\(reset.stdout)")
            #expect(try JSONValue.parse(cli("license", "status", "--json").stdout)["state"] == "valid")
            let entries = try cli.auditEntries("--action", "clock.reset")
            #expect(entries.count == 1)
            #expect(entries.first?["details"]?["reason"] == "NTP pointed at a broken source")
            try cli("audit", "verify").expectSuccess()
        }
    }
}

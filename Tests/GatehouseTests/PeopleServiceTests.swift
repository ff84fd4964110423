import Foundation
import GatehouseDomain
import GatehouseService
import GatehouseStorage
import Testing

@Suite("People, identities and seats through the service")
struct PeopleServiceTests {
    @Test(arguments: Engine.allCases) func renameKeepsThePersonAndTheSeat(engine: Engine) async throws {
        let (_, gatehouse, _) = try await gatehouseWithLicense(engine: engine)
        let first = try await gatehouse.authorizeLogin(login("github:alice", externalID: "101"), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(first.allow && first.seat == .active)
        // Renamed on GitHub: same stable id, new name. Same person, same seat, no second seat.
        let renamed = try await gatehouse.authorizeLogin(login("github:alice-smith", externalID: "101"), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(renamed.personID == first.personID)
        #expect(try await gatehouse.seatStatus().active == 1)
        let report = try await gatehouse.user("github:alice-smith")
        #expect(report.identities.map(\.ref.description) == ["github:alice-smith"])
        await #expect(throws: GatehouseError.self) { try await gatehouse.user("github:alice") }
        // Case differences are the same identity, and write nothing.
        let before = try await gatehouse.auditEntries(AuditQuery()).count
        let upper = try await gatehouse.authorizeLogin(login("github:ALICE-SMITH", externalID: "101"), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(upper.personID == first.personID)
        #expect(try await gatehouse.auditEntries(AuditQuery()).count == before)
    }

    @Test(arguments: Engine.allCases) func recycledUsernameIsSomeoneElse(engine: Engine) async throws {
        let (_, gatehouse, _) = try await gatehouseWithLicense(engine: engine)
        let original = try await gatehouse.authorizeLogin(login("github:sam", externalID: "1"), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        // The account was deleted and a stranger registered "sam": a different stable id.
        let stranger = try await gatehouse.authorizeLogin(login("github:sam", externalID: "2"), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(stranger.allow)
        #expect(stranger.personID != original.personID)
        #expect(try await gatehouse.seatStatus().active == 2)
    }

    @Test(arguments: Engine.allCases) func twoIdentitiesOnePersonOneSeat(engine: Engine) async throws {
        let (_, gatehouse, _) = try await gatehouseWithLicense(engine: engine)
        let github = try await gatehouse.authorizeLogin(login("github:alice", email: "alice@acme.com"), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        // Linked by email (policy default link_by: email): same person, still one seat.
        let gitlab = try await gatehouse.authorizeLogin(login("gitlab:asmith", email: "ALICE@acme.com"), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(gitlab.personID == github.personID)
        #expect(try await gatehouse.seatStatus().active == 1)
        // Linked by hand.
        let other = try await gatehouse.authorizeLogin(login("bitbucket:alice"), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(other.personID != github.personID)
        #expect(try await gatehouse.seatStatus().active == 2)
        let linked = try await gatehouse.link(user: "github:alice", identity: "bitbucket:alice", actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(Set(linked.identities.map(\.ref.description)) == ["github:alice", "gitlab:asmith", "bitbucket:alice"])
        // The person left without identities gave back the seat.
        #expect(try await gatehouse.seatStatus().active == 1)
        let again = try await gatehouse.authorizeLogin(login("bitbucket:alice"), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(again.personID == github.personID)
        // Unlinked one by one: the seat stays while an identity is left, and goes with the last.
        for identity in ["gitlab:asmith", "bitbucket:alice"] {
            try await gatehouse.unlink(identity: identity, actor: "test")
            try await expectMemoryFollowsWrites(gatehouse)
            #expect(try await gatehouse.seatStatus().active == 1)
        }
        try await gatehouse.unlink(identity: "github:alice", actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(try await gatehouse.seatStatus().active == 0)
    }

    @Test(arguments: Engine.allCases) func templateLinksToTheDirectoryPerson(engine: Engine) async throws {
        let (_, gatehouse, _) = try await gatehouseWithLicense(engine: engine, policy: [
            "identity.yml": "identity:\n  link_by: [template]\n  templates: {github: \"{uid}_acme\"}\n"
        ])
        let directory = try await gatehouse.activateSeat(user: "ldap:alice", actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        let emu = try await gatehouse.authorizeLogin(login("github:alice_acme"), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(emu.personID == directory.person.id)
        #expect(try await gatehouse.seatStatus().active == 1)
    }

    @Test(arguments: Engine.allCases) func seatLimitIsExactWithOverage(engine: Engine) async throws {
        let (_, gatehouse, _) = try await gatehouseWithLicense(engine: engine, seats: 10, policy: ["seats.yml": "seats: {overage_percent: 20}\n"])
        var granted = 0
        for i in 0..<15 {
            if try await gatehouse.authorizeLogin(login("github:user\(i)"), actor: "test").allow { granted += 1 }
        }
        #expect(granted == 12)
        let denied = try await gatehouse.authorizeLogin(login("github:late"), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(denied == DecisionResult(allow: false, reason: .noSeatAvailable, personID: nil, seat: .none, role: .user))
        // Nobody was created for the refused logins.
        #expect(try await gatehouse.users(seat: nil, inactiveDays: nil).count == 12)
        let status = try await gatehouse.seatStatus()
        #expect(status.active == 12 && status.limit == 12 && status.licensed == 10)
        #expect(status.warnings.contains { $0.contains("all 10 licensed seats are in use") })
    }

    @Test(arguments: Engine.allCases) func hundredthSeatYesHundredAndFirstNo(engine: Engine) async throws {
        let (_, gatehouse, _) = try await gatehouseWithLicense(engine: engine, seats: 100)
        for i in 0..<100 { _ = try await gatehouse.activateSeat(user: "github:u\(i)", actor: "test") }
        await #expect(throws: GatehouseError.self) { try await gatehouse.activateSeat(user: "github:u100", actor: "test") }
        #expect(try await gatehouse.seatStatus().active == 100)
    }

    @Test(arguments: Engine.allCases) func blockingReleasesTheSeatAndRefusesLogin(engine: Engine) async throws {
        let (_, gatehouse, _) = try await gatehouseWithLicense(engine: engine)
        _ = try await gatehouse.authorizeLogin(login("github:bob"), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        let blocked = try await gatehouse.setBlocked("github:bob", blocked: true, actor: "cli:admin")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(blocked.person.status == .blocked && blocked.person.seat == .none)
        #expect(try await gatehouse.authorizeLogin(login("github:bob"), actor: "test").reason == .userBlocked)
        #expect(try await gatehouse.seatStatus().active == 0)
        _ = try await gatehouse.setBlocked("github:bob", blocked: false, actor: "cli:admin")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(try await gatehouse.authorizeLogin(login("github:bob"), actor: "test").allow)
        let actions = try await gatehouse.auditEntries(AuditQuery()).map(\.action)
        #expect(actions.filter { $0 == "seat.deactivate" }.count == 1)
        #expect(actions.filter { $0 == "person.status" }.count == 2)
    }

    @Test(arguments: Engine.allCases) func graceKeepsSeatsButGivesNoNewOnes(engine: Engine) async throws {
        let clock = TestClock(ts("2026-11-10T00:00:00Z"))
        let (_, gatehouse, _) = try await gatehouseWithLicense(engine: engine, clock: clock)
        _ = try await gatehouse.authorizeLogin(login("github:alice"), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        clock.set(ts("2027-11-05T00:00:00Z"))  // expired 2027-11-01, 14 grace days
        #expect(try await gatehouse.authorizeLogin(login("github:alice"), actor: "test").allow)
        #expect(try await gatehouse.authorizeLogin(login("github:newcomer"), actor: "test").reason == .noSeatAvailable)
        await #expect(throws: GatehouseError.self) { try await gatehouse.activateSeat(user: "github:newcomer", actor: "test") }
        clock.set(ts("2027-11-20T00:00:00Z"))
        #expect(try await gatehouse.authorizeLogin(login("github:alice"), actor: "test").reason == .licenseExpired)
    }

    @Test(arguments: Engine.allCases) func uploadsNeedTheAuthorsSeatOnPrivateRepositories(engine: Engine) async throws {
        let (_, gatehouse, _) = try await gatehouseWithLicense(engine: engine, seats: 1)
        let upload = { (author: String, isPrivate: Bool) in
            UploadRequest(owner: "acme", name: "api", isPrivate: isPrivate, author: IdentityRef.parse(author)!)
        }
        #expect(try await gatehouse.authorizeUpload(upload("github:oss", false), actor: "test").allow)
        #expect(try await gatehouse.seatStatus().active == 0)
        let first = try await gatehouse.authorizeUpload(upload("github:dev1", true), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(first.allow && first.seat == .active)
        let second = try await gatehouse.authorizeUpload(upload("github:dev2", true), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(!second.allow && second.reason == .authorHasNoSeat)
    }

    @Test(arguments: Engine.allCases) func idleSeatsAreReleasedBySystem(engine: Engine) async throws {
        let clock = TestClock(ts("2026-11-10T00:00:00Z"))
        let (_, gatehouse, _) = try await gatehouseWithLicense(engine: engine, policy: ["seats.yml": "seats: {deactivate_inactive_after_days: 30}\n"], clock: clock)
        _ = try await gatehouse.authorizeLogin(login("github:idle"), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        _ = try await gatehouse.authorizeLogin(login("github:busy"), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        clock.advance(days: 20)
        _ = try await gatehouse.authorizeLogin(login("github:busy"), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        clock.advance(days: 15)
        let released = try await gatehouse.sweepInactiveSeats()
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(released.count == 1)
        #expect(try await gatehouse.user("github:idle").person.seat == .none)
        #expect(try await gatehouse.user("github:busy").person.seat == .active)
        let entry = try #require(try await gatehouse.auditEntries(AuditQuery(action: "seat.deactivate")).last)
        #expect(entry.actor == "system")
        #expect(entry.details.contains("inactive for 30 days"))
        #expect(try await gatehouse.users(seat: nil, inactiveDays: 30).map(\.person.id) == released)
    }

    @Test(arguments: Engine.allCases) func denialsAreCountedByReason(engine: Engine) async throws {
        let (_, gatehouse, _) = try await gatehouseWithLicense(engine: engine, policy: ["login.yml": "login: {deny: [\"github:mallory\"]}\n"])
        for _ in 0..<3 { _ = try await gatehouse.authorizeLogin(login("github:mallory"), actor: "test") }
        try await gatehouse.flushBookkeeping()
        let counts = try await gatehouse.store.denialCounts(since: nil)
        #expect(counts.values.reduce(0, +) == 3)
        #expect(counts.keys.first?.reason == "denied_by_policy")
        // Denials are counted, not chained: no audit entry per denial.
        #expect(try await gatehouse.auditEntries(AuditQuery(action: "person")).isEmpty)
    }

    @Test(arguments: Engine.allCases) func trueUpComparesThePeakWithTheLicense(engine: Engine) async throws {
        let (_, gatehouse, _) = try await gatehouseWithLicense(engine: engine, seats: 10, policy: ["seats.yml": "seats: {overage_percent: 20}\n"])
        for i in 0..<12 { _ = try await gatehouse.activateSeat(user: "github:u\(i)", actor: "test") }
        for i in 0..<5 { _ = try await gatehouse.deactivateSeat(user: "github:u\(i)", actor: "test") }
        let report = try await gatehouse.trueUp()
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(report.peak == 12)
        #expect(report.overage == 2)
        #expect(report.quote?.proration.addedSeats == 2)
        #expect(try await gatehouse.seatStatus().peak == 12)
    }

    @Test(arguments: Engine.allCases) func dormantSeatsAreReleasedInOneGoAfterADryRun(engine: Engine) async throws {
        let clock = TestClock(ts("2026-11-02T00:00:00Z"))
        let (_, gatehouse, _) = try await gatehouseWithLicense(engine: engine, clock: clock)
        for name in ["ann", "ben", "cat", "dan", "eve"] { _ = try await gatehouse.authorizeLogin(login("github:\(name)"), actor: "test") }
        clock.advance(days: 50)
        for name in ["ben", "eve"] { _ = try await gatehouse.authorizeLogin(login("github:\(name)"), actor: "test") }
        clock.advance(days: 20)
        // The review: who has not been seen for 60 days.
        let dormant = try await gatehouse.users(seat: .active, inactiveDays: 60)
        let dormantIDs = Set(dormant.map(\.person.id))
        #expect(dormant.count == 3)
        let head = try await gatehouse.store.auditHeadSeq()
        let dry = try await gatehouse.releaseInactiveSeats(days: 60, dryRun: true, actor: "cli:admin")
        #expect(dry.dryRun && Set(dry.released) == dormantIDs)
        #expect(try await gatehouse.store.auditHeadSeq() == head)
        #expect(try await gatehouse.seatStatus().active == 5)

        let done = try await gatehouse.releaseInactiveSeats(days: 60, dryRun: false, actor: "cli:admin")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(Set(done.released) == dormantIDs)
        #expect(try await gatehouse.seatStatus().active == 2)
        // One transaction: three releases and their summary, one after another in the chain.
        let entries = try await gatehouse.auditEntries(AuditQuery()).filter { $0.seq > head }
        #expect(entries.map(\.action) == ["seat.deactivate", "seat.deactivate", "seat.deactivate", "seats.release_inactive"])
        #expect(entries.allSatisfy { $0.actor == "cli:admin" } && entries.last?.details.contains("\"released\":3") == true)
        #expect(try await gatehouse.releaseInactiveSeats(days: 60, dryRun: false, actor: "cli:admin").released.isEmpty)
        await #expect(throws: GatehouseError.self) { try await gatehouse.releaseInactiveSeats(days: -1, dryRun: true, actor: "t") }
    }

    @Test(arguments: Engine.allCases) func seatFiguresAsVendorsReportThem(engine: Engine) async throws {
        let clock = TestClock(ts("2026-11-02T09:00:00Z"))
        let (_, gatehouse, _) = try await gatehouseWithLicense(
            engine: engine, seats: 10, policy: ["seats.yml": "seats: {overage_percent: 20}\n"], clock: clock)
        for i in 0..<10 { _ = try await gatehouse.activateSeat(user: "github:u\(i)", actor: "test") }
        var status = try await gatehouse.seatStatus()
        #expect(status.term.historicalMax == 10 && status.term.overage == 0 && status.term.overageSince == nil)
        #expect(status.term.historicalMaxAt == ts("2026-11-02T09:00:00Z"))
        clock.set(ts("2026-11-05T14:00:00Z"))
        _ = try await gatehouse.activateSeat(user: "github:u10", actor: "test")
        clock.set(ts("2026-11-06T08:30:00Z"))
        _ = try await gatehouse.activateSeat(user: "github:u11", actor: "test")
        clock.set(ts("2026-11-09T10:00:00Z"))
        for i in 0..<5 { _ = try await gatehouse.deactivateSeat(user: "github:u\(i)", actor: "test") }
        try await expectMemoryFollowsWrites(gatehouse)
        status = try await gatehouse.seatStatus()
        #expect(status.active == 7)
        #expect(status.term.historicalMax == 12 && status.term.historicalMaxAt == ts("2026-11-06T08:30:00Z"))
        #expect(status.term.overage == 2 && status.term.overageSince == ts("2026-11-05T14:00:00Z"))
        #expect(status.json["historical_max_at"] == "2026-11-06T08:30:00Z" && status.json["overage_since"] == "2026-11-05T14:00:00Z")
        #expect(status.text.contains("overage: 2 above licensed (first above on 2026-11-05)"))
    }
}

@Suite("Usage export")
struct UsageExportTests {
    @Test(arguments: Engine.allCases) func dailySeriesFromRecordedHistory(engine: Engine) async throws {
        let clock = TestClock(ts("2026-11-02T09:00:00Z"))
        let (_, gatehouse, _) = try await gatehouseWithLicense(engine: engine, clock: clock)
        for i in 0..<3 { _ = try await gatehouse.activateSeat(user: "github:u\(i)", actor: "test") }
        clock.set(ts("2026-11-02T15:00:00Z"))
        _ = try await gatehouse.deactivateSeat(user: "github:u0", actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        clock.set(ts("2026-11-04T10:00:00Z"))
        _ = try await gatehouse.activateSeat(user: "github:u3", actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        let report = try await gatehouse.usageReport(instanceURL: "https://codecov.acme.internal")
        #expect(report.daily.count == 4)  // 2026-11-01 … 2026-11-04
        #expect(report.daily.map(\.peak) == [0, 3, 2, 3])
        #expect(report.daily.map(\.end) == [0, 2, 2, 3])
        #expect(report.peak == 3)
        let json = report.json
        #expect(json["format"] == "gatehouse-usage/1")
        #expect(json["audit_head"]?["seq"] == .int(try await gatehouse.auditEntries(AuditQuery()).last!.seq))
    }
}

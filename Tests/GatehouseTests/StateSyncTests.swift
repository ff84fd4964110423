import Foundation
import GRDB
import GatehouseDomain
import GatehouseStorage
import Synchronization
import Testing

@testable import GatehouseService

@Suite("Memory follows the database")
struct StateSyncTests {
    @Test func theMemoryCheckSeesAWriteMemoryMissed() async throws {
        let (_, server, vendor) = try await gatehouseWithLicense()
        _ = try await server.authorizeLogin(login("github:alice"), actor: "test")
        _ = try await server.createToken(name: "ci", scope: .authorize, actor: "test")
        #expect(try await server.memoryDivergence().isEmpty)
        // Another process writes; until this one catches up, its memory is behind, and the
        // check names each difference.
        let cli = try anotherProcess(beside: server, trusting: vendor)
        _ = try await cli.setBlocked("github:alice", blocked: true, actor: "cli")
        _ = try await cli.revokeToken(name: "ci", actor: "cli")
        let divergence = try await server.memoryDivergence()
        #expect(divergence.contains { $0.hasPrefix("person ") && $0.contains("blocked") }, "\(divergence)")
        #expect(divergence.contains { $0.hasPrefix("tokens: memory [\"ci\"], database []") }, "\(divergence)")
        _ = try await server.syncIfChanged()
        #expect(try await server.memoryDivergence().isEmpty)
    }

    @Test func ownWritesDoNotReloadOtherProcessesWritesDo() async throws {
        let (_, server, vendor) = try await gatehouseWithLicense()
        let token = try await server.createToken(name: "codecov", scope: .authorize, actor: "test").secret
        _ = try await server.syncIfChanged()
        // A burst of first logins in the serving process: applied to memory as they commit.
        for i in 0..<20 { _ = try await server.authorizeLogin(login("github:user\(i)"), actor: "test") }
        #expect(try await server.syncIfChanged() == false)
        #expect(try await server.authenticate(bearer: token) != nil)

        // A CLI process (its own store on the same file) blocks someone and revokes the token.
        let cli = try anotherProcess(beside: server, trusting: vendor)
        _ = try await cli.setBlocked("github:user3", blocked: true, actor: "cli:admin")
        try await cli.revokeToken(name: "codecov", actor: "cli:admin")
        // Until the server syncs it answers from memory…
        #expect(try await server.authorizeLogin(login("github:user3"), actor: "test").allow)
        // …and the next sync (every 250 ms in `serve`) picks the changes up.
        #expect(try await server.syncIfChanged() == true)
        #expect(try await server.authorizeLogin(login("github:user3"), actor: "test").reason == .userBlocked)
        #expect(try await server.authenticate(bearer: token) == nil)
        #expect(try await server.seatStatus().active == 19)
    }

    @Test(
        "Someone another process just seated is let in by a replica that has not seen them yet, even with no seat free",
        arguments: Engine.allCases)
    func staleReplicaFindsTheSeatHolder(engine: Engine) async throws {
        let (_, a, vendor) = try await gatehouseWithLicense(engine: engine, seats: 1)
        let b = try anotherProcess(beside: a, trusting: vendor)
        try await b.refresh()
        // a seats alice (the only seat); b has not synced, so alice is new to b.
        #expect(try await a.authorizeLogin(login("github:alice"), actor: "test").allow)
        let seen = try await b.authorizeLogin(login("github:alice"), actor: "test")
        #expect(seen.allow && seen.seat == .active, "\(seen)")
        #expect(try await b.authorizeLogin(login("github:bob"), actor: "test").reason == .noSeatAvailable)
        #expect(try await a.seatStatus().active == 1)
    }

    @Test(
        "Another replica's first logins, seat releases and memberships are read person by person, and memory ends as a full reload would",
        arguments: Engine.allCases)
    func changesReadPersonByPerson(engine: Engine) async throws {
        let (_, a, vendor) = try await gatehouseWithLicense(engine: engine, seats: 50)
        let b = try anotherProcess(beside: a, trusting: vendor)
        for i in 0..<5 { _ = try await a.authorizeLogin(login("github:early\(i)", orgs: ["acme"]), actor: "test") }
        try await b.refresh()
        let known = b.live.read { $0.index.auditSeq }

        // Replica a's traffic: first logins (one linking a second account by email), a seat
        // released, memberships changed.
        for i in 0..<20 {
            _ = try await a.authorizeLogin(
                login("github:user\(i)", email: "user\(i)@acme.test", orgs: ["acme"], teams: ["acme/eng"]), actor: "test")
        }
        _ = try await a.authorizeLogin(login("gitlab:user3", email: "user3@acme.test", orgs: ["acme"]), actor: "test")
        _ = try await a.deactivateSeat(user: "github:early1", actor: "test")
        _ = try await a.authorizeLogin(login("github:early2", orgs: ["acme", "acme-labs"], teams: ["acme/ops"]), actor: "test")
        #expect(try await a.store.peopleChanges(after: known, limit: 2_000) != nil)
        #expect(try await a.store.peopleChanges(after: known, limit: 10) == nil)  // too many: reload everything

        #expect(try await b.syncIfChanged())
        let full = try anotherProcess(beside: a, trusting: vendor)
        try await full.refresh()
        let (synced, reloaded) = (b.live.read { $0.index }, full.live.read { $0.index })
        #expect(synced.auditSeq == reloaded.auditSeq)
        #expect(synced.personsByID == reloaded.personsByID)
        #expect(synced.identitiesByKey == reloaded.identitiesByKey)
        #expect(synced.identityKeysByPerson == reloaded.identityKeysByPerson)
        #expect(synced.identityKeysByExternal == reloaded.identityKeysByExternal)
        #expect(synced.membershipsByIdentity == reloaded.membershipsByIdentity)
        #expect(synced.personIDsByEmail == reloaded.personIDsByEmail)
        #expect(synced.personsByID.count == 25 && synced.personCount == 25)

        // Anything else (here a block) is not followed person by person: everything is reloaded.
        let head = b.live.read { $0.index.auditSeq }
        _ = try await a.setBlocked("github:user4", blocked: true, actor: "test")
        #expect(try await a.store.peopleChanges(after: head, limit: 2_000) == nil)
        #expect(try await b.syncIfChanged())
        #expect(
            try await b.authorizeLogin(login("github:user4", orgs: ["acme"], teams: ["acme/eng"]), actor: "test").reason == .userBlocked)
    }

    @Test(
        "A reload keeps what this process wrote while it read: first logins and sessions started meanwhile are not dropped until the next sync",
        arguments: Engine.allCases)
    func reloadKeepsOwnWritesMadeWhileItRead(engine: Engine) async throws {
        let (_, server, vendor) = try await gatehouseWithLicense(engine: engine, seats: 10_000)
        // Enough people that reading them all takes a while.
        for batch in 0..<4 {
            _ = try await server.authorizeLogins((0..<1_000).map { login("github:seed\(batch * 1_000 + $0)") }, actor: "test")
        }
        let cli = try anotherProcess(beside: server, trusting: vendor)
        for round in 0..<3 {
            // A change that is not read person by person: the next sync reloads everything…
            _ = try await cli.setBlocked("github:seed\(round)", blocked: true, actor: "cli")
            let done = Atomic(false)
            let reload = Task {
                defer { done.store(true, ordering: .releasing) }
                return try await server.syncIfChanged()
            }
            // …while this process's first logins go on, each applied to memory as it commits,
            // and each person signs in to the gate (a session, as the sign-in starts it).
            var during = 0
            while !done.load(ordering: .acquiring) {
                let identity = "github:round\(round)-\(during)"
                let decision = try await server.authorizeLogin(login(identity), actor: "test")
                try await server.start(Self.session(identity, person: try #require(decision.personID), at: server.now()), actor: "gate")
                during += 1
            }
            #expect(try await reload.value)
            #expect(during > 1, "no first login was made while the reload read")
            try await expectMemoryFollowsWrites(server)
            // Memory holds those first logins already: the next sync reads nothing back.
            #expect(try await server.syncIfChanged() == false)
        }
    }

    /// PostgreSQL only: the sync's read is held still with a table lock, which SQLite's readers
    /// (each on a snapshot, never waiting) cannot be.
    @Test("A sync reading the people another replica changed keeps what this process wrote while it read")
    func syncKeepsOwnWritesMadeWhileItRead() async throws {
        let (_, server, vendor) = try await gatehouseWithLicense(engine: .postgres, seats: 50)
        let alice = try #require(try await server.authorizeLogin(login("github:alice"), actor: "test").personID)
        let bob = try #require(try await server.authorizeLogin(login("github:bob"), actor: "test").personID)
        // Another replica releases Alice's seat and starts a session for Bob: the server's next
        // sync reads Alice's row, then the sessions started.
        let other = try anotherProcess(beside: server, trusting: vendor)
        _ = try await other.deactivateSeat(user: "github:alice", actor: "cli")
        try await other.start(Self.session("github:bob", person: bob, at: other.now()), actor: "gate")

        // The sessions table locked, so that the sync's read waits there, Alice's row read.
        let lock = try await HeldTableLock("sessions", databaseURL: server.store.location)
        let sync = Task { try await server.syncIfChanged() }
        try await lock.waitForWaiter()
        // Meanwhile this process gives Alice a seat again: committed, and applied to memory.
        _ = try await server.activateSeat(user: "github:alice", actor: "cli")
        #expect(try lock.waiting() > 0, "the sync's read stopped waiting before the write was made")
        try lock.release()

        #expect(try await sync.value)
        // Alice's row as read (no seat) did not overwrite this process's later write…
        #expect(server.live.read { $0.index.person(alice)?.seat } == .active)
        try await expectMemoryFollowsWrites(server)
        // …and that write is known to be in memory: the next sync reads nothing back.
        #expect(try await server.syncIfChanged() == false)
    }

    /// PostgreSQL only, as above. A write that reloads memory (a license) reloads none that is not
    /// loaded yet: what the first load read before it must not count as holding it.
    @Test("A license installed while the first load reads is read back by the next sync")
    func licenseInstalledDuringFirstLoad() async throws {
        let (_, server, vendor) = try await gatehouseWithLicense(engine: .postgres, seats: 50)
        let fresh = try anotherProcess(beside: server, trusting: vendor)
        // The tokens table locked: the first load reads people, the license and the policy, then waits.
        let lock = try await HeldTableLock("tokens", databaseURL: server.store.location)
        let load = Task { try await fresh.refresh() }
        try await lock.waitForWaiter()
        let more = vendor.signUnchecked(TestVendor.terms(id: "lic_acme_2026_more", seats: 80, price: TestVendor.price(seats: 80)))
        _ = try await fresh.installLicense(text: more, actor: "cli")
        #expect(try lock.waiting() > 0, "the load stopped waiting before the license was installed")
        try lock.release()
        try await load.value
        #expect(fresh.live.read { $0.license?.seats } == 50)  // as the load read it

        #expect(try await fresh.syncIfChanged())
        #expect(fresh.live.read { $0.license?.licenseID } == "lic_acme_2026_more")
        try await expectMemoryFollowsWrites(fresh)
    }

    @Test("Memory holds a new token's and session's times as the database keeps them, to the millisecond")
    func timesHeldAsStored() async throws {
        let (_, server, _) = try await gatehouseWithLicense(clock: TestClock(ts("2026-11-10T00:00:00Z").addingTimeInterval(0.123_456_7)))
        _ = try await server.createToken(name: "codecov", scope: .authorize, actor: "test")
        let personID = try #require(try await server.authorizeLogin(login("github:alice"), actor: "test").personID)
        try await server.start(Self.session("github:alice", person: personID, at: server.now(), lasting: 3600.000_7), actor: "test")
        try await expectMemoryFollowsWrites(server)
    }

    /// A gate session as a sign-in starts it.
    static func session(_ identity: String, person: String, at t: Date, lasting: TimeInterval = 3600) -> GateSession {
        var rng = SystemRandomNumberGenerator()
        return GateSession(
            id: SignInSecrets.sessionID(using: &rng), tokenHash: SignInSecrets.hash(SignInSecrets.random(using: &rng)), personID: person,
            identity: IdentityRef.parse(identity)!, signIn: "test", createdAt: t, expiresAt: t.addingTimeInterval(lasting), lastSeenAt: t,
            userAgent: "", address: "")
    }

    @Test("A periodic job runs on one replica at a time; a lease not renewed passes to another", arguments: Engine.allCases)
    func jobLeaseHandover(engine: Engine) async throws {
        let dir = try TempDir()
        let clock = TestClock(ts("2026-11-10T00:00:00Z"))
        let database = try engine.newDatabase(in: dir)
        func replica() throws -> Gatehouse {
            Gatehouse(
                store: try DatabaseLocation(database).open(create: true), trustedKeys: TrustedKeys([:]), instanceHost: nil,
                now: { clock.now })
        }
        let a = try replica(), b = try replica()
        _ = try await a.migrate(actor: "test")
        #expect(a.replicaID != b.replicaID)
        // Both ask at once: exactly one gets the job.
        async let first = a.claimJob("directory sync", every: .seconds(60))
        async let second = b.claimJob("directory sync", every: .seconds(60))
        let (claimedByA, claimedByB) = try await (first, second)
        #expect(claimedByA != claimedByB)
        let (holder, other) = claimedByA ? (a, b) : (b, a)
        // The holder keeps it by running; the other is refused while the lease (2 × 60 s + 5 s) lasts.
        clock.set(ts("2026-11-10T00:01:00Z"))
        #expect(try await holder.claimJob("directory sync", every: .seconds(60)))
        clock.set(ts("2026-11-10T00:03:00Z"))
        #expect(try await other.claimJob("directory sync", every: .seconds(60)) == false)
        // Another job is leased on its own.
        #expect(try await other.claimJob("inactivity sweep", every: .seconds(3600)))
        // The holder stops: once its last lease (00:01 + 125 s) runs out, the other takes over.
        clock.set(ts("2026-11-10T00:03:06Z"))
        #expect(try await other.claimJob("directory sync", every: .seconds(60)))
        #expect(try await holder.claimJob("directory sync", every: .seconds(60)) == false)
    }
}

@Suite("Seat counter and last-seen bookkeeping")
struct BookkeepingTests {
    @Test func seatCounterFollowsEveryChange() async throws {
        let (dir, gatehouse, _) = try await gatehouseWithLicense()
        for i in 0..<10 { _ = try await gatehouse.activateSeat(user: "github:u\(i)", actor: "test") }
        _ = try await gatehouse.deactivateSeat(user: "github:u0", actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        _ = try await gatehouse.setBlocked("github:u1", blocked: true, actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        let queue = try DatabaseQueue(path: dir.file("gatehouse.db"))
        func counts() throws -> (Int64, Int64) {
            try queue.read { db in
                (
                    try Int64.fetchOne(db, sql: "SELECT active FROM seat_counter")!,
                    try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM persons WHERE seat = 'active'")!
                )
            }
        }
        #expect(try counts() == (8, 8))
        // Even an edit behind Gatehouse's back keeps the counter exact (triggers).
        try await queue.write {
            try $0.execute(sql: "UPDATE persons SET seat = 'none' WHERE rowid IN (SELECT rowid FROM persons WHERE seat = 'active' LIMIT 3)")
        }
        #expect(try counts() == (5, 5))
        #expect(try await gatehouse.seatStatus().active == 5)
    }

    @Test func lastSeenIsWrittenOnlyWhenStale() async throws {
        let clock = TestClock(ts("2026-11-10T09:00:00Z"))
        let (_, gatehouse, _) = try await gatehouseWithLicense(clock: clock)
        _ = try await gatehouse.authorizeLogin(login("github:alice"), actor: "t")
        try await expectMemoryFollowsWrites(gatehouse)
        try await gatehouse.flushBookkeeping()
        #expect(try await gatehouse.user("github:alice").person.lastSeenAt == ts("2026-11-10T09:00:00Z"))
        clock.set(ts("2026-11-10T09:30:00Z"))
        _ = try await gatehouse.authorizeLogin(login("github:alice"), actor: "t")
        try await expectMemoryFollowsWrites(gatehouse)
        try await gatehouse.flushBookkeeping()
        #expect(try await gatehouse.user("github:alice").person.lastSeenAt == ts("2026-11-10T09:00:00Z"))
        clock.set(ts("2026-11-10T10:30:00Z"))
        _ = try await gatehouse.authorizeLogin(login("github:alice"), actor: "t")
        try await expectMemoryFollowsWrites(gatehouse)
        try await gatehouse.flushBookkeeping()
        #expect(try await gatehouse.user("github:alice").person.lastSeenAt == ts("2026-11-10T10:30:00Z"))
    }
}

@Suite("A flood of denials stays small")
struct DenialFloodTests {
    @Test func countsPerDayAndOnlyTheNewestEntries() async throws {
        let (dir, gatehouse, _) = try await gatehouseWithLicense(policy: ["login.yml": "login: {deny: [\"github:mallory\"]}\n"])
        for i in 0..<1_500 {
            _ = try await gatehouse.authorizeLogin(login(i == 1_499 ? "github:MALLORY" : "github:mallory"), actor: "t")
            try await expectMemoryFollowsWrites(gatehouse)
        }
        try await gatehouse.flushBookkeeping()
        let counts = try await gatehouse.store.denialCounts(since: nil)
        #expect(counts.count == 1)
        #expect(counts.values.first == 1_500)
        let rows = try await DatabaseQueue(path: dir.file("gatehouse.db")).read {
            try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM recent_denials")!
        }
        #expect(rows == 1_000)
        let newest = try await gatehouse.store.recentDenials(limit: 1)
        #expect(newest.first?.subject == "github:MALLORY")
        #expect(try await gatehouse.complianceReport(asOf: nil).recentDenials.count == 50)
    }
}

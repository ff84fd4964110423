import Foundation
import GatehouseDomain
import GatehouseStorage
import Testing

/// One contract for every `Store`, run against SQLite and PostgreSQL alike (in the manner of
/// dex's `storage/conformance`): each requirement of `Store` is exercised through the protocol
/// only, on a fresh migrated database, and every change of state must leave the audit chain
/// intact. A new engine, or a rewrite of one, passes this suite or is not done.
@Suite("Store conformance")
struct StoreConformanceTests {
    static let t0 = ts("2026-11-10T09:00:00Z")

    /// A fresh, migrated store of `engine`; the directory holds the SQLite file.
    struct Fixture {
        let dir: TempDir
        let store: any Store
        var rng = SystemRandomNumberGenerator()

        init(_ engine: Engine) async throws {
            dir = try TempDir()
            store = try engine.newStore(in: dir)
            _ = try await store.migrate(actor: "test", at: StoreConformanceTests.t0)
        }

        mutating func newIdentity(_ identity: String, email: String? = nil, externalID: String? = nil, linkTo: String? = nil) -> NewIdentity
        {
            NewIdentity(
                ref: IdentityRef.parse(identity)!, externalID: externalID, email: email, linkTo: linkTo,
                newPersonID: PersonID.make(at: StoreConformanceTests.t0, using: &rng))
        }

        /// A person with a seat (the limit is generous).
        mutating func seated(_ identity: String, at: Date = StoreConformanceTests.t0) async throws -> ActivationResult {
            try await store.activateSeat(
                .newIdentity(newIdentity(identity)), limit: 1000, claims: nil, actor: "test", reason: "test", at: at)
        }

        func chainIsIntact() async throws -> Bool { try await store.verifyAudit().firstBroken == nil }

        func actions(_ action: String? = nil) async throws -> [String] {
            try await store.auditEntries(AuditQuery(action: action)).map(\.action)
        }
    }

    static func license(_ id: String = "lic_1", seats: Int64 = 10, supersedes: String? = nil, starts: String = "2026-11-01T00:00:00Z")
        -> StoredLicense
    {
        StoredLicense(
            licenseID: id, licensee: "Acme", kid: "k1", seats: seats, seatPriceCents: 25_000, currency: "USD", startsAt: ts(starts),
            expiresAt: ts("2027-11-01T00:00:00Z"), termStartsAt: ts("2026-11-01T00:00:00Z"), supersedes: supersedes,
            fileText: "-----BEGIN GATEHOUSE LICENSE-----\n\(id)\n", installedAt: t0, installedBy: "test")
    }

    @Test("Schema: migrations apply once, status, ping, a write probe that audits nothing", arguments: Engine.allCases)
    func schema(engine: Engine) async throws {
        let f = try await Fixture(engine)
        #expect(f.store.engine == engine.rawValue)
        #expect(!f.store.location.isEmpty && !f.store.location.contains("password"))
        #expect(try await f.store.migrate(actor: "test", at: Self.t0).isEmpty)
        let status = try await f.store.schemaStatus()
        #expect(status.pending.isEmpty && status.applied == status.known && !status.known.isEmpty)
        try await f.store.ping()
        let head = try await f.store.auditHeadSeq()
        try await f.store.probeWrite(at: Self.t0)
        #expect(try await f.store.auditHeadSeq() == head)
        #expect(try await f.actions() == ["schema.migrate"])
    }

    @Test("Clock: the row, observations in the chain, a reset", arguments: Engine.allCases)
    func clock(engine: Engine) async throws {
        let f = try await Fixture(engine)
        try await f.store.recordSeen(Self.t0)
        #expect(try await f.store.latestSeen() == Self.t0)
        try await f.store.recordSeen(Self.t0.addingTimeInterval(-3600))  // never moves back
        #expect(try await f.store.latestSeen() == Self.t0)
        let later = Self.t0.addingTimeInterval(86_400)
        try await f.store.recordClockObservation(later, replica: "r1")
        #expect(try await f.store.latestSeen() == later)
        #expect(try await f.actions("clock.observe").count == 1)
        try await f.store.resetClock(to: Self.t0, previous: later, reason: "false alarm", actor: "admin")
        #expect(try await f.store.latestSeen() == Self.t0)
        #expect(try await f.actions("clock.reset").count == 1)
        #expect(try await f.chainIsIntact())
    }

    @Test("Licenses: one in force, amendments with their proration, history by date", arguments: Engine.allCases)
    func licenses(engine: Engine) async throws {
        let f = try await Fixture(engine)
        #expect(try await f.store.licenseInForce() == nil)
        #expect(try await f.store.license(asOf: Self.t0) == nil)
        let first = Self.license()
        _ = try await f.store.installLicense(
            first, proration: nil, audit: AuditDraft(actor: "test", action: "license.install", subject: "lic_1"), at: Self.t0, then: nil)
        #expect(try await f.store.licenseInForce() == first)
        var amendment = Self.license("lic_2", seats: 20, supersedes: "lic_1", starts: "2026-11-20T00:00:00Z")
        amendment.installedAt = Self.t0.addingTimeInterval(86_400)
        let proration = ProrationRecord(
            licenseID: "lic_2", supersedes: "lic_1",
            proration: Proration(
                addedSeats: 10, effectiveDate: day("2026-11-20"), termDays: 365, remainingDays: 346, seatPriceCents: 25_000,
                amountCents: 236_986,
                currency: "USD"),
            recordedAt: amendment.installedAt)
        _ = try await f.store.installLicense(
            amendment, proration: proration, audit: AuditDraft(actor: "test", action: "license.install", subject: "lic_2"),
            at: amendment.installedAt, then: nil)
        #expect(try await f.store.licenseInForce()?.licenseID == "lic_2")
        #expect(try await f.store.prorations() == [proration])
        #expect(try await f.store.license(asOf: Self.t0.addingTimeInterval(60))?.licenseID == "lic_1")
        #expect(try await f.store.license(asOf: amendment.installedAt.addingTimeInterval(60))?.licenseID == "lic_2")
        #expect(try await f.actions("license.install").count == 2)
        #expect(try await f.chainIsIntact())
    }

    @Test("Tokens: stored by hash, unique names, revoked", arguments: Engine.allCases)
    func tokens(engine: Engine) async throws {
        let f = try await Fixture(engine)
        let token = TokenRecord(
            name: "ci", scope: .authorize, hash: String(repeating: "a", count: 64), lastFour: "wxyz", createdAt: Self.t0, createdBy: "test")
        try await f.store.createToken(token, audit: AuditDraft(actor: "test", action: "token.create", subject: "ci"), at: Self.t0)
        #expect(try await f.store.tokens() == [token])
        #expect(try await f.store.token(hash: token.hash) == token)
        #expect(try await f.store.token(hash: String(repeating: "b", count: 64)) == nil)
        let duplicate = await #expect(throws: StoreError.self) {
            try await f.store.createToken(token, audit: AuditDraft(actor: "test", action: "token.create", subject: "ci"), at: Self.t0)
        }
        #expect(duplicate?.code == .conflict)
        try await f.store.revokeToken(name: "ci", audit: AuditDraft(actor: "test", action: "token.revoke", subject: "ci"), at: Self.t0)
        #expect(try await f.store.tokens().isEmpty)
        let missing = await #expect(throws: StoreError.self) {
            try await f.store.revokeToken(name: "ci", audit: AuditDraft(actor: "test", action: "token.revoke", subject: "ci"), at: Self.t0)
        }
        #expect(missing?.code == .notFound)
        #expect(try await f.actions().filter { $0.hasPrefix("token.") } == ["token.create", "token.revoke"])
        #expect(try await f.chainIsIntact())
    }

    @Test("Job leases: one holder at a time until the lease runs out", arguments: Engine.allCases)
    func jobs(engine: Engine) async throws {
        let f = try await Fixture(engine)
        #expect(try await f.store.claimJob("release", holder: "a", until: Self.t0.addingTimeInterval(60), at: Self.t0))
        #expect(
            try await !f.store.claimJob("release", holder: "b", until: Self.t0.addingTimeInterval(70), at: Self.t0.addingTimeInterval(10)))
        #expect(try await f.store.claimJob("other", holder: "b", until: Self.t0.addingTimeInterval(70), at: Self.t0.addingTimeInterval(10)))
        #expect(
            try await f.store.claimJob("release", holder: "a", until: Self.t0.addingTimeInterval(120), at: Self.t0.addingTimeInterval(30)))
        #expect(
            try await !f.store.claimJob("release", holder: "b", until: Self.t0.addingTimeInterval(180), at: Self.t0.addingTimeInterval(90)))
        #expect(
            try await f.store.claimJob("release", holder: "b", until: Self.t0.addingTimeInterval(240), at: Self.t0.addingTimeInterval(121)))
    }

    @Test("Identities: create, join, find case-insensitively, link, rename, unlink", arguments: Engine.allCases)
    func identities(engine: Engine) async throws {
        var f = try await Fixture(engine)
        let (alice, github) = try await f.store.createIdentity(
            f.newIdentity("github:Alice", email: "alice@acme.com", externalID: "101"), actor: "test", at: Self.t0)
        #expect(alice.seat == SeatState.none && alice.status == .active && alice.email == "alice@acme.com")
        #expect(try await f.store.person(id: alice.id) == alice)
        #expect(try await f.store.identity(IdentityRef.parse("github:alice")!) == github)
        let (joined, gitlab) = try await f.store.createIdentity(f.newIdentity("gitlab:alice", linkTo: alice.id), actor: "test", at: Self.t0)
        #expect(joined.id == alice.id && gitlab.personID == alice.id)
        #expect(Set(try await f.store.identities(personID: alice.id).map(\.ref.description)) == ["github:Alice", "gitlab:alice"])

        let (bob, _) = try await f.store.createIdentity(f.newIdentity("github:bob"), actor: "test", at: Self.t0)
        #expect(try await f.store.linkIdentity(IdentityRef.parse("gitlab:alice")!, to: bob.id, actor: "test", at: Self.t0).changed)
        let moved = try await f.store.identity(IdentityRef.parse("gitlab:alice")!)
        #expect(moved?.personID == bob.id && moved?.id == gitlab.id)
        #expect(try await !f.store.linkIdentity(IdentityRef.parse("gitlab:alice")!, to: bob.id, actor: "test", at: Self.t0).changed)
        let created = try await f.store.linkIdentity(IdentityRef.parse("bitbucket:bob")!, to: bob.id, actor: "test", at: Self.t0)
        #expect(created.created.map(\.personID) == [bob.id])

        _ = try await f.store.changePeople(at: Self.t0) {
            try SeatRules.rename([(github.ref, "alice-renamed", "101")], actor: "test", facts: $0)
        }
        #expect(try await f.actions("identity.update").count == 1)
        #expect(try await f.store.identity(IdentityRef.parse("github:alice")!) == nil)
        #expect(try await f.store.identity(IdentityRef.parse("github:alice-renamed")!)?.personID == alice.id)

        _ = try await f.store.unlinkIdentity(IdentityRef.parse("bitbucket:bob")!, actor: "test", at: Self.t0)
        #expect(try await f.store.identity(IdentityRef.parse("bitbucket:bob")!) == nil)
        let missing = await #expect(throws: StoreError.self) {
            try await f.store.unlinkIdentity(IdentityRef.parse("bitbucket:nobody")!, actor: "test", at: Self.t0)
        }
        #expect(missing?.code == .notFound)
        #expect(try await f.actions().contains("identity.link"))
        #expect(try await f.chainIsIntact())
    }

    @Test("Seats: activation, the limit, already active, ineligible, release, history", arguments: Engine.allCases)
    func seats(engine: Engine) async throws {
        var f = try await Fixture(engine)
        let claims = MembershipClaims(identityID: nil, orgs: ["acme"], teams: ["acme/core"])
        let first = try await f.store.activateSeat(
            .newIdentity(f.newIdentity("github:alice")), limit: 2, claims: claims, actor: "test", reason: "login", at: Self.t0)
        #expect(first.outcome == .activated && first.activeSeats == 1 && first.person?.seat == .active)
        let identity = try #require(first.identity)
        #expect(first.claimsRecorded?.memberships.map(\.name).sorted() == ["acme", "acme/core"])
        #expect(Set(try await f.store.memberships(identityID: identity.id).map(\.name)) == ["acme", "acme/core"])
        let person = try #require(first.person)
        let again = try await f.store.activateSeat(.person(person.id), limit: 2, claims: nil, actor: "test", reason: "login", at: Self.t0)
        #expect(again.outcome == .alreadyActive && again.activeSeats == 1)
        _ = try await f.store.activateSeat(
            .newIdentity(f.newIdentity("github:bob")), limit: 2, claims: nil, actor: "test", reason: "login", at: Self.t0)
        let full = try await f.store.activateSeat(
            .newIdentity(f.newIdentity("github:carol")), limit: 2, claims: nil, actor: "test", reason: "login", at: Self.t0)
        #expect(full.outcome == .noSeatAvailable && full.activeSeats == 2)
        #expect(try await f.store.activeSeatCount() == 2)
        #expect(Set(try await f.store.persons(seat: .active, notSeenSince: nil).map(\.id)).contains(person.id))

        let later = Self.t0.addingTimeInterval(3600)
        #expect(try await f.store.deactivateSeat(personID: person.id, actor: "test", reason: "released", at: later).changed)
        #expect(try await !f.store.deactivateSeat(personID: person.id, actor: "test", reason: "released", at: later).changed)
        #expect(try await f.store.activeSeatCount() == 1)
        #expect(try await f.store.seatHolders(asOf: Self.t0.addingTimeInterval(60)).contains(person.id))
        #expect(try await !f.store.seatHolders(asOf: later.addingTimeInterval(60)).contains(person.id))
        let usage = try await f.store.seatUsage(since: Self.t0.addingTimeInterval(-60))
        #expect(usage.active == 1 && usage.peak == 2)
        let events = try await f.store.seatEvents(since: Self.t0.addingTimeInterval(-60))
        #expect(events.startActive == 0 && events.events.map(\.activeAfter) == [1, 2, 1])
        // One person's history, newest first.
        let history = try await f.store.seatHistory(personID: person.id, limit: 10)
        #expect(history.map(\.activated) == [false, true] && history.first?.reason == "released" && history.first?.at == later)
        #expect(try await f.store.seatHistory(personID: person.id, limit: 1).count == 1)

        _ = try await f.store.setStatus(personID: person.id, status: .blocked, actor: "test", reason: "left", at: later)
        #expect(try await f.store.person(id: person.id)?.status == .blocked)
        let refused = try await f.store.activateSeat(.person(person.id), limit: 10, claims: nil, actor: "test", reason: "login", at: later)
        #expect(refused.outcome == .ineligible(.blocked))
        #expect(try await f.actions().filter { $0.hasPrefix("seat.") } == ["seat.activate", "seat.activate", "seat.deactivate"])
        #expect(try await f.chainIsIntact())
    }

    @Test("The seat limit is exact under concurrency, and the chain stays whole", arguments: Engine.allCases)
    func seatLimitUnderConcurrency(engine: Engine) async throws {
        let f = try await Fixture(engine)
        let store = f.store
        let outcomes = try await withThrowingTaskGroup(of: ActivationOutcome.self) { group in
            for i in 0..<40 {
                group.addTask {
                    var rng = SystemRandomNumberGenerator()
                    let identity = NewIdentity(
                        ref: IdentityRef(provider: .github, username: "user\(i)"), externalID: nil, email: nil, linkTo: nil,
                        newPersonID: PersonID.make(at: Self.t0, using: &rng))
                    return try await store.activateSeat(
                        .newIdentity(identity), limit: 10, claims: nil, actor: "test", reason: "login", at: Self.t0
                    ).outcome
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 == .activated }.count == 10)
        #expect(outcomes.filter { $0 == .noSeatAvailable }.count == 30)
        #expect(try await store.activeSeatCount() == 10)
        #expect(try await f.actions("seat.activate").count == 10)
        #expect(try await f.chainIsIntact())
    }

    @Test("Status: blocking releases the seat and ends sessions; unblocking does not give it back", arguments: Engine.allCases)
    func status(engine: Engine) async throws {
        var f = try await Fixture(engine)
        let alice = try #require(try await f.seated("github:alice").person)
        let session = GateSession(
            id: "s_1", tokenHash: String(repeating: "c", count: 64), personID: alice.id, identity: IdentityRef.parse("github:alice")!,
            signIn: "oidc",
            createdAt: Self.t0, expiresAt: Self.t0.addingTimeInterval(43_200), lastSeenAt: Self.t0, userAgent: "test", address: "127.0.0.1")
        try await f.store.startSession(session, actor: "test", at: Self.t0)
        _ = try await f.store.setStatus(personID: alice.id, status: .blocked, actor: "admin", reason: "offboarded", at: Self.t0)
        let blocked = try await f.store.person(id: alice.id)
        #expect(blocked?.status == .blocked && blocked?.seat == SeatState.none)
        #expect(try await f.store.session(tokenHash: session.tokenHash) == nil)
        #expect(try await f.store.activeSeatCount() == 0)
        _ = try await f.store.setStatus(personID: alice.id, status: .active, actor: "admin", reason: "back", at: Self.t0)
        let unblocked = try await f.store.person(id: alice.id)
        #expect(unblocked?.status == .active && unblocked?.seat == SeatState.none)
        #expect(try await f.actions("person.status").count == 2)
        #expect(try await f.actions("session.end").count == 1)
        #expect(try await f.chainIsIntact())
    }

    @Test("Memberships: replaced per source, read per identity", arguments: Engine.allCases)
    func memberships(engine: Engine) async throws {
        var f = try await Fixture(engine)
        let identity = try #require(try await f.seated("github:alice").identity)
        let signin = Set(["acme", "acme-labs"].map { MembershipRecord(identityID: identity.id, kind: .org, name: $0, source: .signin) })
        try await f.store.replaceMemberships(identityID: identity.id, source: .signin, with: signin, actor: "test", at: Self.t0)
        let request = Set([MembershipRecord(identityID: identity.id, kind: .team, name: "acme/core", source: .request)])
        try await f.store.replaceMemberships(identityID: identity.id, source: .request, with: request, actor: "test", at: Self.t0)
        #expect(Set(try await f.store.memberships(identityID: identity.id).filter(\.present)) == signin.union(request))
        let fewer = Set([MembershipRecord(identityID: identity.id, kind: .org, name: "acme", source: .signin)])
        try await f.store.replaceMemberships(identityID: identity.id, source: .signin, with: fewer, actor: "test", at: Self.t0)
        #expect(Set(try await f.store.memberships(identityID: identity.id).filter(\.present)) == fewer.union(request))
        #expect(try await f.chainIsIntact())
    }

    @Test("Webhooks: applied once, a replayed body, a stale event", arguments: Engine.allCases)
    func webhooks(engine: Engine) async throws {
        var f = try await Fixture(engine)
        let identity = try #require(try await f.seated("gitlab:carol").identity)
        let remove = MembershipRecord(identityID: identity.id, kind: .group, name: "acme", source: .webhook, present: false)
        let since = Self.t0.addingTimeInterval(-72 * 3600)
        let d1 = WebhookDelivery(
            provider: "gitlab", id: "g-1", event: "member", outcome: "removed", bodySHA256: "h1", eventAt: ts("2026-11-05T00:00:00Z"))
        #expect(try await f.store.applyWebhook(d1, change: remove, replaySince: since, actor: "webhook:gitlab", at: Self.t0) == .applied)
        #expect(try await f.store.applyWebhook(d1, change: remove, replaySince: since, actor: "webhook:gitlab", at: Self.t0) == .duplicate)
        var d2 = d1
        d2.id = "g-2"
        #expect(
            try await f.store.applyWebhook(d2, change: remove, replaySince: since, actor: "webhook:gitlab", at: Self.t0)
                == .replay(of: "g-1", receivedAt: Self.t0))
        var add = remove
        add.present = true
        let d3 = WebhookDelivery(
            provider: "gitlab", id: "g-3", event: "member", outcome: "added", bodySHA256: "h3", eventAt: ts("2026-11-04T00:00:00Z"))
        #expect(
            try await f.store.applyWebhook(d3, change: add, replaySince: since, actor: "webhook:gitlab", at: Self.t0)
                == .stale(newest: ts("2026-11-05T00:00:00Z")))
        #expect(try await f.store.memberships(identityID: identity.id).first { $0.name == "acme" }?.present == false)
        #expect(try await f.chainIsIntact())
    }

    @Test("Bookkeeping: last seen, denial counters and recent denials (not chained)", arguments: Engine.allCases)
    func bookkeeping(engine: Engine) async throws {
        var f = try await Fixture(engine)
        let alice = try #require(try await f.seated("github:alice").person)
        let head = try await f.store.auditHeadSeq()
        try await f.store.touchLastSeen([alice.id: Self.t0.addingTimeInterval(120)])
        #expect(try await f.store.person(id: alice.id)?.lastSeenAt == Self.t0.addingTimeInterval(120))
        #expect(try await f.store.persons(seat: nil, notSeenSince: Self.t0.addingTimeInterval(60)).isEmpty)
        #expect(try await f.store.persons(seat: nil, notSeenSince: Self.t0.addingTimeInterval(600)).map(\.id) == [alice.id])
        let key = DenialKey(day: "2026-11-10", kind: "login", reason: "no_seat_available")
        let egress = EgressDenialKey(day: "2026-11-10", destination: "evil.example:443", reason: "not_allowed")
        let entries = (0..<5).map {
            DenialEntry(at: Self.t0.addingTimeInterval(Double($0)), kind: "login", reason: "no_seat_available", subject: "github:u\($0)")
        }
        try await f.store.addDenials(DenialBatch(counts: [key: 5], byDestination: [egress: 2], recent: entries), keep: 3)
        try await f.store.addDenials(DenialBatch(counts: [key: 1]), keep: 3)
        #expect(try await f.store.denialCounts(since: "2026-11-10") == [key: 6])
        #expect(try await f.store.denialCounts(since: "2026-11-11").isEmpty)
        #expect(try await f.store.egressDenialCounts(since: nil) == [egress: 2])
        #expect(try await f.store.recentDenials(limit: 10).map(\.subject) == ["github:u4", "github:u3", "github:u2"])
        #expect(try await f.store.auditHeadSeq() == head)
    }

    @Test("Policies: one set in force, history by date", arguments: Engine.allCases)
    func policies(engine: Engine) async throws {
        let f = try await Fixture(engine)
        #expect(try await f.store.policySetInForce() == nil)
        let first = StoredPolicySet(
            sha256: String(repeating: "1", count: 64), files: ["login.yml": "login: {}\n"], appliedAt: Self.t0, appliedBy: "test")
        try await f.store.applyPolicySet(first, audit: AuditDraft(actor: "test", action: "policy.apply", subject: first.sha256))
        let second = StoredPolicySet(
            sha256: String(repeating: "2", count: 64), files: ["login.yml": "login: {admins: [\"github:root\"]}\n"],
            appliedAt: Self.t0.addingTimeInterval(3600),
            appliedBy: "test")
        try await f.store.applyPolicySet(second, audit: AuditDraft(actor: "test", action: "policy.apply", subject: second.sha256))
        #expect(try await f.store.policySetInForce() == second)
        #expect(try await f.store.policySet(asOf: Self.t0.addingTimeInterval(60)) == first)
        #expect(try await f.store.policySet(asOf: Self.t0.addingTimeInterval(-60)) == nil)
        #expect(try await f.chainIsIntact())
    }

    @Test("Snapshots: everything at once, then only what changed since a head", arguments: Engine.allCases)
    func snapshots(engine: Engine) async throws {
        var f = try await Fixture(engine)
        let alice = try #require(try await f.seated("github:alice").person)
        let snapshot = try await f.store.peopleSnapshot()
        #expect(snapshot.persons.map(\.id) == [alice.id] && snapshot.identities.count == 1)
        let head = try await f.store.auditHeadSeq()
        #expect(snapshot.auditSeq == head)
        #expect(try await f.store.auditChainHead()?.seq == snapshot.auditSeq)
        let bob = try #require(try await f.seated("github:bob").person)
        let changes = try #require(try await f.store.peopleChanges(after: snapshot.auditSeq, limit: 100))
        let headNow = try await f.store.auditHeadSeq()
        #expect(changes.persons.map(\.id) == [bob.id] && changes.auditSeq == headNow)
        // A change memory cannot take person by person: reload everything.
        _ = try await f.store.setStatus(personID: alice.id, status: .blocked, actor: "test", reason: "test", at: Self.t0)
        #expect(try await f.store.peopleChanges(after: changes.auditSeq, limit: 100) == nil)
    }

    @Test("Directory: people held, a plan applied in one transaction, a failure recorded", arguments: Engine.allCases)
    func directory(engine: Engine) async throws {
        let f = try await Fixture(engine)
        #expect(try await f.store.directoryPeople().people.isEmpty)
        #expect(try await f.store.directorySyncState() == nil)
        let listing = DirectoryListing(
            people: [
                DirectoryPerson(dn: "uid=alice,ou=people,dc=acme", uid: "alice", email: "alice@acme.com", name: "Alice", externalID: "u-1"),
                DirectoryPerson(dn: "uid=bob,ou=people,dc=acme", uid: "bob", email: nil, name: "Bob", externalID: "u-2"),
            ],
            groups: [
                DirectoryGroup(dn: "cn=eng,ou=groups,dc=acme", name: "eng", memberDNs: ["uid=alice,ou=people,dc=acme"], memberUIDs: [])
            ])
        let plan = try await f.store.applyDirectorySync(prefetched: nil, actor: "test", at: Self.t0) { stored in
            var plan = DirectoryPlanner.plan(listing, stored: stored, identity: IdentityPolicy())
            var rng = SystemRandomNumberGenerator()
            for i in plan.added.indices { plan.added[i].newPersonID = PersonID.make(at: Self.t0, using: &rng) }
            return plan
        }
        #expect(plan.added.count == 2)
        let held = try await f.store.directoryPeople()
        #expect(held.people.map(\.uid).sorted() == ["alice", "bob"])
        #expect(held.people.first { $0.uid == "alice" }?.groups == ["eng"])
        #expect(try await f.store.directorySyncState()?.lastSuccessAt == Self.t0)
        // A refused plan writes nothing.
        let head = try await f.store.auditHeadSeq()
        let refused = try await f.store.applyDirectorySync(prefetched: held, actor: "test", at: Self.t0) { stored in
            var plan = DirectoryPlanner.plan(DirectoryListing(people: [], groups: []), stored: stored, identity: IdentityPolicy())
            plan.refusal = plan.removalRefusal(maxPercent: 10)
            return plan
        }
        #expect(refused.refusal != nil)
        #expect(try await f.store.auditHeadSeq() == head)
        #expect(try await f.store.directoryPeople().people.count == 2)
        try await f.store.recordDirectoryFailure("2 of 2 people would leave", refused: true, at: Self.t0.addingTimeInterval(30))
        try await f.store.recordDirectoryFailure("the server went away", refused: false, at: Self.t0.addingTimeInterval(60))
        let state = try await f.store.directorySyncState()
        #expect(state?.lastError == "the server went away" && state?.lastSuccessAt == Self.t0)
        // The refusal is kept apart from later failures of other kinds.
        #expect(state?.lastRefusal == "2 of 2 people would leave" && state?.lastRefusedAt == Self.t0.addingTimeInterval(30))
        #expect(try await f.chainIsIntact())
    }

    @Test(
        "Notifications: queued once per channel and key, claimed by one holder, outcomes recorded by it alone", arguments: Engine.allCases)
    func notifications(engine: Engine) async throws {
        let f = try await Fixture(engine)
        let occurrence = NotificationOccurrence(
            event: .seatsThreshold, key: "seats.threshold/lic_1/90", subject: "9 of 10", text: "t", details: ["a": 1])
        let drafts = [
            NotificationDraft(channel: "slack", occurrence: occurrence), NotificationDraft(channel: "mail", occurrence: occurrence),
        ]
        #expect(try await f.store.queueNotifications(drafts, actor: "system", at: Self.t0).count == 2)
        #expect(try await f.store.queueNotifications(drafts, actor: "system", at: Self.t0.addingTimeInterval(5)).isEmpty)
        let until = Self.t0.addingTimeInterval(120)
        let first = try await f.store.claimDueNotifications(holder: "a", until: until, at: Self.t0, limit: 10)
        #expect(first.map(\.channel).sorted() == ["mail", "slack"] && first.allSatisfy { $0.details == ["a": 1] && $0.state == .pending })
        #expect(try await f.store.claimDueNotifications(holder: "b", until: until, at: Self.t0, limit: 10).isEmpty)
        let slack = try #require(first.first { $0.channel == "slack" })
        let mail = try #require(first.first { $0.channel == "mail" })
        // Only the holder records an outcome.
        #expect(try await f.store.recordNotificationOutcome(slack, .sent, holder: "b", actor: "system", at: Self.t0) == false)
        #expect(try await f.store.recordNotificationOutcome(slack, .sent, holder: "a", actor: "system", at: Self.t0))
        let next = Self.t0.addingTimeInterval(30)
        #expect(
            try await f.store.recordNotificationOutcome(mail, .retry(error: "down", next: next), holder: "a", actor: "system", at: Self.t0))
        #expect(try await f.store.claimDueNotifications(holder: "b", until: until, at: Self.t0.addingTimeInterval(10), limit: 10).isEmpty)
        let retried = try await f.store.claimDueNotifications(holder: "b", until: until, at: next, limit: 10)
        #expect(retried.map(\.channel) == ["mail"] && retried.first?.attempts == 1 && retried.first?.lastError == "down")
        // A claim left to lapse passes to another holder.
        #expect(try await f.store.claimDueNotifications(holder: "c", until: until, at: until, limit: 10).map(\.channel) == ["mail"])
        #expect(
            try await f.store.recordNotificationOutcome(retried[0], .gaveUp(error: "down"), holder: "b", actor: "system", at: until)
                == false)
        let counts = try await f.store.notificationCounts()
        #expect(counts.contains(NotificationCount(channel: "slack", state: .sent, count: 1)))
        #expect(counts.contains(NotificationCount(channel: "mail", state: .pending, count: 1)))
        #expect(try await f.store.notifications(limit: 1).count == 1)
        try await f.store.appendAudit(AuditDraft(actor: "test", action: "notification.test", subject: "slack"), at: until)
        #expect(
            try await f.actions().filter { $0.hasPrefix("notification.") } == [
                "notification.queue", "notification.queue", "notification.sent", "notification.retry", "notification.test",
            ])
        #expect(try await f.chainIsIntact())
    }

    @Test("Sessions: start, find by hash, touch, end by id, person, expiry or all; sign-ins taken once", arguments: Engine.allCases)
    func sessions(engine: Engine) async throws {
        var f = try await Fixture(engine)
        let alice = try #require(try await f.seated("github:alice").person)
        let bob = try #require(try await f.seated("github:bob").person)
        func session(_ id: String, _ person: PersonRecord, expires: TimeInterval = 43_200) -> GateSession {
            GateSession(
                id: id, tokenHash: String(repeating: id.last!, count: 64), personID: person.id, identity: IdentityRef.parse("github:x")!,
                signIn: "oidc", createdAt: Self.t0, expiresAt: Self.t0.addingTimeInterval(expires), lastSeenAt: Self.t0, userAgent: "ua",
                address: "127.0.0.1")
        }
        for s in [session("s_1", alice), session("s_2", alice), session("s_3", bob), session("s_4", bob, expires: 60)] {
            try await f.store.startSession(s, actor: "test", at: Self.t0)
        }
        #expect(try await f.store.session(tokenHash: String(repeating: "1", count: 64))?.id == "s_1")
        #expect(Set(try await f.store.sessions(personID: alice.id).map(\.id)) == ["s_1", "s_2"])
        try await f.store.touchSessions(["s_1": Self.t0.addingTimeInterval(600)])
        #expect(try await f.store.session(tokenHash: String(repeating: "1", count: 64))?.lastSeenAt == Self.t0.addingTimeInterval(600))

        #expect(try await f.store.endSessions(.ids(["s_2"]), reason: "revoked", actor: "admin", at: Self.t0).map(\.id) == ["s_2"])
        #expect(
            try await f.store.endSessions(
                .expired(at: Self.t0.addingTimeInterval(120), idleBefore: Self.t0.addingTimeInterval(-1)), reason: "expired",
                actor: "system", at: Self.t0
            ).map(\.id) == ["s_4"])
        #expect(try await f.store.endSessions(.person(bob.id), reason: "blocked", actor: "admin", at: Self.t0).map(\.id) == ["s_3"])
        #expect(try await f.store.endSessions(.all, reason: "everyone out", actor: "admin", at: Self.t0).map(\.id) == ["s_1"])
        #expect(try await f.store.sessions(personID: nil).isEmpty)
        #expect(try await f.actions("session.start").count == 4)
        #expect(try await f.actions("session.end").count == 4)

        let attempt = SignInAttempt(
            stateHash: String(repeating: "e", count: 64), bindingHash: String(repeating: "f", count: 64), provider: "oidc", redirect: "/",
            expiresAt: Self.t0.addingTimeInterval(600))
        try await f.store.saveSignInAttempt(attempt, at: Self.t0)
        #expect(try await f.store.takeSignInAttempt(stateHash: attempt.stateHash, at: Self.t0) == attempt)
        #expect(try await f.store.takeSignInAttempt(stateHash: attempt.stateHash, at: Self.t0) == nil)
        try await f.store.saveSignInAttempt(attempt, at: Self.t0)
        #expect(try await f.store.takeSignInAttempt(stateHash: attempt.stateHash, at: Self.t0.addingTimeInterval(601)) == nil)
        #expect(try await f.chainIsIntact())
    }

    @Test("Audit: entries by time, action and limit; the chain head; an intact chain", arguments: Engine.allCases)
    func audit(engine: Engine) async throws {
        var f = try await Fixture(engine)
        for (i, name) in ["a", "b", "c"].enumerated() {
            _ = try await f.seated("github:\(name)", at: Self.t0.addingTimeInterval(Double(i) * 3600))
        }
        let all = try await f.store.auditEntries(AuditQuery())
        #expect(all.map(\.seq) == Array(1...Int64(all.count)))
        #expect(try await f.store.auditChainHead().map { [$0.seq: $0.hash] } == [all.last!.seq: all.last!.hash])
        let seats = try await f.store.auditEntries(AuditQuery(action: "seat.activate"))
        #expect(seats.count == 3)
        #expect(try await f.store.auditEntries(AuditQuery(action: "seat.activate", limit: 2)).map(\.seq) == seats.suffix(2).map(\.seq))
        #expect(try await f.store.auditEntries(AuditQuery(since: Self.t0.addingTimeInterval(1800), action: "seat.activate")).count == 2)
        #expect(try await f.store.auditEntries(AuditQuery(until: Self.t0.addingTimeInterval(1800), action: "seat.activate")).count == 1)
        let verified = try await f.store.verifyAudit()
        #expect(verified.ok && verified.entries == Int64(all.count))
    }
}

/// The seat and identity rules as the service hands them to a store: the conformance suite
/// drives `changePeople` and `activateSeat` the way `Gatehouse` does.
extension Store {
    func activateSeat(_ target: SeatTarget, limit: Int64, claims: MembershipClaims?, actor: String, reason: String, at: Date) async throws
        -> ActivationResult
    {
        try await activateSeat(target, claims: claims, actor: actor, at: at) {
            try SeatRules.activate(target, limit: limit, actor: actor, reason: reason, at: at, facts: $0)
        }
    }

    func createIdentity(_ identity: NewIdentity, actor: String, at: Date) async throws -> (PersonRecord, IdentityRecord) {
        let committed = try await changePeople(at: at) { try SeatRules.createIdentity(identity, actor: actor, facts: $0) }
        let created = try #require(committed.created.first)
        return (try #require(try await person(id: created.personID)), created)
    }

    func deactivateSeat(personID: String, actor: String, reason: String, at: Date) async throws -> CommittedPeoplePlan {
        try await changePeople(at: at) { try SeatRules.release(personID: personID, actor: actor, reason: reason, facts: $0) }
    }

    func setStatus(personID: String, status: PersonStatus, actor: String, reason: String, at: Date) async throws -> CommittedPeoplePlan {
        try await changePeople(at: at) { try SeatRules.setStatus(personID: personID, to: status, actor: actor, reason: reason, facts: $0) }
    }

    func linkIdentity(_ ref: IdentityRef, to personID: String, actor: String, at: Date) async throws -> CommittedPeoplePlan {
        try await changePeople(at: at) { try SeatRules.link(ref, to: personID, actor: actor, facts: $0) }
    }

    func unlinkIdentity(_ ref: IdentityRef, actor: String, at: Date) async throws -> CommittedPeoplePlan {
        try await changePeople(at: at) { try SeatRules.unlink(ref, actor: actor, facts: $0) }
    }

    func replaceMemberships(identityID: Int64, source: MembershipSource, with memberships: Set<MembershipRecord>, actor: String, at: Date)
        async throws
    {
        _ = try await changePeople(at: at) {
            try SeatRules.replaceMemberships(identityID: identityID, source: source, with: memberships, actor: actor, facts: $0)
        }
    }

    func applyWebhook(_ delivery: WebhookDelivery, change: MembershipRecord?, replaySince: Date, actor: String, at: Date) async throws
        -> WebhookApplyOutcome
    {
        try await applyWebhook(delivery, at: at) {
            try WebhookRules.judge(delivery, change: change, replaySince: replaySince, actor: actor, facts: $0)
        }
    }
}

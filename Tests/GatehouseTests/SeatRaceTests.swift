import AsyncHTTPClient
import Foundation
import GatehouseDomain
import GatehouseHTTP
import GatehouseService
import GatehouseStorage
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@Suite("Seat activation under concurrency", .serialized)
struct SeatRaceTests {
    /// Hundreds of concurrent logins over real HTTP for fewer free seats: exactly as many
    /// seats as were free are granted, and the audit log has exactly those activations.
    @Test(arguments: Engine.allCases) func concurrentLoginsNeverOversubscribe(engine: Engine) async throws {
        let (_, gatehouse, _) = try await gatehouseWithLicense(engine: engine, seats: 50)
        for i in 0..<30 { _ = try await gatehouse.activateSeat(user: "github:existing\(i)", actor: "test") }
        let token = try await gatehouse.createToken(name: "codecov", scope: .authorize, actor: "test").secret
        try await expectMemoryFollowsWrites(gatehouse)
        var logger = Logger(label: "race")
        logger.logLevel = .critical
        let app = buildApplication(gatehouse: gatehouse, settings: HTTPSettings(host: "127.0.0.1", port: 0), logger: logger)

        // 150 new people, each logging in twice at once: 300 requests for 20 free seats.
        let requests = (0..<300).map { "racer\($0 % 150)" }.shuffled()
        let results = try await app.test(.ahc(.http)) { client in
            try await withThrowingTaskGroup(of: (String, Int, JSONValue?).self) { group in
                for user in requests {
                    group.addTask {
                        // 300 requests share the client's few pooled connections; on a slow
                        // machine one may wait past the pool's deadline. It was never sent, so
                        // it is sent again (the race is among the requests that are).
                        var attempt = 0
                        while true {
                            attempt += 1
                            do {
                                return try await client.execute(
                                    uri: "/v1/authorize/login", method: .post,
                                    headers: [.authorization: "Bearer \(token)", .contentType: "application/json"],
                                    body: ByteBuffer(string: "{\"provider\":\"github\",\"username\":\"\(user)\"}")
                                ) { response in
                                    (user, Int(response.status.code), try? JSONValue.parse(Array(response.body.readableBytesView)))
                                }
                            } catch let error as HTTPClientError where error == .getConnectionFromPoolTimeout && attempt < 5 {
                                continue
                            }
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        #expect(results.count == 300)
        #expect(
            results.allSatisfy { $0.1 == 200 },
            "statuses: \(Set(results.map(\.1))) \(results.filter { $0.1 != 200 }.prefix(3).map { $0.2?.canonicalText ?? "" })")
        let allowedUsers = Set(results.filter { $0.2?["allow"] == true }.map(\.0))
        let deniedReasons = Set(results.filter { $0.2?["allow"] == false }.compactMap { $0.2?["reason"] })
        #expect(allowedUsers.count == 20)
        #expect(deniedReasons == ["no_seat_available"])
        // Both requests of a user who got a seat saw the same person.
        for user in allowedUsers {
            let people = Set(results.filter { $0.0 == user && $0.2?["allow"] == true }.compactMap { $0.2?["person"] })
            #expect(people.count == 1)
        }
        let status = try await gatehouse.seatStatus()
        #expect(status.active == 50)
        #expect(status.peak == 50)
        let activations = try await gatehouse.auditEntries(AuditQuery(action: "seat.activate"))
        #expect(activations.count == 50)
        #expect(try await gatehouse.verifyAudit().ok)
        // Nobody was left half-created: every person holds a seat.
        #expect(try await gatehouse.users(seat: SeatState.none, inactiveDays: nil).isEmpty)
    }
}

@Suite("Seat requests under concurrency", .serialized)
struct SeatRequestRaceTests {
    /// 300 first logins at once for 10 free seats with `when_full: request`: exactly 10 seats,
    /// 290 requests, one per person; then 5 seats freed in one go go to the 5 oldest requests.
    @Test(arguments: Engine.allCases) func threeHundredLoginsForTenSeats(engine: Engine) async throws {
        let clock = TestClock(ts("2026-11-02T09:00:00Z"))
        let (_, gatehouse, _) = try await gatehouseWithLicense(
            engine: engine, seats: 10, policy: ["seats.yml": "seats: {when_full: request, deactivate_inactive_after_days: 0}\n"],
            clock: clock)
        let results = try await withThrowingTaskGroup(of: DecisionResult.self) { group in
            for i in 0..<300 { group.addTask { try await gatehouse.authorizeLogin(login("github:racer\(i)"), actor: "test") } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.filter(\.allow).count == 10)
        #expect(results.filter { $0.reason == .seatRequested }.count == 290)
        #expect(try await gatehouse.seatStatus().active == 10)
        let pending = try await gatehouse.seatRequests()
        #expect(pending.count == 290 && Set(pending.map(\.personID)).count == 290)
        #expect(Set(pending.map(\.personID)).isDisjoint(with: results.filter(\.allow).compactMap(\.personID)))
        // Asking again files nothing new.
        for i in 0..<20 { _ = try await gatehouse.authorizeLogin(login("github:racer\(i)"), actor: "test") }
        #expect(try await gatehouse.seatRequests().count == 290)
        #expect(try await gatehouse.auditEntries(AuditQuery(action: "seat.request")).count == 290)
        try await expectMemoryFollowsWrites(gatehouse)

        // Five of the seated are seen again later; the other five go dormant and are released at once.
        let seated = results.filter(\.allow).compactMap(\.personID)
        clock.advance(days: 40)
        for id in seated.prefix(5) { try await gatehouse.store.touchLastSeen([id: clock.now]) }
        let oldest = Array(try await gatehouse.seatRequests().prefix(5).map(\.personID))
        let released = try await gatehouse.releaseInactiveSeats(days: 30, dryRun: false, actor: "cli:admin")
        #expect(Set(released.released) == Set(seated.suffix(5)))
        #expect(try await gatehouse.seatStatus().active == 10)
        for id in oldest { #expect(try await gatehouse.user(id).person.seat == .active, "\(id) was among the 5 oldest") }
        #expect(try await gatehouse.seatRequests().count == 285)
        #expect(
            try await gatehouse.auditEntries(AuditQuery(action: "seat.activate")).filter { $0.details.contains("seat request granted") }
                .count == 5)
        #expect(try await gatehouse.store.verifyAudit().ok)
        try await expectMemoryFollowsWrites(gatehouse)
    }

    @Test func moreSeatsGoToTheOldestRequests() async throws {
        let clock = TestClock(ts("2027-05-01T10:00:00Z"))
        let price = TestVendor.price(seats: 2)
        let (_, gatehouse, vendor) = try await gatehouseWithLicense(
            seats: 2, policy: ["seats.yml": "seats: {when_full: request}\n"], clock: clock)
        for name in ["a", "b", "c", "d", "e"] {
            _ = try await gatehouse.authorizeLogin(login("github:\(name)"), actor: "test")
            clock.set(clock.now.addingTimeInterval(60))
        }
        #expect(try await gatehouse.seatRequests().map(\.identity) == ["github:c", "github:d", "github:e"])
        // An amendment adds one seat: the oldest request gets it, in the install's transaction.
        let amendment = TestVendor.terms(
            id: "lic_acme_2026_a1", seats: 3, price: price, starts: "2027-05-01T00:00:00Z", supersedes: "lic_acme_2026")
        _ = try await gatehouse.installLicense(text: vendor.signUnchecked(amendment), actor: "admin")
        #expect(try await gatehouse.user("github:c").person.seat == .active)
        #expect(try await gatehouse.seatRequests().map(\.identity) == ["github:d", "github:e"])
        let tail = try await gatehouse.auditEntries(AuditQuery()).suffix(2).map(\.action)
        #expect(tail == ["license.install", "seat.activate"])
        // A person left without identities gives the seat to the next request.
        try await gatehouse.unlink(identity: "github:a", actor: "admin")
        #expect(try await gatehouse.user("github:d").person.seat == .active)
        #expect(try await gatehouse.seatStatus().active == 3)
        try await expectMemoryFollowsWrites(gatehouse)
    }

    @Test func approveAndRejectByHand() async throws {
        let (_, gatehouse, _) = try await gatehouseWithLicense(
            seats: 1, policy: ["seats.yml": "seats: {when_full: request, auto_grant: false}\n"])
        let first = try await gatehouse.authorizeLogin(login("github:first"), actor: "test")
        let second = try await gatehouse.authorizeLogin(login("github:second"), actor: "test")
        let third = try await gatehouse.authorizeLogin(login("github:third"), actor: "test")
        #expect(first.allow && second.reason == .seatRequested && third.reason == .seatRequested)
        // Full: approving needs a free seat.
        await #expect(throws: GatehouseError.self) { try await gatehouse.approveSeatRequest(user: "github:second", actor: "admin") }
        _ = try await gatehouse.deactivateSeat(user: "github:first", actor: "admin")
        // auto_grant: false — the freed seat waits for an administrator.
        #expect(try await gatehouse.seatStatus().active == 0)
        #expect(try await gatehouse.approveSeatRequest(user: "github:second", actor: "admin").person.seat == .active)
        try await gatehouse.rejectSeatRequest(user: "github:third", actor: "admin")
        #expect(try await gatehouse.seatRequests().isEmpty)
        let missing = await #expect(throws: GatehouseError.self) {
            try await gatehouse.rejectSeatRequest(user: "github:third", actor: "admin")
        }
        #expect(missing?.code == "no_seat_request")
        let actions = try await gatehouse.auditEntries(AuditQuery()).map(\.action).filter { $0.hasPrefix("seat.request") }
        #expect(actions == ["seat.request", "seat.request", "seat.request.approve", "seat.request.reject"])
        try await expectMemoryFollowsWrites(gatehouse)
    }
}

@Suite("First logins in bulk", .serialized)
struct BulkLoginTests {
    /// Issue 20's seeding path: a batch of logins answered by `authorizeLogins` writes first
    /// logins in one transaction with the same rules as one by one — the seat limit holds
    /// inside the batch, claims are recorded, the audit chain is whole, memory follows — and
    /// the people already known, or refused by policy, are answered as single logins.
    @Test(arguments: Engine.allCases) func aBatchKeepsTheSeatLimitAndTheAuditChain(engine: Engine) async throws {
        let (_, gatehouse, _) = try await gatehouseWithLicense(engine: engine, seats: 25)
        _ = try await gatehouse.authorizeLogin(login("github:known"), actor: "test")
        var requests = (0..<40).map { login("github:bulk\($0)") }
        requests.append(login("github:known"))
        requests.append(LoginRequest(identity: IdentityRef(provider: .github, username: "claims"), orgs: ["Acme"], teams: ["acme/eng"]))
        requests.append(login("github:bulk3"))  // twice in one batch: one person, one seat
        let answers = try await gatehouse.authorizeLogins(requests, actor: "test")
        #expect(answers.count == requests.count)
        // 25 seats: "known" held one, so 24 of the newcomers get one, in order; the rest are refused.
        #expect(answers.prefix(24).allSatisfy { $0.allow })
        #expect(answers[24..<40].allSatisfy { !$0.allow && $0.reason == .noSeatAvailable })
        #expect(answers[40].allow && answers[41].reason == .noSeatAvailable)
        #expect(answers[42].allow && answers[42].personID == answers[3].personID)
        let active = try await gatehouse.seatStatus().active
        let activations = try await gatehouse.auditEntries(AuditQuery(action: "seat.activate"))
        let chain = try await gatehouse.verifyAudit()
        #expect(active == 25 && activations.count == 25 && chain.ok)
        try await expectMemoryFollowsWrites(gatehouse)
        // One by one afterwards, the same people are known and hold their seats.
        let again = try await gatehouse.authorizeLogin(login("github:bulk0"), actor: "test")
        #expect(again.allow && again.personID == answers[0].personID && again.seat == .active)
    }

    /// A first login in a batch records its org and team claims with its seat, as a single
    /// first login does; one without claims records none.
    @Test(arguments: Engine.allCases) func aBatchRecordsClaimsAsOneLoginDoes(engine: Engine) async throws {
        let (_, gatehouse, _) = try await gatehouseWithLicense(engine: engine, seats: 5)
        let single = try await gatehouse.authorizeLogin(login("github:single", orgs: ["Acme"], teams: ["acme/eng"]), actor: "test")
        let answers = try await gatehouse.authorizeLogins(
            [login("github:batched", orgs: ["Acme"], teams: ["acme/eng"]), login("github:plain")], actor: "test")
        #expect(single.allow && answers.allSatisfy { $0.allow })
        func claims(_ name: String) async throws -> Set<String> {
            let found = try await gatehouse.store.identity(IdentityRef(provider: .github, username: name))
            guard let identity = found else {
                Issue.record("no identity \(name)")
                return []
            }
            return Set(
                try await gatehouse.store.memberships(identityID: identity.id).map {
                    "\($0.kind.rawValue):\($0.name):\($0.source.rawValue)"
                })
        }
        let batched = try await claims("batched")
        #expect(batched == ["org:acme:request", "team:acme/eng:request"])
        #expect(try await claims("single") == batched)
        #expect(try await claims("plain").isEmpty)
        try await expectMemoryFollowsWrites(gatehouse)
    }
}

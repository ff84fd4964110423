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
                        try await client.execute(
                            uri: "/v1/authorize/login", method: .post, headers: [.authorization: "Bearer \(token)", .contentType: "application/json"],
                            body: ByteBuffer(string: "{\"provider\":\"github\",\"username\":\"\(user)\"}")
                        ) { response in
                            (user, Int(response.status.code), try? JSONValue.parse(Array(response.body.readableBytesView)))
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        #expect(results.count == 300)
        #expect(results.allSatisfy { $0.1 == 200 }, "statuses: \(Set(results.map(\.1))) \(results.filter { $0.1 != 200 }.prefix(3).map { $0.2?.canonicalText ?? "" })")
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

import Foundation
import GatehouseDomain
import NIOHTTP1
import Testing

/// Issue 16, fault 9: a database that answers reads but refuses every write is not ready.
extension ProcessHeavySuites {
    @Suite("Readiness", .serialized)
    struct ReadinessTests {
        @Test func aDatabaseThatRefusesWritesIsNotReady() async throws {
            // A cluster of its own: it is made read-only for everyone.
            let cluster = try PostgresCluster()
            defer { try? cluster.stop() }
            let database = try cluster.createDatabase()
            let cli = try CLI()
            try cli.setUp(terms: CLITests.currentTerms(seats: 10), database: database)
            let replica = try await Replica.start(in: cli.dir, environment: cli.environment)
            defer { replica.kill() }
            #expect(try await HTTPProbe.request(.GET, replica.base + "/readyz").status == 200)

            _ = try cluster.psql("ALTER SYSTEM SET default_transaction_read_only = on")
            _ = try cluster.psql("SELECT pg_reload_conf()")
            let notReady = try await eventually(10) { try await HTTPProbe.request(.GET, replica.base + "/readyz").status == 503 }
            #expect(notReady, "readyz stayed ready while the database refused writes")
            let body = try await HTTPProbe.request(.GET, replica.base + "/readyz").body
            #expect(body.contains("refuses writes"), "\(body)")

            _ = try cluster.psql("ALTER SYSTEM SET default_transaction_read_only = off")
            _ = try cluster.psql("SELECT pg_reload_conf()")
            #expect(try await eventually(10) { try await HTTPProbe.request(.GET, replica.base + "/readyz").status == 200 })
        }
    }
}

import Foundation
import GatehouseDomain
import GatehouseService
import GatehouseStorage
import Testing

@Suite("Memory follows the database")
struct StateSyncTests {
    @Test func ownWritesDoNotReloadOtherProcessesWritesDo() async throws {
        let (dir, server, vendor) = try await gatehouseWithLicense()
        let token = try await server.createToken(name: "codecov", scope: .authorize, actor: "test").secret
        _ = try await server.syncIfChanged()
        // A burst of first logins in the serving process: applied to memory as they commit.
        for i in 0..<20 { _ = try await server.authorizeLogin(login("github:user\(i)"), actor: "test") }
        #expect(try await server.syncIfChanged() == false)
        #expect(try await server.authenticate(bearer: token) != nil)

        // A CLI process (its own store on the same file) blocks someone and revokes the token.
        let cli = Gatehouse(
            store: try SQLiteStore(path: dir.file("gatehouse.db"), create: false), trustedKeys: vendor.trusted,
            instanceHost: "codecov.acme.internal", now: server.now)
        _ = try await cli.setBlocked("github:user3", blocked: true, actor: "cli:admin")
        try await cli.revokeToken(name: "codecov", actor: "cli:admin")
        // Until the server syncs it answers from memory…
        #expect(try await server.authorizeLogin(login("github:user3"), actor: "test").allow)
        // …and the next sync (every second in `serve`) picks the changes up.
        #expect(try await server.syncIfChanged() == true)
        #expect(try await server.authorizeLogin(login("github:user3"), actor: "test").reason == .userBlocked)
        #expect(try await server.authenticate(bearer: token) == nil)
        #expect(try await server.seatStatus().active == 19)
    }
}

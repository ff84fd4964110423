import Foundation
import GatehouseDirectory
import GatehouseDomain
import GatehouseService
import GatehouseStorage
import Testing

/// A service with a license of `seats` seats in force and `policy` applied.
func gatehouseWithLicense(
    engine: Engine = .sqlite, seats: Int64 = 200, policy: [String: String] = [:], clock: TestClock = TestClock(ts("2026-11-10T00:00:00Z")),
    directory: DirectoryConfiguration? = nil, resolver: any EgressResolver = SystemResolver(), notifications: [NotificationChannel] = [],
    scimRemoval: ScimRemovalGuard? = nil
) async throws -> (TempDir, Gatehouse, TestVendor) {
    let dir = try TempDir()
    let vendor = TestVendor()
    let gatehouse = try await vendor.gatehouse(
        in: dir, engine: engine, clock: clock, directory: directory, resolver: resolver, notifications: notifications, scimRemoval: scimRemoval)
    _ = try await gatehouse.installLicense(
        text: vendor.signUnchecked(TestVendor.terms(seats: seats, price: TestVendor.price(seats: seats))), actor: "test")
    if !policy.isEmpty {
        let policyDir = dir.file("policies")
        try FileManager.default.createDirectory(atPath: policyDir, withIntermediateDirectories: true)
        for (name, text) in policy { try text.write(toFile: policyDir + "/" + name, atomically: true, encoding: .utf8) }
        _ = try await gatehouse.applyPolicies(directory: policyDir, actor: "test")
    }
    try await gatehouse.refresh()
    return (dir, gatehouse, vendor)
}

/// Another process on `gatehouse`'s database (a CLI command, a second replica), with its own
/// store and memory; the location names the database without a password.
func anotherProcess(
    beside gatehouse: Gatehouse, trusting vendor: TestVendor, directory: DirectoryConfiguration? = nil, notifications: [NotificationChannel] = []
) throws -> Gatehouse {
    Gatehouse(
        store: try DatabaseLocation(gatehouse.store.location).open(create: false), trustedKeys: vendor.trusted,
        instanceHost: "codecov.acme.internal", directory: directory, notifications: notifications, now: gatehouse.now)
}

func login(_ identity: String, externalID: String? = nil, email: String? = nil, orgs: Set<String> = [], teams: Set<String> = [])
    -> LoginRequest
{
    LoginRequest(identity: IdentityRef.parse(identity)!, externalID: externalID, email: email, orgs: orgs, teams: teams)
}

/// After an operation: what the process holds in memory must equal a fresh read of the
/// database (every write applied to memory, none forgotten until the next reload).
func expectMemoryFollowsWrites(_ gatehouse: Gatehouse, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let divergence = try await gatehouse.memoryDivergence()
    #expect(divergence.isEmpty, "memory differs from the database:\n\(divergence.joined(separator: "\n"))", sourceLocation: sourceLocation)
}

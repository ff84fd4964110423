import Foundation
import GatehouseDirectory
import GatehouseDomain
import GatehouseService
import GatehouseStorage
import Testing

/// Directory sync against a real slapd started for each test.
@Suite("Directory sync")
struct DirectorySyncTests {
    @Test("A first sync reads people, nested groups (cycle included), posix and unique-name groups")
    func firstSync() async throws {
        let slapd = try Slapd(ldif: DirectoryFixture.ldif)
        let (_, gatehouse, _) = try await gatehouseWithLicense(directory: slapd.configuration())
        let outcome = try await gatehouse.syncDirectory(actor: "test")
        #expect(outcome.plan.added.count == 7)
        #expect(outcome.plan.directoryGroups == 5)
        #expect(outcome.plan.warnings.isEmpty)
        let groups = { (uid: String) async throws -> Set<String> in
            Set(try await gatehouse.user("ldap:\(uid)").memberships.filter { $0.source == .ldap }.map(\.name))
        }
        let everyoneNested: Set<String> = ["codecov-users", "backend", "platform"]
        #expect(try await groups("alice") == everyoneNested)
        #expect(try await groups("carol") == everyoneNested)
        #expect(try await groups("frank") == everyoneNested)
        #expect(try await groups("dave") == ["ops"])
        #expect(try await groups("eve") == ["auditors"])
        #expect(try await groups(DirectoryFixture.weirdUID) == [])
        let dave = try await gatehouse.user("ldap:dave")
        #expect(dave.person.email == nil)
        #expect(try await gatehouse.user("ldap:alice").person.name == "Alice Archer")
        #expect(try await gatehouse.directoryStatus().state == .fresh)
        #expect(try await gatehouse.store.verifyAudit().firstBroken == nil)

        // Nothing changed in the directory: nothing is written, not even an audit entry.
        let head = try await gatehouse.store.auditHeadSeq()
        let again = try await gatehouse.syncDirectory(actor: "test")
        #expect(again.plan.isEmpty)
        #expect(try await gatehouse.store.auditHeadSeq() == head)
    }
}

import Foundation
import GatehouseDirectory
import GatehouseDomain
import GatehouseService
import GatehouseStorage
import Testing

/// Directory sync against a real slapd started for each test.
@Suite("Directory sync")
struct DirectorySyncTests {
    @Test("A first sync reads people, nested groups (cycle included), posix and unique-name groups", arguments: Engine.allCases)
    func firstSync(engine: Engine) async throws {
        let slapd = try Slapd(ldif: DirectoryFixture.ldif)
        let (_, gatehouse, _) = try await gatehouseWithLicense(engine: engine, directory: slapd.configuration())
        let outcome = try await gatehouse.syncDirectory(actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
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
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(again.plan.isEmpty)
        #expect(try await gatehouse.store.auditHeadSeq() == head)
    }

    @Test("Someone who leaves the directory loses the seat and every login; audited; back again, they may return", arguments: Engine.allCases)
    func departure(engine: Engine) async throws {
        let slapd = try Slapd(ldif: DirectoryFixture.ldif)
        var config = slapd.configuration()
        config.maxRemovalPercent = 20
        let (_, gatehouse, _) = try await gatehouseWithLicense(engine: engine, directory: config)
        _ = try await gatehouse.syncDirectory(actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        // alice logs in through GitHub: linked to her directory person by email, seat activated.
        let first = try await gatehouse.authorizeLogin(login("github:alice", email: "alice@acme.com"), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(first.allow && first.seat == .active)
        let alice = try await gatehouse.user("ldap:alice").person.id
        #expect(first.personID == alice)

        // Leavers are moved to an OU outside the user base (the entry and its entryUUID live on).
        try slapd.modify("dn: ou=former,\(Slapd.suffix)\nchangetype: add\nobjectClass: organizationalUnit\nou: former\n")
        try slapd.modify("dn: uid=alice,ou=people,\(Slapd.suffix)\nchangetype: modrdn\nnewrdn: uid=alice\ndeleteoldrdn: 1\nnewsuperior: ou=former,\(Slapd.suffix)\n")
        let outcome = try await gatehouse.syncDirectory(actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(outcome.plan.left.map(\.uid) == ["alice"])
        let gone = try await gatehouse.user("github:alice").person
        #expect(gone.status == .leftDirectory && gone.seat == .none)
        let refused = try await gatehouse.authorizeLogin(login("github:alice", email: "alice@acme.com"), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(!refused.allow && refused.reason == .notInDirectory)
        let actions = try await gatehouse.store.auditEntries(AuditQuery()).map(\.action)
        #expect(actions.contains("directory.person.leave") && actions.contains("seat.deactivate"))
        // An administrator cannot simply unblock someone the directory says is gone.
        await #expect(throws: GatehouseError.self) { _ = try await gatehouse.setBlocked("ldap:alice", blocked: false, actor: "test") }

        try slapd.modify("dn: uid=alice,ou=former,\(Slapd.suffix)\nchangetype: modrdn\nnewrdn: uid=alice\ndeleteoldrdn: 1\nnewsuperior: ou=people,\(Slapd.suffix)\n")
        let back = try await gatehouse.syncDirectory(actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(back.plan.updated.first?.changes.contains("rejoined") == true && back.plan.added.isEmpty)
        #expect(try await gatehouse.user("ldap:alice").person.status == .active)
        #expect(try await gatehouse.authorizeLogin(login("github:alice"), actor: "test").allow)
    }

    @Test("A sync that would remove more than max_removal_percent is refused, changes nothing, and says so; --force applies it", arguments: Engine.allCases)
    func removalGuard(engine: Engine) async throws {
        let slapd = try Slapd(ldif: DirectoryFixture.ldif + DirectoryFixture.many(13))  // 20 people
        let (_, gatehouse, _) = try await gatehouseWithLicense(engine: engine, directory: slapd.configuration())
        _ = try await gatehouse.syncDirectory(actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        // Two of twenty leave: 10%, allowed by the default limit.
        try slapd.modify((0..<2).map { String(format: "dn: uid=user%05d,ou=people,\(Slapd.suffix)\nchangetype: delete\n", $0) }.joined(separator: "\n"))
        #expect(try await gatehouse.syncDirectory(actor: "test").plan.left.count == 2)
        // Three more of eighteen: 16.7%, refused.
        try slapd.modify((2..<5).map { String(format: "dn: uid=user%05d,ou=people,\(Slapd.suffix)\nchangetype: delete\n", $0) }.joined(separator: "\n"))
        let head = try await gatehouse.store.auditHeadSeq()
        let dry = try await gatehouse.syncDirectory(dryRun: true, actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(dry.plan.refusal != nil && dry.plan.left.count == 3)
        do {
            _ = try await gatehouse.syncDirectory(actor: "test")
            try await expectMemoryFollowsWrites(gatehouse)
            Issue.record("a mass removal was applied")
        } catch let error as GatehouseError {
            #expect(error.code == "directory_removal_refused")
            #expect(error.message.contains("3 of 18"))
        }
        #expect(try await gatehouse.store.auditHeadSeq() == head)
        #expect(try await gatehouse.user("ldap:user00003").person.status == .active)
        let status = try await gatehouse.directoryStatus()
        #expect(status.state == .stale && status.sync?.lastError?.contains("max_removal_percent") == true)
        let forced = try await gatehouse.syncDirectory(force: true, actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(forced.plan.left.count == 3)
        #expect(try await gatehouse.directoryStatus().state == .fresh)
    }

    @Test(
        "A directory restored into a new server (same uids, every entryUUID new) is called a re-key, not a departure; --rekey keeps people, seats and history",
        arguments: Engine.allCases)
    func rekey(engine: Engine) async throws {
        let ldif = DirectoryFixture.ldif + DirectoryFixture.many(13)  // 20 people
        let slapd = try Slapd(ldif: ldif)
        let (_, gatehouse, vendor) = try await gatehouseWithLicense(engine: engine, directory: slapd.configuration())
        _ = try await gatehouse.syncDirectory(actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        let bob = try await gatehouse.activateSeat(user: "ldap:bob", actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        let alice = try await gatehouse.authorizeLogin(login("github:alice", email: "alice@acme.com"), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(alice.allow && alice.seat == .active)

        // The same entries loaded into a new server (and one new hire): every entryUUID is new.
        let restored = try Slapd(ldif: ldif + DirectoryFixture.person("grace", mail: "grace@acme.com"))
        slapd.stop()
        let moved = try anotherProcess(beside: gatehouse, trusting: vendor, directory: restored.configuration())
        try await moved.refresh()
        let head = try await moved.store.auditHeadSeq()
        do {
            _ = try await moved.syncDirectory(actor: "test")
            try await expectMemoryFollowsWrites(moved)
            Issue.record("a re-keyed directory was applied as 20 departures")
        } catch let error as GatehouseError {
            #expect(error.code == "directory_removal_refused")
            #expect(error.message.contains("20 of 20 directory people are in the directory under the same uid but a new stable id"), "\(error.message)")
            #expect(error.message.contains("gatehouse ldap sync --rekey --dry-run"))
        }
        #expect(try await moved.store.auditHeadSeq() == head)
        #expect(try await moved.directoryStatus().sync?.lastError?.contains("new stable id") == true)

        let dry = try await moved.syncDirectory(dryRun: true, rekey: true, actor: "test")
        try await expectMemoryFollowsWrites(moved)
        #expect(dry.plan.refusal == nil && dry.plan.left.isEmpty && dry.plan.stableIDChanges == 20)
        #expect(dry.plan.added.map(\.person.uid) == ["grace"])
        #expect(dry.lines.contains { $0.contains("20 people re-keyed") })
        #expect(try await moved.store.auditHeadSeq() == head)

        let applied = try await moved.syncDirectory(rekey: true, actor: "admin")
        try await expectMemoryFollowsWrites(moved)
        #expect(applied.plan.updated.count == 20 && applied.plan.updated.allSatisfy { $0.changes == ["external_id"] })
        let bobAfter = try await moved.user("ldap:bob").person
        #expect(bobAfter.id == bob.person.id && bobAfter.seat == .active)
        let aliceAgain = try await moved.authorizeLogin(login("github:alice", email: "alice@acme.com"), actor: "test")
        try await expectMemoryFollowsWrites(moved)
        #expect(aliceAgain.allow && aliceAgain.personID == alice.personID && aliceAgain.seat == .active)
        let rekeys = try await moved.store.auditEntries(AuditQuery(action: "directory.rekey"))
        #expect(rekeys.count == 1 && rekeys.first?.actor == "admin" && rekeys.first?.details.contains("\"people\":20") == true)
        #expect(try await moved.store.auditEntries(AuditQuery(action: "directory.person.leave")).isEmpty)
        #expect(try await moved.store.verifyAudit().firstBroken == nil)
        // The new ids are Gatehouse's now: an ordinary sync finds nothing to do, and a uid
        // recycled later is again a new person.
        #expect(try await moved.syncDirectory(actor: "test").plan.isEmpty)
    }

    @Test("Existing logins are linked to directory people by email and by username template; seats are kept", arguments: Engine.allCases)
    func linking(engine: Engine) async throws {
        let slapd = try Slapd(ldif: DirectoryFixture.ldif)
        let (_, gatehouse, _) = try await gatehouseWithLicense(engine: engine, 
            policy: ["identity.yml": "identity:\n  link_by: [email, template]\n  templates: {github: \"{uid}_acme\"}\n"],
            directory: slapd.configuration())
        let emu = try await gatehouse.authorizeLogin(login("github:dave_acme"), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        let byEmail = try await gatehouse.authorizeLogin(login("gitlab:bobby", email: "BOB@acme.com"), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(emu.seat == .active && byEmail.seat == .active)
        let outcome = try await gatehouse.syncDirectory(actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(outcome.plan.added.count == 7)
        let dave = try await gatehouse.user("ldap:dave")
        #expect(dave.person.id == emu.personID && dave.person.seat == .active)
        #expect(dave.identities.map(\.ref.description) == ["github:dave_acme", "ldap:dave"])
        let bob = try await gatehouse.user("ldap:bob")
        #expect(bob.person.id == byEmail.personID && bob.person.name == "Bob")
        #expect(try await gatehouse.seatStatus().active == 2)
        // After the sync, a new login of a directory person links by template too.
        let later = try await gatehouse.authorizeLogin(login("github:eve_acme"), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(later.personID == (try await gatehouse.user("ldap:eve").person.id))
    }

    @Test("login.ldap.allowed_groups binds directory people on every provider; require_directory_person refuses outsiders", arguments: Engine.allCases)
    func loginPolicy(engine: Engine) async throws {
        let slapd = try Slapd(ldif: DirectoryFixture.ldif)
        let (_, gatehouse, _) = try await gatehouseWithLicense(engine: engine, 
            policy: [
                "login.yml": "login:\n  ldap: {allowed_groups: [codecov-users]}\n",
                "identity.yml": "identity:\n  link_by: [email]\n  require_directory_person: true\n",
            ], directory: slapd.configuration())
        // Before any sync nobody is a directory person.
        #expect(try await gatehouse.authorizeLogin(login("github:alice", email: "alice@acme.com"), actor: "test").reason == .notInDirectory)
        _ = try await gatehouse.syncDirectory(actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        let alice = try await gatehouse.authorizeLogin(login("github:alice", email: "alice@acme.com"), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(alice.allow)
        let frank = try await gatehouse.authorizeLogin(login("ldap:frank"), actor: "test")  // in codecov-users through the nesting
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(frank.allow)
        let eve = try await gatehouse.authorizeLogin(login("gitlab:eve", email: "eve@acme.com"), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(!eve.allow && eve.reason == .notInAllowedGroup)
        let dave = try await gatehouse.authorizeLogin(login("ldap:dave"), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(!dave.allow && dave.reason == .notInAllowedGroup)
        let stranger = try await gatehouse.authorizeLogin(login("github:mallory", email: "m@evil.example"), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(!stranger.allow && stranger.reason == .notInDirectory)
        // Dropping eve's group membership in the directory takes effect at the next sync.
        try slapd.modify("dn: cn=platform,ou=groups,\(Slapd.suffix)\nchangetype: modify\nadd: member\nmember: uid=eve,ou=people,\(Slapd.suffix)\n")
        let outcome = try await gatehouse.syncDirectory(actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(outcome.plan.memberships.map(\.uid) == ["eve"])
        #expect(try await gatehouse.authorizeLogin(login("gitlab:eve", email: "eve@acme.com"), actor: "test").allow)
    }

    @Test("A renamed uid keeps the person (entryUUID); a recycled uid is a new person", arguments: Engine.allCases)
    func renames(engine: Engine) async throws {
        let slapd = try Slapd(ldif: DirectoryFixture.ldif)
        var config = slapd.configuration()
        config.maxRemovalPercent = 50
        let (_, gatehouse, _) = try await gatehouseWithLicense(engine: engine, directory: config)
        _ = try await gatehouse.syncDirectory(actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        let bob = try await gatehouse.activateSeat(user: "ldap:bob", actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        try slapd.modify("dn: uid=bob,ou=people,\(Slapd.suffix)\nchangetype: modrdn\nnewrdn: uid=robert\ndeleteoldrdn: 1\n")
        let renamed = try await gatehouse.syncDirectory(actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(renamed.plan.updated.map(\.changes) == [["uid"]] && renamed.plan.added.isEmpty && renamed.plan.left.isEmpty)
        let robert = try await gatehouse.user("ldap:robert")
        #expect(robert.person.id == bob.person.id && robert.person.seat == .active)
        // carol leaves and a new carol arrives with the same uid: a different person.
        let carol = try await gatehouse.user("ldap:carol").person.id
        try slapd.modify("dn: uid=carol,ou=people,\(Slapd.suffix)\nchangetype: delete\n")
        try slapd.modify(DirectoryFixture.person("carol", mail: "carol.new@acme.com").asLDIFAdd())
        let recycled = try await gatehouse.syncDirectory(actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(recycled.plan.left.map(\.uid) == ["carol"] && recycled.plan.added.map(\.person.uid) == ["carol"])
        #expect(try await gatehouse.user("ldap:carol").person.id != carol)
        #expect(try await gatehouse.store.person(id: carol)?.status == .leftDirectory)
    }
}

extension String {
    /// An LDIF entry as an `ldapmodify` add: `changetype: add` after the dn line.
    func asLDIFAdd() -> String {
        guard !contains("changetype:"), let newline = firstIndex(of: "\n") else { return self }
        return String(self[...newline]) + "changetype: add\n" + String(self[index(after: newline)...])
    }
}

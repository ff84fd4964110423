import Foundation
import GRDB
import GatehouseDomain
import GatehouseService
import GatehouseStorage
import Synchronization
import Testing

/// A row read never guesses: a misspelt column, a NULL where a value belongs, or a value the
/// code does not know is an error that names the column, not an empty string or a default.
@Suite("Row decoding")
struct RowDecodingTests {
    let row = SQLRow(
        names: ["id", "status", "count", "flag", "at", "note"],
        values: [.text("p1"), .text("active"), .int(3), .int(1), .text("2026-11-01T00:00:00Z"), .null])

    @Test func readsWhatIsThere() throws {
        #expect(try row["id"] as String == "p1")
        #expect(try row["count"] as Int64 == 3)
        #expect(try row["flag"] as Bool)
        #expect(try row["note"] as String? == nil)
        #expect(try row.value("status", as: PersonStatus.self) == .active)
        #expect(try row.time("at") == ts("2026-11-01T00:00:00Z"))
    }

    @Test func refusesWhatIsNot() {
        func message(_ body: () throws -> Void) -> String {
            do {
                try body()
                return "no error"
            } catch let error as StoreError {
                return error.code == .corrupt ? error.message : "code \(error.code)"
            } catch { return "\(error)" }
        }
        #expect(message { _ = try row["stauts"] as String }.contains("no column stauts"))
        #expect(message { _ = try row["note"] as String }.contains("column note holds NULL"))
        #expect(message { _ = try row["id"] as Int64 }.contains("column id holds the text \"p1\""))
        #expect(message { _ = try row["count"] as Bool }.contains("column count holds the integer 3"))
        #expect(message { _ = try row.value("id", as: PersonStatus.self) }.contains("column id holds \"p1\", not a PersonStatus"))
        #expect(message { _ = try row.time("id") }.contains("not a UTC time"))
    }

    @Test func anUnknownValueInTheDatabaseIsAnErrorNamingTheColumn() async throws {
        let (dir, gatehouse, _) = try await gatehouseWithLicense()
        _ = try await gatehouse.activateSeat(user: "github:alice", actor: "t")
        try await DatabaseQueue(path: dir.file("gatehouse.db")).write {
            try $0.execute(sql: "PRAGMA ignore_check_constraints = ON; UPDATE persons SET status = 'suspended'")
        }
        let error = await #expect(throws: StoreError.self) { _ = try await gatehouse.store.persons(seat: nil, notSeenSince: nil) }
        #expect(error?.code == .corrupt)
        #expect(error.map { GatehouseError.from($0)?.code } == "database_corrupt")
        #expect(error?.message.contains("column status holds \"suspended\"") == true, "\(String(describing: error))")
    }
}

extension RowDecodingTests {
    /// People written as SQL, with every kind of value a column can hold.
    static let people = """
        INSERT INTO persons (id, name, email, role, status, seat, last_seen_at, created_at) VALUES
          ('p_a', 'Ada "the first" Lovelace', 'ada@example.com', 'admin', 'active', 'active', '2026-11-02T03:04:05.678Z', '2026-11-01T00:00:00Z'),
          ('p_b', '', NULL, 'user', 'blocked', 'none', NULL, '2026-11-01T00:00:00.5Z'),
          ('p_c', 'Zoë Ünïcode', 'zoe@example.com', 'user', 'left_directory', 'none', NULL, '2026-10-31T23:59:59Z');
        INSERT INTO identities (id, provider, username, username_key, external_id, email, person_id, created_at) VALUES
          (7, 'github', 'Ada', 'ada', '1001', 'ada@example.com', 'p_a', '2026-11-01T00:00:00Z'),
          (8, 'gitlab', 'ada-l', 'ada-l', NULL, NULL, 'p_a', '2026-11-01T00:00:00Z'),
          (9, 'oidc', 'Zoë', 'zoë', 'sub-9', NULL, 'p_c', '2026-11-01T00:00:00Z');
        INSERT INTO memberships (identity_id, kind, name, source, present, updated_at) VALUES
          (7, 'org', 'acme', 'signin', 1, '2026-11-01T00:00:00Z'), (7, 'team', 'acme/core', 'webhook', 0, '2026-11-01T00:00:00Z'),
          (8, 'group', 'eng', 'ldap', 1, '2026-11-01T00:00:00Z'), (9, 'group', 'ops', 'scim', 1, '2026-11-01T00:00:00Z'),
          (9, 'org', 'zoë-org', 'request', 1, '2026-11-01T00:00:00Z');
        """

    static func load(_ store: any PeopleStore) async throws -> (PeopleSnapshot, [PeopleLoadPart]) {
        let parts = Mutex<[PeopleLoadPart]>([])
        let head = try await store.loadPeople { part in parts.withLock { $0.append(part) } }
        var snapshot = PeopleSnapshot(persons: [], identities: [], memberships: [], auditSeq: head)
        for part in parts.withLock({ $0 }) {
            switch part {
            case .persons(let persons): snapshot.persons += persons
            case .identities(let identities): snapshot.identities += identities
            case .memberships(let memberships): snapshot.memberships += memberships
            case .sizes, .sessions: break
            }
        }
        return (snapshot, parts.withLock { $0 })
    }

    @Test("A load reads every column as the row-by-row reads do (on SQLite it reads the statement's buffers in place)")
    func loadReadsAsRowsDo() async throws {
        let (dir, gatehouse, _) = try await gatehouseWithLicense()
        try await DatabaseQueue(path: dir.file("gatehouse.db")).write { try $0.execute(sql: Self.people) }
        let store = gatehouse.store
        let (loaded, _) = try await Self.load(store)

        let persons = try await store.persons(seat: nil, notSeenSince: nil)
        #expect(persons.count == 3)
        let loadedByID = Dictionary(uniqueKeysWithValues: loaded.persons.map { ($0.id, $0) })
        #expect(loadedByID == Dictionary(uniqueKeysWithValues: persons.map { ($0.id, $0) }))
        #expect(loaded.persons.first { $0.id == "p_a" }?.lastSeenAt == ts("2026-11-02T03:04:05.678Z"))
        var identities: [IdentityRecord] = []
        var memberships: [MembershipRecord] = []
        for person in persons {
            for identity in try await store.identities(personID: person.id) {
                identities.append(identity)
                memberships += try await store.memberships(identityID: identity.id)
            }
        }
        #expect(identities.count == 3 && memberships.count == 5)
        let byID = Dictionary(uniqueKeysWithValues: identities.map { ($0.id, $0) })
        for identity in loaded.identities {
            #expect(identity == byID[identity.id] && identity.ref.username == byID[identity.id]?.ref.username, "\(identity)")
        }
        #expect(loaded.identities.count == 3)
        #expect(Set(loaded.memberships) == Set(memberships) && loaded.memberships.count == 5)
    }

    @Test(
        "A load refuses a value it does not know, naming the column",
        arguments: [
            ("UPDATE persons SET status = 'suspended' WHERE id = 'p_b'", "column status holds \"suspended\", not a PersonStatus"),
            ("UPDATE persons SET created_at = 'yesterday' WHERE id = 'p_c'", "column created_at holds \"yesterday\", not a UTC time"),
            ("UPDATE identities SET provider = 'myspace' WHERE id = 8", "column provider holds \"myspace\", not a Provider"),
            ("UPDATE memberships SET present = 'yes' WHERE identity_id = 9", "column present holds the text \"yes\""),
            ("UPDATE memberships SET present = 2 WHERE identity_id = 9", "column present holds the integer 2, not a flag"),
        ])
    func loadRefusesTheUnknown(change: String, message: String) async throws {
        let (dir, gatehouse, _) = try await gatehouseWithLicense()
        try await DatabaseQueue(path: dir.file("gatehouse.db")).write { try $0.execute(sql: Self.people) }
        try await DatabaseQueue(path: dir.file("gatehouse.db")).write {
            try $0.execute(sql: "PRAGMA ignore_check_constraints = ON")
            try $0.execute(sql: change)
        }
        let error = await #expect(throws: StoreError.self) { _ = try await Self.load(gatehouse.store) }
        #expect(error?.code == .corrupt)
        #expect(error?.message.contains(message) == true, "\(String(describing: error))")
    }
}

import Foundation
import GatehouseDomain
import Testing

@testable import GatehouseStorage

/// Statements sent without waiting for their answer (`executeLater`: PostgreSQL pipelines them)
/// must keep a transaction all-or-nothing, and the audit head a transaction remembers must
/// agree with the stored one.
@Suite("Storage transactions")
struct StorageTransactionTests {
    static let stamp = "2026-01-01T00:00:00.000Z"

    @Test("A statement sent without waiting that fails rolls back the whole transaction", arguments: Engine.allCases)
    func laterFailureRollsBack(engine: Engine) async throws {
        let dir = try TempDir()
        let store = try #require(try engine.newStore(in: dir) as? SQLStore)
        _ = try await store.migrate(actor: "test", at: Date())
        let head = try await store.auditChainHead()

        let error = await #expect(throws: StoreError.self) {
            try await store.write { db in
                try SQLStore.appendAudit(db, AuditDraft(actor: "test", action: "test.write", subject: "p_1"), at: Date())
                try db.executeLater("INSERT INTO persons (id, name, created_at) VALUES (?, ?, ?)", ["p_1", "first", Self.stamp])
                // The same id again: a unique violation, noticed only when an answer is awaited.
                try db.executeLater("INSERT INTO persons (id, name, created_at) VALUES (?, ?, ?)", ["p_1", "again", Self.stamp])
                try db.executeLater("INSERT INTO persons (id, name, created_at) VALUES (?, ?, ?)", ["p_2", "after", Self.stamp])
            }
        }
        #expect(error?.code == .conflict, "\(String(describing: error))")
        // Nothing of it is kept: no person, no audit entry.
        #expect(try await store.read { db in try db.value(as: Int.self, "SELECT COUNT(*) FROM persons") } == 0)
        #expect(try await store.auditChainHead()?.seq == head?.seq)

        // The connection is usable again, and a failure among earlier statements is reported
        // by the first statement that waits, before it is trusted.
        let reading = await #expect(throws: StoreError.self) {
            try await store.write { db in
                try db.executeLater("INSERT INTO persons (id, name, created_at) VALUES (?, ?, ?)", ["not-a-person-id", "x", Self.stamp])
                _ = try db.value(as: Int.self, "SELECT COUNT(*) FROM persons")
                Issue.record("the read after a failed statement returned")
            }
        }
        #expect(reading?.code == .conflict)
        try await store.write { db in
            try db.executeLater("INSERT INTO persons (id, name, created_at) VALUES (?, ?, ?)", ["p_3", "kept", Self.stamp])
            try SQLStore.appendAudit(db, AuditDraft(actor: "test", action: "test.write", subject: "p_3"), at: Date())
        }
        #expect(try await store.read { db in try db.values(as: String.self, "SELECT id FROM persons") } == ["p_3"])
        #expect(try await store.verifyAudit().problem == nil)
    }

    @Test("The head a transaction remembers is the stored head, however many entries it appends", arguments: Engine.allCases)
    func rememberedHead(engine: Engine) async throws {
        let dir = try TempDir()
        let store = try #require(try engine.newStore(in: dir) as? SQLStore)
        _ = try await store.migrate(actor: "test", at: Date())
        let (remembered, stored) = try await store.write { db in
            for i in 0..<5 {
                try SQLStore.appendAudit(db, AuditDraft(actor: "test", action: "test.write", subject: "entry \(i)"), at: Date())
            }
            let remembered = try SQLStore.storedAuditHead(db)
            try SQLStore.forgetAuditHead(db)  // writes the head row, then reads it back
            return (remembered, try SQLStore.storedAuditHead(db))
        }
        #expect(remembered?.seq == stored?.seq && remembered?.hash == stored?.hash)
        #expect(try await store.auditChainHead()?.hash == stored?.hash)
        let verifier = try await store.verifyAudit()
        #expect(verifier.problem == nil && verifier.entries == (stored?.seq ?? 0))
    }

    /// Persons whose names and emails try the binding: empty text (not NULL), NULL, text
    /// beyond ASCII, quotes; 250 of them, so SQLite's hundred-row statements run twice and a
    /// shorter one once.
    static func bulkPersons() -> SQLRows {
        var rows = SQLRows("persons", ["id", "name", "email"], constants: [("created_at", .text(stamp)), ("seat", .text("none"))])
        for i in 0..<250 {
            let name: SQLValue = i % 5 == 0 ? .text("") : .text("Zoë O'Brien \"\(i)\" 日本")
            rows.append([.text(String(format: "p_%04d", i)), name, i % 3 == 0 ? .null : .text("user\(i)@example.com")])
        }
        return rows
    }

    @Test("Rows inserted in bulk are stored exactly as given, on both engines", arguments: Engine.allCases)
    func bulkInsert(engine: Engine) async throws {
        let dir = try TempDir()
        let store = try #require(try engine.newStore(in: dir) as? SQLStore)
        _ = try await store.migrate(actor: "test", at: Date())
        let persons = Self.bulkPersons()
        try await store.write { db in
            try db.insert(persons)
            // Integers (PostgreSQL reads them out of the JSON as such) and a constant among them.
            var identities = SQLRows(
                "identities", ["id", "username", "username_key", "person_id"],
                constants: [("provider", .text("ldap")), ("created_at", .text(Self.stamp))])
            for i in 0..<250 {
                identities.append([.int(Int64(1000 + i)), .text("User\(i)"), .text("user\(i)"), .text(String(format: "p_%04d", i))])
            }
            try db.insert(identities)
            try db.idsWereSet(table: "identities")
            try db.insert(SQLRows("memberships", ["identity_id", "name"]))  // no rows: nothing sent
        }
        let stored = try await store.read { db in
            try db.rows("SELECT id, name, email, created_at, seat FROM persons ORDER BY id").map(\.values)
        }
        #expect(stored.count == 250)
        for (index, row) in stored.enumerated() {
            #expect(Array(row[0..<3]) == Array(persons.values[index * 3..<index * 3 + 3]), "row \(index)")
            #expect(row[3] == .text(Self.stamp) && row[4] == .text("none"))
        }
        let identities = try await store.read { db in
            try db.rows("SELECT id, provider, person_id FROM identities ORDER BY id").map {
                "\(try $0["id"] as Int64) \(try $0["provider"] as String) \(try $0["person_id"] as String)"
            }
        }
        #expect(identities == (0..<250).map { "\(1000 + $0) ldap \(String(format: "p_%04d", $0))" })
    }

    @Test("A bulk insert that breaks a constraint midway keeps nothing of the transaction", arguments: Engine.allCases)
    func bulkInsertFailure(engine: Engine) async throws {
        let dir = try TempDir()
        let store = try #require(try engine.newStore(in: dir) as? SQLStore)
        _ = try await store.migrate(actor: "test", at: Date())
        // Row 151 repeats row 7's id: the first hundred rows are written before it fails.
        var values = Self.bulkPersons().values
        values[150 * 3] = values[7 * 3]
        var persons = SQLRows("persons", ["id", "name", "email"], constants: [("created_at", .text(Self.stamp))])
        for start in stride(from: 0, to: values.count, by: 3) { persons.append(Array(values[start..<start + 3])) }
        let failing = persons
        let error = await #expect(throws: StoreError.self) {
            try await store.write { db in
                try SQLStore.appendAudit(db, AuditDraft(actor: "test", action: "test.write", subject: "p_bulk"), at: Date())
                try db.insert(failing)
                _ = try db.value(as: Int.self, "SELECT COUNT(*) FROM persons")  // PostgreSQL: the failure surfaces here
            }
        }
        #expect(error?.code == .conflict, "\(String(describing: error))")
        #expect(try await store.read { db in try db.value(as: Int.self, "SELECT COUNT(*) FROM persons") } == 0)
        #expect(try await store.verifyAudit().problem == nil)
    }

    @Test(
        "A plan's many audit entries, sealed on another thread, continue the chain in the plan's order; a failure after keeps none",
        arguments: Engine.allCases)
    func auditSealedAhead(engine: Engine) async throws {
        let dir = try TempDir()
        let store = try #require(try engine.newStore(in: dir) as? SQLStore)
        _ = try await store.migrate(actor: "test", at: Date())
        let at = Date(timeIntervalSince1970: 1_780_000_000)
        let note: @Sendable (String) -> AuditDraft = { AuditDraft(actor: "test", action: "test.note", subject: $0) }
        try await store.write { db in _ = try SQLStore.appendAudit(db, note("before"), at: at) }
        let before = try #require(try await store.auditChainHead())
        // More people than `AuditBatch.sealAheadFrom`, so that their entries are sealed ahead.
        let count = SQLStore.AuditBatch.sealAheadFrom + 100
        let people = (0..<count).map { i in
            DirectoryPerson(dn: "uid=u\(i),ou=people,dc=acme", uid: "u\(i)", email: "u\(i)@acme.com", name: "U \(i)", externalID: "x-\(i)")
        }
        let eng = DirectoryGroup(dn: "cn=eng,ou=groups,dc=acme", name: "eng", memberDNs: people.map(\.dn), memberUIDs: [])
        let listing = DirectoryListing(people: people, groups: [eng])
        let plan = try await store.applyDirectorySync(prefetched: nil, actor: "test", at: at) { stored in
            var plan = DirectoryPlanner.plan(listing, stored: stored, identity: IdentityPolicy())
            var rng = SystemRandomNumberGenerator()
            for i in plan.added.indices { plan.added[i].newPersonID = PersonID.make(at: at, using: &rng) }
            return plan
        }
        try await store.write { db in _ = try SQLStore.appendAudit(db, note("after"), at: at) }
        let entries = try await store.auditEntries(AuditQuery()).filter { $0.seq > before.seq }
        #expect(entries.map(\.seq) == Array(before.seq + 1...before.seq + Int64(entries.count)))
        #expect(entries.first?.prevHash == before.hash)
        // Every addition in the plan's order, then the sync's own entry (appended after the
        // rest were handed over), then the next transaction's.
        #expect(entries.prefix(count).allSatisfy { $0.action == "directory.person.add" })
        #expect(entries.prefix(count).map(\.subject) == plan.added.map(\.newPersonID))
        #expect(entries.dropFirst(count).map(\.action) == ["directory.sync", "test.note"])
        #expect(try await store.auditChainHead()?.seq == entries.last?.seq)
        #expect(try await store.verifyAudit().problem == nil)

        // A transaction that fails after handing its entries over keeps none of them.
        let head = try await store.auditChainHead()
        struct Failed: Error {}
        await #expect(throws: (any Error).self) {
            try await store.write { db in
                var batch = try SQLStore.AuditBatch(db)
                for i in 0..<count { batch.append(note("lost \(i)"), at: at) }
                batch.sealAhead()
                throw Failed()
            }
        }
        #expect(try await store.auditChainHead()?.seq == head?.seq)
        #expect(try await store.verifyAudit().problem == nil)
    }
}

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
}

import Foundation
import GatehouseDomain

/// What `gatehouse db copy` did.
public struct DatabaseCopyReport: Sendable {
    /// Rows copied per table, in copy order.
    public var rows: [(table: String, count: Int)]
    /// The audit chain of the copy, verified after the copy (including the `database.copy` entry).
    public var audit: AuditVerifier
}

extension SQLStore {
    /// Every table, parents before children. `seat_counter` is rebuilt by the target's own
    /// triggers as persons arrive; `schema_migrations` is the target's own (checksums differ
    /// per engine); job leases and sign-ins under way are not carried over (`notCopied`). A table a later migration
    /// adds must be named in one list or the other: the copy refuses to leave one behind.
    static let copiedTables: [(name: String, order: String, generatedID: Bool)] = [
        ("licenses", "id", true), ("prorations", "id", true), ("persons", "id", false), ("tokens", "name", false),
        ("audit_log", "seq", false), ("audit_head", "id", false), ("clock", "id", false), ("identities", "id", true),
        ("memberships", "identity_id, kind, name, source", false), ("seat_events", "id", true), ("policy_sets", "id", true),
        ("webhook_deliveries", "provider, delivery_id", false), ("denial_counts", "day, kind, reason", false),
        ("recent_denials", "id", true), ("directory_sync", "id", false), ("egress_denials", "day, destination, reason", false),
        ("sessions", "id", false), ("seat_requests", "requested_at, person_id", false), ("notifications", "id", true),
        ("scim_users", "id", false), ("scim_groups", "id", false), ("scim_members", "group_id, user_id", false),
        ("scim_removals", "at, user_id", false), ("scim_allowances", "until, people", false),
        ("scim_state", "id", false),
    ]
    static let notCopied: Set<String> = ["schema_migrations", "seat_counter", "job_leases", "signin_attempts", "console_links"]

    /// Copies everything in this database into `target`, which must be empty (no schema): the
    /// target's schema is created, every row is copied in one write transaction (nothing is
    /// left half-copied), a `database.copy` entry is appended to the chain, and the copy is
    /// verified: the chain recomputed, the source's head found in it, row counts and seats equal.
    public func copy(to target: SQLStore, actor: String, at: Date, progress: @escaping @Sendable (String, Int) -> Void = { _, _ in })
        async throws
        -> DatabaseCopyReport
    {
        let status = try await schemaStatus()
        guard !status.applied.isEmpty else { throw StoreError(.notInitialised, "\(location) has no schema: nothing to copy") }
        guard status.pending.isEmpty else {
            throw StoreError(.needsMigration, "\(location) has pending migrations \(status.pending): run `gatehouse migrate` on it first")
        }
        // One snapshot of the source.
        let snapshot = try await read { db in
            try SQLStore.copiedTables.map { table in (table, try db.rows("SELECT * FROM \(table.name) ORDER BY \(table.order)")) }
        }
        let sourceHead = try await auditChainHead()
        let sourceSeats = try await activeSeatCount()
        let source = location
        let counts = try await target.write { db in
            if try db.tableExists("schema_migrations") || db.tableExists("audit_log") {
                throw StoreError(
                    .conflict, "\(target.location) already has a schema: db copy needs an empty database (it creates the schema itself)")
            }
            _ = try SQLStore.applyMigrations(db, engine: target.engine, at: at)
            let unknown = try db.tables().subtracting(SQLStore.copiedTables.map(\.name)).subtracting(SQLStore.notCopied)
            guard unknown.isEmpty else {
                throw StoreError(.conflict, "db copy does not know the tables \(unknown.sorted()): nothing was written")
            }
            var counts: [(String, Int)] = []
            for (table, rows) in snapshot {
                try SQLStore.insert(rows, into: table.name, db)
                if table.generatedID, !rows.isEmpty { try db.idsWereSet(table: table.name) }
                counts.append((table.name, rows.count))
                progress(table.name, rows.count)
            }
            try SQLStore.forgetAuditHead(db)  // the chain and its head were copied as rows
            let copiedSeats = try SQLStore.activeSeats(db)
            guard copiedSeats == sourceSeats else {
                throw StoreError(.conflict, "the copy holds \(copiedSeats) active seats, the source \(sourceSeats): nothing was written")
            }
            try SQLStore.appendAudit(
                db,
                AuditDraft(
                    actor: actor, action: "database.copy", subject: "\(target.engine) database",
                    details: [
                        "from": .string(source), "rows": .int(Int64(counts.reduce(0) { $0 + $1.1 })),
                        "source_head_seq": .int(sourceHead?.seq ?? 0),
                    ]), at: at)
            return counts
        }
        let audit = try await target.verifyAudit()
        if let head = sourceHead {
            let copied = try await target.auditEntries(AuditQuery()).first { $0.seq == head.seq }
            guard copied?.hash == head.hash else {
                throw StoreError(.conflict, "the copy's audit entry \(head.seq) does not match the source's head")
            }
        }
        return DatabaseCopyReport(rows: counts, audit: audit)
    }

    /// Inserts rows in multi-row statements (a few hundred rows per round trip).
    static func insert(_ rows: [SQLRow], into table: String, _ db: any SQLSession) throws {
        guard let first = rows.first else { return }
        let columns = first.columns.map(\.name)
        let perStatement = max(1, 4000 / columns.count)
        var start = 0
        while start < rows.count {
            let batch = rows[start..<min(rows.count, start + perStatement)]
            let tuple = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
            let sql =
                "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES "
                + Array(repeating: tuple, count: batch.count).joined(separator: ", ")
            try db.execute(sql, batch.flatMap { row in row.columns.map { $0.value as (any SQLBindable)? } })
            start += perStatement
        }
    }
}

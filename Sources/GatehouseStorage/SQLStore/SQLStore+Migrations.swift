import Foundation
import GatehouseDomain

extension SQLStore {
    static let createBookkeeping = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version    INTEGER PRIMARY KEY,
            name       TEXT NOT NULL,
            checksum   TEXT NOT NULL,
            applied_at TEXT NOT NULL
        )
        """

    public func schemaStatus() async throws -> SchemaStatus {
        let known = EmbeddedMigration.all(for: engine)
        return try await read { db in try SQLStore.status(db, known: known) }
    }

    /// Reads applied migrations and refuses a schema this binary cannot run on: one migrated
    /// by a newer gatehouse, or whose applied migrations were edited after the fact.
    static func status(_ db: any SQLSession, known: [EmbeddedMigration]) throws -> SchemaStatus {
        guard try db.tableExists("schema_migrations") else {
            return SchemaStatus(applied: [], known: known.map(\.version))
        }
        let rows = try db.rows("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
        let newest = known.last?.version ?? 0
        var applied: [Int] = []
        for row in rows {
            let version: Int = try row["version"]
            guard let migration = known.first(where: { $0.version == version }) else {
                throw StoreError(
                    .schemaTooNew,
                    "the database is at schema version \((try? rows.last.map { try $0["version"] as Int }) ?? version), newer than this gatehouse (which knows up to \(newest)): upgrade gatehouse"
                )
            }
            if try sha256Hex(migration.sql) != row["checksum"] as String {
                throw StoreError(
                    .migrationChanged,
                    "migration \(version)_\(migration.name) differs from the one applied to this database; migrations are append-only")
            }
            applied.append(version)
        }
        return SchemaStatus(applied: applied, known: known.map(\.version))
    }

    /// Applies the pending migrations inside the caller's transaction (which, holding the
    /// write lock, makes replicas starting together apply them once); the versions applied.
    static func applyMigrations(_ db: any SQLSession, engine: String, at: Date) throws -> [Int] {
        let known = EmbeddedMigration.all(for: engine)
        try db.execute(SQLStore.createBookkeeping)
        let status = try SQLStore.status(db, known: known)
        let pending = known.filter { status.pending.contains($0.version) }
        let stamp = UTC.format(at, milliseconds: true)
        for migration in pending {
            try db.executeScript(migration.sql)
            try SQLStore.forgetAuditHead(db)  // a migration may touch the chain's tables
            try db.execute(
                "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)",
                [migration.version, migration.name, sha256Hex(migration.sql), stamp])
        }
        return pending.map(\.version)
    }

    public func migrate(actor: String, at: Date) async throws -> [Int] {
        try await write { db in
            let versions = try SQLStore.applyMigrations(db, engine: self.engine, at: at)
            guard !versions.isEmpty else { return [] }
            try SQLStore.appendAudit(
                db,
                AuditDraft(
                    actor: actor, action: "schema.migrate", subject: "\(self.engine) schema",
                    details: ["applied": .array(versions.map { .integer($0) }), "engine": .string(self.engine)]), at: at)
            return versions
        }
    }
}

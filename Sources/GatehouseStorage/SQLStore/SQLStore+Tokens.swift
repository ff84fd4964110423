import Foundation
import GatehouseDomain

extension SQLStore {
    public func createToken(_ token: TokenRecord, audit: AuditDraft, at: Date) async throws {
        try await write { db in
            if try db.value(as: Bool.self, "SELECT 1 FROM tokens WHERE name = ?", [token.name]) == true {
                throw StoreError(.conflict, "a token named \(token.name) already exists")
            }
            try db.execute(
                "INSERT INTO tokens (name, scope, hash, last_four, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    token.name, token.scope.rawValue, token.hash, token.lastFour, UTC.format(token.createdAt, milliseconds: true),
                    token.createdBy,
                ])
            try SQLStore.appendAudit(db, audit, at: at)
        }
    }

    public func tokens() async throws -> [TokenRecord] {
        try await read { db in try db.rows("SELECT * FROM tokens ORDER BY name").map(SQLStore.token) }
    }

    public func token(hash: String) async throws -> TokenRecord? {
        try await read { db in
            try db.row("SELECT * FROM tokens WHERE hash = ?", [hash]).map(SQLStore.token)
        }
    }

    public func revokeToken(name: String, audit: AuditDraft, at: Date) async throws {
        try await write { db in
            guard try db.execute("DELETE FROM tokens WHERE name = ?", [name]) == 1 else {
                throw StoreError(.notFound, "no token named \(name)")
            }
            try SQLStore.appendAudit(db, audit, at: at)
        }
    }

    static func token(_ row: SQLRow) throws -> TokenRecord {
        try TokenRecord(
            name: row["name"], scope: row.value("scope", as: TokenScope.self), hash: row["hash"], lastFour: row["last_four"],
            createdAt: row.time("created_at"), createdBy: row["created_by"])
    }
}

import Foundation
import GRDB
import GatehouseDomain

extension SQLiteStore {
    public func createToken(_ token: TokenRecord, audit: AuditDraft, at: Date) async throws {
        try await write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM tokens WHERE name = ?", arguments: [token.name]) == true {
                throw StoreError(.conflict, "a token named \(token.name) already exists")
            }
            try db.execute(
                sql: "INSERT INTO tokens (name, scope, hash, last_four, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [
                    token.name, token.scope.rawValue, token.hash, token.lastFour, UTC.format(token.createdAt, milliseconds: true),
                    token.createdBy,
                ])
            try SQLiteStore.appendAudit(db, audit, at: at)
        }
    }

    public func tokens() async throws -> [TokenRecord] {
        try await read { db in try Row.fetchAll(db, sql: "SELECT * FROM tokens ORDER BY name").compactMap(SQLiteStore.token) }
    }

    public func token(hash: String) async throws -> TokenRecord? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM tokens WHERE hash = ?", arguments: [hash]).flatMap(SQLiteStore.token)
        }
    }

    public func revokeToken(name: String, audit: AuditDraft, at: Date) async throws {
        try await write { db in
            try db.execute(sql: "DELETE FROM tokens WHERE name = ?", arguments: [name])
            guard db.changesCount == 1 else { throw StoreError(.notFound, "no token named \(name)") }
            try SQLiteStore.appendAudit(db, audit, at: at)
        }
    }

    static func token(_ row: Row) -> TokenRecord? {
        guard let scope = TokenScope(rawValue: row["scope"]) else { return nil }
        return TokenRecord(
            name: row["name"], scope: scope, hash: row["hash"], lastFour: row["last_four"],
            createdAt: UTC.parseTimestamp(row["created_at"]) ?? .distantPast, createdBy: row["created_by"])
    }
}

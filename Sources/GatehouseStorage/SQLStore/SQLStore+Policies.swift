import Foundation
import GatehouseDomain

extension SQLStore {
    public func policySetInForce() async throws -> StoredPolicySet? {
        try await read { db in try db.row("SELECT * FROM policy_sets WHERE in_force = 1").map(SQLStore.policySet) }
    }

    public func policySet(asOf: Date) async throws -> StoredPolicySet? {
        try await read { db in
            try db.row(
                "SELECT * FROM policy_sets WHERE applied_at <= ? ORDER BY id DESC LIMIT 1", [UTC.format(asOf, milliseconds: true)]
            ).map(SQLStore.policySet)
        }
    }

    public func license(asOf: Date) async throws -> StoredLicense? {
        try await read { db in
            try db.row(
                "SELECT * FROM licenses WHERE installed_at <= ? ORDER BY id DESC LIMIT 1", [UTC.format(asOf, milliseconds: true)]
            ).map(SQLStore.license)
        }
    }

    public func seatHolders(asOf: Date) async throws -> [String] {
        try await read { db in
            try db.values(
                as: String.self,
                """
                SELECT person_id FROM seat_events
                WHERE id IN (SELECT MAX(id) FROM seat_events WHERE at <= ? GROUP BY person_id) AND event = 'activate'
                ORDER BY person_id
                """, [UTC.format(asOf, milliseconds: true)])
        }
    }

    static func policySet(_ row: SQLRow) throws -> StoredPolicySet {
        var files: [String: String] = [:]
        if case .object(let members)? = try? JSONValue.parse(try row["files"] as String) {
            for (name, value) in members { if case .string(let text) = value { files[name] = text } }
        }
        return try StoredPolicySet(
            sha256: row["sha256"], files: files, appliedAt: row.time("applied_at"),
            appliedBy: row["applied_by"])
    }

    public func applyPolicySet(_ set: StoredPolicySet, audit: AuditDraft) async throws {
        try await write { db in
            try db.execute("UPDATE policy_sets SET in_force = 0 WHERE in_force = 1")
            let files = JSONValue.object(set.files.mapValues(JSONValue.string)).canonicalText
            try db.execute(
                "INSERT INTO policy_sets (sha256, files, applied_at, applied_by, in_force) VALUES (?, ?, ?, ?, 1)",
                [set.sha256, files, UTC.format(set.appliedAt, milliseconds: true), set.appliedBy])
            try SQLStore.appendAudit(db, audit, at: set.appliedAt)
        }
    }
}

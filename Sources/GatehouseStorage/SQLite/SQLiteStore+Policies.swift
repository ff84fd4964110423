import Foundation
import GRDB
import GatehouseDomain

extension SQLiteStore {
    public func policySetInForce() async throws -> StoredPolicySet? {
        try await read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM policy_sets WHERE in_force = 1") else { return nil }
            var files: [String: String] = [:]
            if case .object(let members)? = try? JSONValue.parse(row["files"] as String) {
                for (name, value) in members { if case .string(let text) = value { files[name] = text } }
            }
            return StoredPolicySet(
                sha256: row["sha256"], files: files, appliedAt: UTC.parseTimestamp(row["applied_at"]) ?? .distantPast, appliedBy: row["applied_by"])
        }
    }

    public func applyPolicySet(_ set: StoredPolicySet, audit: AuditDraft) async throws {
        try await write { db in
            try db.execute(sql: "UPDATE policy_sets SET in_force = 0 WHERE in_force = 1")
            let files = JSONValue.object(set.files.mapValues(JSONValue.string)).canonicalText
            try db.execute(
                sql: "INSERT INTO policy_sets (sha256, files, applied_at, applied_by, in_force) VALUES (?, ?, ?, ?, 1)",
                arguments: [set.sha256, files, UTC.format(set.appliedAt, milliseconds: true), set.appliedBy])
            try SQLiteStore.appendAudit(db, audit, at: set.appliedAt)
        }
    }
}

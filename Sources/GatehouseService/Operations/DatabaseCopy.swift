import Foundation
import GatehouseDomain
import GatehouseStorage

/// `gatehouse db copy`: every row of one database into a new, empty one (either engine), with
/// the audit chain verified after the copy.
public struct DatabaseCopy: Sendable {
    public var from: String
    public var to: String
    public var rows: [(table: String, count: Int)]
    public var audit: AuditVerifier

    public var total: Int { rows.reduce(0) { $0 + $1.count } }

    /// Copies `from` into `to`. A SQLite target must be a new file; a PostgreSQL target an
    /// empty database (the store refuses one with a schema). `progress` hears each table.
    public static func run(
        from: String, to: String, actor: String, at: Date = Date(), progress: @escaping @Sendable (String, Int) -> Void = { _, _ in }
    ) async throws -> DatabaseCopy {
        let source = try DatabaseLocation(from).open(create: false)
        let targetLocation = try DatabaseLocation(to)
        if case .sqlite(let path) = targetLocation, FileManager.default.fileExists(atPath: path) {
            throw GatehouseError(.targetExists, "\(path) exists: db copy writes a new database (remove it, or name another file)")
        }
        let target = try targetLocation.open(create: true)
        guard let sourceStore = source as? SQLStore, let targetStore = target as? SQLStore else {
            throw GatehouseError(.unsupportedDatabase, "db copy works between SQLite and PostgreSQL stores")
        }
        do {
            let report = try await sourceStore.copy(to: targetStore, actor: actor, at: at, progress: progress)
            return DatabaseCopy(from: source.location, to: target.location, rows: report.rows, audit: report.audit)
        } catch {
            throw GatehouseError.from(error) ?? error
        }
    }

    public var json: JSONValue {
        [
            "from": .string(from), "to": .string(to), "rows": .int(Int64(total)),
            "tables": .object(Dictionary(uniqueKeysWithValues: rows.map { ($0.table, JSONValue.int(Int64($0.count))) })),
            "audit_entries": .int(audit.entries), "audit_ok": .bool(audit.ok),
        ]
    }

    public var summary: String {
        "copied \(total) rows from \(from) to \(to); audit chain verified: \(audit.entries) entries"
            + (audit.ok ? ", intact" : " — BROKEN: \(audit.problem ?? "")")
    }
}

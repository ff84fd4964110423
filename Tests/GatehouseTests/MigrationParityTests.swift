import Foundation
import GatehouseDomain
import Testing

@testable import GatehouseStorage

/// `migrations/sqlite` and `migrations/postgres` are written twice, by hand: after every
/// migration, both engines must hold the same schema — the same tables and columns, the same
/// nullability, the same unique column sets (primary keys included) and the same foreign keys,
/// and columns of the same kind (integer or text: the schema uses nothing else).
@Suite("Migration parity")
struct MigrationParityTests {
    struct Column: Hashable, CustomStringConvertible {
        var table: String
        var name: String
        var kind: String
        var nullable: Bool
        var description: String { "\(table).\(name) \(kind)\(nullable ? " NULL" : " NOT NULL")" }
    }

    struct Schema: Equatable {
        var versions: [Int] = []
        var columns: Set<Column> = []
        var uniques: Set<String> = []
        var foreignKeys: Set<String> = []
    }

    static func kind(_ declared: String) -> String {
        let t = declared.lowercased()
        if t.contains("int") { return "integer" }
        if t.contains("text") || t.contains("char") { return "text" }
        return t
    }

    static func describeSQLite(_ db: any SQLSession) throws -> Schema {
        var schema = Schema()
        let tables: [String] = try db.values(
            as: String.self, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        for table in tables {
            var primaryKey: [(Int64, String)] = []
            for row in try db.rows("SELECT name, type, \"notnull\" AS nn, pk FROM pragma_table_info(?)", [table]) {
                let name: String = try row["name"], pk: Int64 = try row["pk"]
                if pk > 0 { primaryKey.append((pk, name)) }
                schema.columns.insert(
                    Column(table: table, name: name, kind: kind(try row["type"]), nullable: try row["nn"] as Int64 == 0 && pk == 0))
            }
            if !primaryKey.isEmpty { schema.uniques.insert("\(table)(\(primaryKey.map(\.1).sorted().joined(separator: ",")))") }
            for index in try db.rows("SELECT name, \"unique\" AS u FROM pragma_index_list(?)", [table]) where try index["u"] as Int64 == 1 {
                let columns: [String] = try db.values(
                    as: String.self, "SELECT name FROM pragma_index_info(?)", [try index["name"] as String])
                schema.uniques.insert("\(table)(\(columns.sorted().joined(separator: ",")))")
            }
            for fk in try db.rows("SELECT \"from\" AS f, \"table\" AS t, \"to\" AS c FROM pragma_foreign_key_list(?)", [table]) {
                schema.foreignKeys.insert("\(table).\(try fk["f"] as String) -> \(try fk["t"] as String).\(try fk["c"] as String? ?? "?")")
            }
        }
        schema.versions = try db.values(as: Int.self, "SELECT version FROM schema_migrations ORDER BY version")
        return schema
    }

    static func describePostgres(_ db: any SQLSession) throws -> Schema {
        var schema = Schema()
        for row in try db.rows(
            """
            SELECT table_name AS t, column_name AS c, data_type AS d, is_nullable AS n FROM information_schema.columns
            WHERE table_schema = current_schema()
            """)
        {
            schema.columns.insert(
                Column(table: try row["t"], name: try row["c"], kind: kind(try row["d"]), nullable: try row["n"] as String == "YES"))
        }
        for row in try db.rows(
            """
            SELECT t.relname AS t, (SELECT string_agg(a.attname, ',' ORDER BY a.attname) FROM pg_attribute a
                WHERE a.attrelid = t.oid AND a.attnum = ANY(i.indkey)) AS cols
            FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
            WHERE i.indisunique AND n.nspname = current_schema()
            """)
        {
            schema.uniques.insert("\(try row["t"] as String)(\(try row["cols"] as String))")
        }
        for row in try db.rows(
            """
            SELECT c.conrelid::regclass::text AS t, a.attname AS f, c.confrelid::regclass::text AS rt, ra.attname AS rc
            FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
            JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1]
            WHERE c.contype = 'f' AND n.nspname = current_schema()
            """)
        {
            schema.foreignKeys.insert(
                "\(try row["t"] as String).\(try row["f"] as String) -> \(try row["rt"] as String).\(try row["rc"] as String)")
        }
        schema.versions = try db.values(as: Int.self, "SELECT version FROM schema_migrations ORDER BY version")
        return schema
    }

    @Test func bothEnginesHoldTheSameSchema() async throws {
        let dir = try TempDir()
        let sqlite = try #require(try Engine.sqlite.newStore(in: dir) as? SQLStore)
        let postgres = try #require(try Engine.postgres.newStore(in: dir) as? SQLStore)
        for store in [sqlite, postgres] { _ = try await store.migrate(actor: "test", at: ts("2026-11-10T00:00:00Z")) }
        let lite = try await sqlite.read { try Self.describeSQLite($0) }
        let pg = try await postgres.read { try Self.describePostgres($0) }

        #expect(lite.versions == pg.versions)
        #expect(lite.versions == Array(1...lite.versions.count), "versions \(lite.versions)")
        #expect(lite.columns.count > 50)
        // A column in one engine and not the other, or differing in kind or nullability.
        let onlySQLite = lite.columns.subtracting(pg.columns).sorted { $0.description < $1.description }
        let onlyPostgres = pg.columns.subtracting(lite.columns).sorted { $0.description < $1.description }
        #expect(onlySQLite.isEmpty && onlyPostgres.isEmpty, "SQLite only: \(onlySQLite)\nPostgreSQL only: \(onlyPostgres)")
        #expect(
            lite.uniques == pg.uniques,
            "SQLite only: \(lite.uniques.subtracting(pg.uniques).sorted())\nPostgreSQL only: \(pg.uniques.subtracting(lite.uniques).sorted())"
        )
        #expect(
            lite.foreignKeys == pg.foreignKeys,
            "SQLite only: \(lite.foreignKeys.subtracting(pg.foreignKeys).sorted())\nPostgreSQL only: \(pg.foreignKeys.subtracting(lite.foreignKeys).sorted())"
        )
        #expect(
            lite.uniques.count > 15 && lite.foreignKeys.count > 5,
            "\(lite.uniques.count) unique sets, \(lite.foreignKeys.count) foreign keys")
    }
}

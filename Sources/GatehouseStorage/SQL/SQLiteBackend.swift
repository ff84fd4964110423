import Foundation
import GRDB
import GatehouseDomain

/// The embedded engine: one SQLite file in WAL mode, so the CLI and a running server can use
/// it at once (readers never block the writer). Write transactions are IMMEDIATE and wait
/// up to 10 s for another process's write to finish.
final class SQLiteBackend: SQLBackend {
    let dialect = SQLDialect.sqlite
    let path: String
    let pool: DatabasePool

    /// Opens the database at `path`. Without `create`, a missing file is an error that tells
    /// the administrator to run `gatehouse migrate`, rather than a new empty database.
    init(path: String, create: Bool) throws {
        self.path = path
        if !create, !FileManager.default.fileExists(atPath: path) {
            throw StoreError(.notInitialised, "no database at \(path): run `gatehouse migrate` to create it, or pass --database")
        }
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.label = "gatehouse"
        do {
            pool = try DatabasePool(path: path, configuration: config)
        } catch {
            throw StoreError(.unavailable, "cannot open SQLite database \(path): \(SQLiteBackend.describe(error))")
        }
    }

    var displayName: String { "sqlite:\(path)" }

    static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return error.message ?? "\(error.resultCode)" }
        return "\(error)"
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLSession) throws -> T) async throws -> T {
        do { return try await pool.read { db in try body(SQLiteSession(db: db)) } } catch let error as StoreError { throw error } catch {
            throw StoreError(.unavailable, "database read failed: \(SQLiteBackend.describe(error))")
        }
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (any SQLSession) throws -> T) async throws -> T {
        do { return try await pool.write { db in try body(SQLiteSession(db: db)) } } catch let error as StoreError { throw error } catch let
            error as ScimError
        {
            // A rule's refusal (a SCIM precondition, say) is the caller's answer, not a database failure.
            throw error
        } catch let error as DatabaseError
            where error.resultCode == .SQLITE_CONSTRAINT
        {
            throw StoreError(.conflict, "the change conflicts with stored data: \(error.message ?? "constraint failed")")
        } catch {
            throw StoreError(.unavailable, "database write failed: \(SQLiteBackend.describe(error))")
        }
    }
}

/// A GRDB connection inside a transaction.
struct SQLiteSession: SQLSession {
    let db: Database
    let chainHead = ChainHeadCache()
    var dialect: SQLDialect { .sqlite }

    func execute(_ sql: String, _ arguments: [(any SQLBindable)?]) throws -> Int {
        try db.cachedStatement(sql: sql).execute(arguments: Self.arguments(arguments))
        return db.changesCount
    }

    /// SQLite runs in this process: nothing to gain from not waiting.
    func executeLater(_ sql: String, _ arguments: [(any SQLBindable)?]) throws {
        _ = try execute(sql, arguments)
    }

    func rows(_ sql: String, _ arguments: [(any SQLBindable)?]) throws -> [SQLRow] {
        var rows: [SQLRow] = []
        try forEachRow(sql, arguments) { rows.append($0) }
        return rows
    }

    func forEachRow(_ sql: String, _ arguments: [(any SQLBindable)?], _ body: (SQLRow) throws -> Void) throws {
        let statement = try db.cachedStatement(sql: sql)
        let names = statement.columnNames
        let cursor = try Row.fetchCursor(statement, arguments: Self.arguments(arguments))
        var values: [SQLValue] = []
        values.reserveCapacity(names.count)
        while let row = try cursor.next() {
            // The cursor's row is the statement's current one: read before the next step.
            values.removeAll(keepingCapacity: true)
            for index in 0..<row.count {
                switch (row[index] as DatabaseValue).storage {
                case .null: values.append(.null)
                case .int64(let int): values.append(.int(int))
                case .double(let double): values.append(.text(String(double)))
                case .string(let text): values.append(.text(text))
                case .blob(let data): values.append(.text(String(decoding: data, as: UTF8.self)))
                }
            }
            try body(SQLRow(names: names, values: values))
        }
    }

    func tables() throws -> Set<String> {
        Set(try values(as: String.self, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"))
    }

    func executeScript(_ sql: String) throws { try db.execute(sql: sql) }

    func idsWereSet(table: String) throws {}

    static func arguments(_ values: [(any SQLBindable)?]) -> StatementArguments {
        StatementArguments(
            values.sqlValues.map { value -> (any DatabaseValueConvertible)? in
                switch value {
                case .null: nil
                case .int(let int): int
                case .text(let text): text
                }
            })
    }
}

import Foundation
import GRDB
import GRDBSQLite
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
        // The writer's statement journal in memory. A multi-row insert in a transaction keeps
        // one (it may fail halfway), and SQLite copies into it every page the statement is
        // first to touch: ~800,000 page copies, 1.6 GB, for a first sync of 100,000 people,
        // each a `pwrite` to a temporary file. It only takes effect for transactions begun
        // after it is set, so it is set when the connection opens. Readers keep the default
        // (a large sort may still spill to a file).
        config.prepareDatabase { db in
            if !db.configuration.readonly { try db.execute(sql: "PRAGMA temp_store = MEMORY") }
        }
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

    /// Rows up to a hundred at a time (`INSERT … VALUES (…), (…), …`), each value bound straight
    /// from `rows`. A statement per row costs SQLite several microseconds to start and end
    /// however little it writes: three times the writing itself for a membership row.
    func insert(_ rows: SQLRows) throws {
        guard !rows.isEmpty else { return }
        guard let connection = db.sqliteConnection else {
            throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "the connection is closed")
        }
        let width = rows.columns.count
        let perStatement = Self.rowsPerStatement(values: width + rows.constants.count)
        // One statement for the full chunks (compiling a hundred rows' inserts costs more
        // than running them), another for the rest.
        var prepared: (rows: Int, statement: OpaquePointer, sql: String)?
        defer { if let prepared { sqlite3_finalize(prepared.statement) } }
        var start = 0
        while start < rows.count {
            let count = min(perStatement, rows.count - start)
            if prepared?.rows != count {
                if let prepared { sqlite3_finalize(prepared.statement) }
                prepared = nil
                let sql = rows.valuesStatement(rows: count)
                var compiled: OpaquePointer?
                let code = sqlite3_prepare_v2(connection, sql, -1, &compiled, nil)
                guard code == SQLITE_OK, let compiled else { throw Self.failure(connection, code, sql) }
                prepared = (count, compiled, sql)
            }
            let (statement, sql) = (prepared!.statement, prepared!.sql)
            var index: Int32 = 0
            for row in start..<start + count {
                for value in rows.values[row * width..<(row + 1) * width] {
                    index += 1
                    try Self.bind(value, index, statement, connection, sql)
                }
                for constant in rows.constants {
                    index += 1
                    try Self.bind(constant.value, index, statement, connection, sql)
                }
            }
            let stepped = sqlite3_step(statement)
            guard stepped == SQLITE_DONE else { throw Self.failure(connection, stepped, sql) }
            sqlite3_reset(statement)
            start += count
        }
    }

    /// A hundred rows a statement, or fewer if that would bind more than 999 values (the
    /// oldest SQLite's limit; newer ones allow 32,766).
    static func rowsPerStatement(values: Int) -> Int { max(1, min(100, 999 / max(1, values))) }

    private static func bind(
        _ value: SQLValue, _ index: Int32, _ statement: OpaquePointer, _ connection: OpaquePointer, _ sql: String
    ) throws {
        let code: Int32
        switch value {
        case .null: code = sqlite3_bind_null(statement, index)
        case .int(let int): code = sqlite3_bind_int64(statement, index, int)
        case .text(let text) where text.isEmpty:
            // Still text, never NULL (which a buffer without an address would bind).
            code = sqlite3_bind_text(statement, index, "", 0, Self.transient)
        case .text(var text):
            // SQLite copies the bytes (SQLITE_TRANSIENT).
            code = text.withUTF8 { utf8 in
                let bytes = UnsafeRawPointer(utf8.baseAddress!).assumingMemoryBound(to: CChar.self)
                return sqlite3_bind_text(statement, index, bytes, Int32(utf8.count), Self.transient)
            }
        }
        guard code == SQLITE_OK else { throw failure(connection, code, sql) }
    }

    /// SQLite's SQLITE_TRANSIENT (a destructor of -1: copy the value now), which C defines as a cast.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    private static func failure(_ connection: OpaquePointer, _ code: Int32, _ sql: String) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)), sql: sql)
    }

    func rows(_ sql: String, _ arguments: [(any SQLBindable)?]) throws -> [SQLRow] {
        var rows: [SQLRow] = []
        try forEachRow(sql, arguments) { rows.append($0) }
        return rows
    }

    func forEachRow(_ sql: String, _ arguments: [(any SQLBindable)?], _ body: (SQLRow) throws -> Void) throws {
        var values: [SQLValue] = []
        try forEachRow(sql, arguments) { (columns: SQLiteColumns) in
            values.removeAll(keepingCapacity: true)
            for index in columns.columnNames.indices { values.append(try columns.value(index)) }
            try body(SQLRow(names: columns.columnNames, values: values))
        }
    }

    /// Hands each row to `body` as the statement itself, read by position (see `SQLColumns`):
    /// each step's columns are read straight from the statement (through GRDB's
    /// `DatabaseValue` every value took a generic decode: a fifth of a load's time).
    func forEachRow(_ sql: String, _ arguments: [(any SQLBindable)?] = [], _ body: (SQLiteColumns) throws -> Void) throws {
        let statement = try db.cachedStatement(sql: sql)
        let columns = SQLiteColumns(statement: statement.sqliteStatement, columnNames: statement.columnNames)
        let cursor = try Row.fetchCursor(statement, arguments: Self.arguments(arguments))
        while try cursor.next() != nil { try body(columns) }
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

/// The current row of a SQLite statement, read in place (valid until the next step).
struct SQLiteColumns: SQLColumns {
    let statement: OpaquePointer
    let columnNames: [String]

    func isNull(_ index: Int) -> Bool { sqlite3_column_type(statement, Int32(index)) == SQLITE_NULL }

    /// The column as an `SQLValue` (a float or a blob as text, as the SQL layer knows no other).
    func value(_ index: Int) throws -> SQLValue {
        switch sqlite3_column_type(statement, Int32(index)) {
        case SQLITE_NULL: .null
        case SQLITE_INTEGER: .int(sqlite3_column_int64(statement, Int32(index)))
        default: .text(try text(index))
        }
    }

    func int64(_ index: Int) throws -> Int64 {
        switch sqlite3_column_type(statement, Int32(index)) {
        case SQLITE_INTEGER: return sqlite3_column_int64(statement, Int32(index))
        case SQLITE_NULL: throw StoreError(.corrupt, "column \(name(index)) holds NULL, not Int64")
        default:
            let text = try self.text(index)
            guard let value = Int64(text) else {
                throw StoreError(.corrupt, "column \(name(index)) holds the text \"\(text.prefix(40))\", not Int64")
            }
            return value
        }
    }

    func text(_ index: Int) throws -> String {
        try withText(index) { String(decoding: $0, as: UTF8.self) }
    }

    func withText<R>(_ index: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) throws -> R {
        let column = Int32(index)
        switch sqlite3_column_type(statement, column) {
        case SQLITE_NULL:
            throw StoreError(.corrupt, "column \(name(index)) holds NULL, not String")
        case SQLITE_INTEGER:
            // As `SQLRow` reads numbers: their digits.
            var digits = String(sqlite3_column_int64(statement, column))
            return try digits.withUTF8(body)
        case SQLITE_FLOAT:
            var digits = String(sqlite3_column_double(statement, column))
            return try digits.withUTF8(body)
        default:
            // sqlite3_column_text before sqlite3_column_bytes (SQLite's own rule for the count).
            let text = sqlite3_column_text(statement, column)
            let count = Int(sqlite3_column_bytes(statement, column))
            return try body(UnsafeBufferPointer(start: text, count: count))
        }
    }
}

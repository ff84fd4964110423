import Foundation
import GatehouseDomain

/// A value bound to a statement or read from a row. The schema uses integers and text only
/// (times are UTC text, flags 0/1), so both engines read and write the same values.
public enum SQLValue: Sendable, Equatable {
    case null
    case int(Int64)
    case text(String)
}

/// Something that can be bound as a statement argument.
public protocol SQLBindable {
    var sqlValue: SQLValue { get }
}

extension String: SQLBindable { public var sqlValue: SQLValue { .text(self) } }
extension Int64: SQLBindable { public var sqlValue: SQLValue { .int(self) } }
extension Int: SQLBindable { public var sqlValue: SQLValue { .int(Int64(self)) } }
extension Bool: SQLBindable { public var sqlValue: SQLValue { .int(self ? 1 : 0) } }
extension SQLValue: SQLBindable { public var sqlValue: SQLValue { self } }

/// Something a column can be read as: `nil` when the value is not one (NULL included, for
/// anything but an optional). A row read never guesses: a missing column, a NULL where the
/// schema promises a value, or text that is not a number is a `database_corrupt` error naming
/// the column, never an empty string or a zero passed on as data.
public protocol SQLDecodable {
    static func decode(_ value: SQLValue) -> Self?
}

extension String: SQLDecodable {
    public static func decode(_ value: SQLValue) -> String? {
        switch value {
        case .text(let text): text
        case .int(let int): String(int)
        case .null: nil
        }
    }
}

extension Int64: SQLDecodable {
    public static func decode(_ value: SQLValue) -> Int64? {
        switch value {
        case .int(let int): int
        case .text(let text): Int64(text)
        case .null: nil
        }
    }
}

extension Int: SQLDecodable {
    public static func decode(_ value: SQLValue) -> Int? { Int64.decode(value).map { Int($0) } }
}

extension Bool: SQLDecodable {
    /// Flags are 0 or 1; anything else is not a flag.
    public static func decode(_ value: SQLValue) -> Bool? {
        switch Int64.decode(value) {
        case 0: false
        case 1: true
        default: nil
        }
    }
}

extension Optional: SQLDecodable where Wrapped: SQLDecodable {
    public static func decode(_ value: SQLValue) -> Wrapped?? {
        if value == .null { return .some(nil) }
        return Wrapped.decode(value).map { .some($0) }
    }
}

/// One result row, read by column name or position.
public struct SQLRow: Sendable {
    let names: [String]
    let values: [SQLValue]

    public init(names: [String], values: [SQLValue]) {
        self.names = names
        self.values = values
    }

    public subscript<T: SQLDecodable>(_ column: String) -> T {
        get throws { try self[position(of: column)] }
    }

    public subscript<T: SQLDecodable>(_ index: Int) -> T {
        get throws {
            guard values.indices.contains(index) else { throw StoreError(.corrupt, "the result has no column at position \(index)") }
            guard let decoded = T.decode(values[index]) else { throw Self.mismatch(values[index], T.self, column: name(index)) }
            return decoded
        }
    }

    static func decode<T: SQLDecodable>(_ value: SQLValue, _ column: String) throws -> T {
        guard let decoded = T.decode(value) else { throw mismatch(value, T.self, column: column) }
        return decoded
    }

    /// A column whose value is not of the type asked for (named only when it happens: a load
    /// reads millions of values).
    private static func mismatch(_ value: SQLValue, _ type: Any.Type, column: String) -> StoreError {
        let found =
            switch value {
            case .null: "NULL"
            case .int(let int): "the integer \(int)"
            case .text(let text): "the text \"\(text.prefix(40))\""
            }
        return StoreError(.corrupt, "column \(column) holds \(found), not \(type)")
    }

    /// A UTC timestamp column (`2026-11-01T00:00:00Z`, milliseconds optional).
    public func time(_ column: String) throws -> Date { try time(position(of: column)) }

    /// A nullable timestamp column.
    public func optionalTime(_ column: String) throws -> Date? { try optionalTime(position(of: column)) }

    /// A day column (`2026-11-01`).
    public func day(_ column: String) throws -> Date {
        let text: String = try self[column]
        guard let day = UTC.parseDay(text) else { throw StoreError(.corrupt, "column \(column) holds \"\(text.prefix(40))\", not a day") }
        return day
    }

    /// A column holding one of an enumeration's raw values; anything else names the column.
    public func value<E: RawRepresentable>(_ column: String, as type: E.Type) throws -> E where E.RawValue == String {
        let text: String = try self[column]
        guard let value = E(rawValue: text) else {
            throw StoreError(.corrupt, "column \(column) holds \"\(text.prefix(40))\", not a \(E.self)")
        }
        return value
    }

    /// Column names and values, in order (for copying a table).
    public var columns: [(name: String, value: SQLValue)] { Array(zip(names, values)) }
}

/// The SQL both engines disagree on, kept to a few spellings.
public enum SQLDialect: String, Sendable {
    case sqlite, postgres

    /// A row source over the elements of a JSON array bound as one `?` argument, each
    /// available as `value` (read with `value ->> N`; cast integers with `CAST(… AS BIGINT)`).
    var jsonArrayElements: String {
        switch self {
        case .sqlite: "json_each(?)"
        case .postgres: "json_array_elements(CAST(? AS json)) AS value"
        }
    }
}

/// One connection inside one transaction. Statements use `?` (or `?N`) placeholders in both
/// engines; the PostgreSQL session rewrites them to `$N`.
public protocol SQLSession {
    var dialect: SQLDialect { get }
    /// Runs a statement and returns the number of rows it changed.
    @discardableResult
    func execute(_ sql: String, _ arguments: [(any SQLBindable)?]) throws -> Int
    /// Runs a statement whose result is not needed. PostgreSQL sends it without waiting for
    /// the answer: the next statement that needs one waits for both, so a failure surfaces
    /// there (or at COMMIT) and the transaction is rolled back as for any other failure.
    /// Never for a statement whose failure the caller means to catch.
    func executeLater(_ sql: String, _ arguments: [(any SQLBindable)?]) throws
    /// Inserts the rows, as `executeLater` runs a statement: PostgreSQL sends them without
    /// waiting (a failure surfaces at the next statement that waits, or at COMMIT).
    func insert(_ rows: SQLRows) throws
    /// The audit chain's head as this transaction last read or wrote it (see
    /// `SQLStore.storedAuditHead`): a write transaction excludes every other writer, so the
    /// head read once is known until this transaction changes it.
    var chainHead: ChainHeadCache { get }
    func rows(_ sql: String, _ arguments: [(any SQLBindable)?]) throws -> [SQLRow]
    /// Hands the result's rows to `body` one at a time, as they are read where the engine
    /// allows (SQLite), so that a million rows are never all held at once.
    func forEachRow(_ sql: String, _ arguments: [(any SQLBindable)?], _ body: (SQLRow) throws -> Void) throws
    /// The tables of the schema in use.
    func tables() throws -> Set<String>
    /// Runs a script of several statements (a migration).
    func executeScript(_ sql: String) throws
    /// After rows were inserted with explicit ids into a table whose ids are otherwise
    /// generated: PostgreSQL's identity sequence must move past them.
    func idsWereSet(table: String) throws
}

/// What one transaction knows of the audit chain's head: unknown until read, then the stored
/// head (or none before the first entry). The head row is written once, when the transaction's
/// body is done (`SQLStore.flushAuditHead`), however many entries it appended. One
/// transaction's session uses it from one thread.
public final class ChainHeadCache: @unchecked Sendable {
    enum State {
        case unknown
        case known((seq: Int64, hash: String)?)
    }
    var state = State.unknown
    /// The head moved and its row is not written yet.
    var unwritten = false
    /// Gate sessions this transaction ended (a block, a released seat, a departure…): once it
    /// commits, this process forgets them at once (`AuditWriteLog.takeEndedSessions`).
    var endedSessions: [String] = []
    init() {}
}

extension SQLSession {
    @discardableResult
    public func execute(_ sql: String) throws -> Int { try execute(sql, []) }

    public func rows(_ sql: String) throws -> [SQLRow] { try rows(sql, []) }

    public func forEachRow(_ sql: String, _ arguments: [(any SQLBindable)?], _ body: (SQLRow) throws -> Void) throws {
        for row in try rows(sql, arguments) { try body(row) }
    }

    public func tableExists(_ name: String) throws -> Bool { try tables().contains(name) }

    public func row(_ sql: String, _ arguments: [(any SQLBindable)?] = []) throws -> SQLRow? {
        try rows(sql, arguments).first
    }

    /// The first column of the first row, if there is a row and the value is not NULL.
    public func value<T: SQLDecodable>(as: T.Type, _ sql: String, _ arguments: [(any SQLBindable)?] = []) throws -> T? {
        guard let row = try row(sql, arguments), let first = row.values.first, first != .null else { return nil }
        return try SQLRow.decode(first, row.names.first ?? "#0")
    }

    public func values<T: SQLDecodable>(as: T.Type, _ sql: String, _ arguments: [(any SQLBindable)?] = []) throws -> [T] {
        try rows(sql, arguments).map { try $0[0] }
    }
}

extension Array where Element == (any SQLBindable)? {
    var sqlValues: [SQLValue] { map { $0?.sqlValue ?? .null } }
}

/// An engine: transactions on a connection, run off the caller's task.
public protocol SQLBackend: Sendable {
    var dialect: SQLDialect { get }
    /// A consistent read (one snapshot).
    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLSession) throws -> T) async throws -> T
    /// One write transaction at a time across every process using the database: the audit
    /// chain and the seat counter are only ever changed by one writer.
    func write<T: Sendable>(_ body: @escaping @Sendable (any SQLSession) throws -> T) async throws -> T
    /// Where the database is, without secrets (for messages).
    var displayName: String { get }
}

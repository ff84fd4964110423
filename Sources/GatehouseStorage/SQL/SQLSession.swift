import Foundation

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

/// Something a column can be read as. Reading never traps: the schema's NOT NULL and CHECK
/// constraints make a mismatch impossible, and a value that cannot be read becomes the
/// type's zero (an empty string, 0) rather than a crash.
public protocol SQLDecodable {
    static func decode(_ value: SQLValue) -> Self
}

extension String: SQLDecodable {
    public static func decode(_ value: SQLValue) -> String {
        switch value {
        case .text(let text): text
        case .int(let int): String(int)
        case .null: ""
        }
    }
}

extension Int64: SQLDecodable {
    public static func decode(_ value: SQLValue) -> Int64 {
        switch value {
        case .int(let int): int
        case .text(let text): Int64(text) ?? 0
        case .null: 0
        }
    }
}

extension Int: SQLDecodable {
    public static func decode(_ value: SQLValue) -> Int { Int(Int64.decode(value)) }
}

extension Bool: SQLDecodable {
    public static func decode(_ value: SQLValue) -> Bool { Int64.decode(value) != 0 }
}

extension Optional: SQLDecodable where Wrapped: SQLDecodable {
    public static func decode(_ value: SQLValue) -> Wrapped? { value == .null ? nil : Wrapped.decode(value) }
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
        guard let index = names.firstIndex(of: column) else { return T.decode(.null) }
        return T.decode(values[index])
    }

    public subscript<T: SQLDecodable>(_ index: Int) -> T {
        T.decode(index < values.count ? values[index] : .null)
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
    /// The audit chain's head as this transaction last read or wrote it (see
    /// `SQLStore.storedAuditHead`): a write transaction excludes every other writer, so the
    /// head read once is known until this transaction changes it.
    var chainHead: ChainHeadCache { get }
    func rows(_ sql: String, _ arguments: [(any SQLBindable)?]) throws -> [SQLRow]
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

    public func tableExists(_ name: String) throws -> Bool { try tables().contains(name) }

    public func row(_ sql: String, _ arguments: [(any SQLBindable)?] = []) throws -> SQLRow? {
        try rows(sql, arguments).first
    }

    /// The first column of the first row, if there is a row and the value is not NULL.
    public func value<T: SQLDecodable>(as: T.Type, _ sql: String, _ arguments: [(any SQLBindable)?] = []) throws -> T? {
        guard let row = try row(sql, arguments), let first = row.values.first, first != .null else { return nil }
        return T.decode(first)
    }

    public func values<T: SQLDecodable>(as: T.Type, _ sql: String, _ arguments: [(any SQLBindable)?] = []) throws -> [T] {
        try rows(sql, arguments).map { $0[0] }
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

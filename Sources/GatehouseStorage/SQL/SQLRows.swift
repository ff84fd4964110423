import GatehouseDomain

/// Many new rows of one table, written by `SQLSession.insert` in the way each engine takes
/// them fastest: SQLite, in this process, gets multi-row `INSERT … VALUES` statements with the
/// values bound straight from here; PostgreSQL, a round trip away, gets one statement over a
/// JSON array of them all.
///
/// (Before, both engines were sent the JSON array. For SQLite that meant building the JSON
/// text, then SQLite parsing it again for every column of every row; docs/benchmarks.md,
/// "Session of 2026-11-27 (evening)", has the first directory sync before and after.)
public struct SQLRows: Sendable {
    let table: String
    /// The columns each row gives, in order.
    let columns: [String]
    /// Columns whose value is the same for every row (a time, a source), bound once.
    let constants: [(column: String, value: SQLValue)]
    /// Every row's values, one after another.
    private(set) var values: [SQLValue] = []

    init(_ table: String, _ columns: [String], constants: [(column: String, value: SQLValue)] = []) {
        precondition(!columns.isEmpty, "rows of no column")
        self.table = table
        self.columns = columns
        self.constants = constants
    }

    var count: Int { values.count / columns.count }
    var isEmpty: Bool { values.isEmpty }

    /// Adds one row: a value for each of `columns`, in their order.
    mutating func append(_ row: [SQLValue]) {
        precondition(row.count == columns.count, "\(row.count) values for the \(columns.count) columns of \(table)")
        values.append(contentsOf: row)
    }

    /// Every column named in the statement: the rows' own, then the constants.
    var columnList: String { (columns + constants.map(\.column)).joined(separator: ", ") }

    /// An insert of `rows` rows, each row's values as `?`s (its own columns, then the constants).
    func valuesStatement(rows: Int) -> String {
        let row = "(" + Array(repeating: "?", count: columns.count + constants.count).joined(separator: ", ") + ")"
        return "INSERT INTO \(table) (\(columnList)) VALUES " + Array(repeating: row, count: rows).joined(separator: ", ")
    }

    /// An insert of every row from the JSON array bound last (see `jsonText`); the constants
    /// are bound before it, in order. A column given an integer in some row is read out of the
    /// JSON as one.
    func jsonStatement(_ dialect: SQLDialect) -> String {
        var integers = [Bool](repeating: false, count: columns.count)
        for (index, value) in values.enumerated() {
            if case .int = value { integers[index % columns.count] = true }
        }
        let selected =
            columns.indices.map { integers[$0] ? "CAST(value ->> \($0) AS BIGINT)" : "value ->> \($0)" }
            + constants.map { _ in "?" }
        return "INSERT INTO \(table) (\(columnList)) SELECT \(selected.joined(separator: ", ")) FROM \(dialect.jsonArrayElements)"
    }

    /// The rows as a JSON array of arrays.
    var jsonText: String {
        var rows: [JSONValue] = []
        rows.reserveCapacity(count)
        for start in stride(from: 0, to: values.count, by: columns.count) {
            rows.append(
                .array(
                    values[start..<start + columns.count].map { value in
                        switch value {
                        case .null: .null
                        case .int(let int): .int(int)
                        case .text(let text): .string(text)
                        }
                    }))
        }
        return JSONValue.array(rows).canonicalText
    }
}

extension SQLValue {
    /// The text, or NULL.
    static func optional(_ text: String?) -> SQLValue { text.map(SQLValue.text) ?? .null }
}

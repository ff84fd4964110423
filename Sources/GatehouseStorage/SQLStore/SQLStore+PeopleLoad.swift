import Foundation
import GatehouseDomain

extension SQLStore {
    public func loadPeople(_ deliver: @escaping @Sendable (PeopleLoadPart) -> Void) async throws -> Int64 {
        try await read { db in
            func count(_ table: String) throws -> Int { Int(try db.value(as: Int64.self, "SELECT COUNT(*) FROM \(table)") ?? 0) }
            deliver(.sizes(persons: try count("persons"), identities: try count("identities"), memberships: try count("memberships")))
            try Self.stream(db, "persons", SQLStore.personColumns, PersonColumns.self) { deliver(.persons($0)) }
            try Self.stream(db, "identities", SQLStore.identityColumns, IdentityColumns.self) { deliver(.identities($0)) }
            try Self.stream(db, "memberships", SQLStore.membershipColumns, MembershipColumns.self) { deliver(.memberships($0)) }
            deliver(.sessions(try db.rows("SELECT * FROM sessions").map(SQLStore.session)))
            return try SQLStore.auditHead(db)
        }
    }

    /// Rows per part of a load.
    static let loadPiece = 8_192

    /// Rows are decoded as they are read and handed over a piece at a time: a million people
    /// are never held as rows, nor all at once as records. On SQLite each row is decoded from
    /// the statement's own buffers (`SQLiteColumns`).
    private static func stream<Columns: RowDecoder>(
        _ db: any SQLSession, _ table: String, _ columns: String, _ decoder: Columns.Type, _ deliver: ([Columns.Record]) -> Void
    ) throws {
        var piece: [Columns.Record] = []
        piece.reserveCapacity(loadPiece)
        try forEachRecord(db, "SELECT \(columns) FROM \(table)", [], decoder) { record in
            piece.append(record)
            if piece.count == loadPiece {
                deliver(piece)
                piece.removeAll(keepingCapacity: true)
            }
        }
        if !piece.isEmpty { deliver(piece) }
    }

    /// Decodes each row of a result with `Columns` (the positions found in the first row serve
    /// every row) and hands the record to `body`; on SQLite straight from the statement's own
    /// buffers (`SQLiteColumns`), elsewhere from `SQLRow`s.
    static func forEachRecord<Columns: RowDecoder>(
        _ db: any SQLSession, _ sql: String, _ arguments: [(any SQLBindable)?], _ decoder: Columns.Type,
        _ body: (Columns.Record) throws -> Void
    ) throws {
        var positions: Columns?
        func take(_ row: some SQLColumns) throws {
            let decoder = try positions ?? Columns(row)
            positions = decoder
            try body(try decoder.decode(row))
        }
        if let sqlite = db as? SQLiteSession {
            try sqlite.forEachRow(sql, arguments) { (columns: SQLiteColumns) in try take(columns) }
        } else {
            try db.forEachRow(sql, arguments, take)
        }
    }
}

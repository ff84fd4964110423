import Foundation
import GRDB
import GatehouseDomain

/// The embedded store: one SQLite file in WAL mode, so the CLI and a running server can use
/// it at once (readers never block the writer). Write transactions are IMMEDIATE and wait
/// up to 10 s for another process's write to finish.
public final class SQLiteStore: Store {
    public let engine = "sqlite"
    public let path: String
    public let writeLog = AuditWriteLog()
    let pool: DatabasePool

    /// Opens the database at `path`. Without `create`, a missing file is an error that tells
    /// the administrator to run `gatehouse migrate`, rather than a new empty database.
    public init(path: String, create: Bool) throws {
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
            throw StoreError(.unavailable, "cannot open SQLite database \(path): \(SQLiteStore.describe(error))")
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return error.message ?? "\(error.resultCode)" }
        return "\(error)"
    }

    /// Runs a read, mapping SQLite failures to `StoreError`.
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do { return try await pool.read(body) } catch let error as StoreError { throw error } catch {
            throw StoreError(.unavailable, "database read failed: \(SQLiteStore.describe(error))")
        }
    }

    /// Runs a write transaction, mapping SQLite failures to `StoreError`. The audit entries it
    /// appended are recorded in `writeLog` once it commits (writers are exclusive, so the
    /// head before and after bound exactly this transaction's entries).
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            let (value, before, after) = try await pool.write { db in
                // Before the first migration there is no chain yet.
                let before = try db.tableExists("audit_head") ? try SQLiteStore.auditHead(db) : 0
                let value = try body(db)
                let after = try db.tableExists("audit_head") ? try SQLiteStore.auditHead(db) : 0
                return (value, before, after)
            }
            if after > before { writeLog.record((before + 1)...after) }
            return value
        } catch let error as StoreError { throw error } catch let error as DatabaseError
            where error.resultCode == .SQLITE_CONSTRAINT
        {
            throw StoreError(.conflict, "the change conflicts with stored data: \(error.message ?? "constraint failed")")
        } catch {
            throw StoreError(.unavailable, "database write failed: \(SQLiteStore.describe(error))")
        }
    }

    public func ping() async throws {
        _ = try await read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }

    // MARK: clock

    public func latestSeen() async throws -> Date? {
        try await read { db in
            try String.fetchOne(db, sql: "SELECT latest_seen_at FROM clock WHERE id = 1").flatMap(UTC.parseTimestamp)
        }
    }

    public func recordSeen(_ now: Date) async throws {
        let text = UTC.format(now, milliseconds: true)
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO clock (id, latest_seen_at) VALUES (1, ?)
                    ON CONFLICT (id) DO UPDATE SET latest_seen_at = excluded.latest_seen_at
                    WHERE excluded.latest_seen_at > clock.latest_seen_at
                    """, arguments: [text])
        }
    }

    // MARK: seats

    public func activeSeatCount() async throws -> Int64 {
        try await read { db in try SQLiteStore.activeSeats(db) }
    }

    /// Active seats, from the trigger-maintained counter (one row, however many seat holders).
    static func activeSeats(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT active FROM seat_counter WHERE id = 1") ?? 0
    }

    // MARK: audit

    /// The recorded chain head: the latest entry's sequence number and hash (none before the first).
    static func storedAuditHead(_ db: Database) throws -> (seq: Int64, hash: String)? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT seq, hash FROM audit_head WHERE id = 1")).map { (seq: $0["seq"], hash: $0["hash"]) }
    }

    /// The latest audit sequence number (0 before the first entry): the state version.
    static func auditHead(_ db: Database) throws -> Int64 {
        try storedAuditHead(db)?.seq ?? 0
    }

    static func writeAuditHead(_ db: Database, seq: Int64, hash: String) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?)
                ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash
                """
        ).execute(arguments: [seq, hash])
    }

    /// Seals `draft` as the next entry of the chain inside the caller's transaction.
    @discardableResult
    static func appendAudit(_ db: Database, _ draft: AuditDraft, at: Date) throws -> AuditEntry {
        let head = try storedAuditHead(db)
        let entry = AuditChain.seal(draft, seq: (head?.seq ?? 0) + 1, at: at, prevHash: head?.hash ?? AuditChain.genesis)
        try db.cachedStatement(sql: "INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            .execute(arguments: [entry.seq, entry.at, entry.actor, entry.action, entry.subject, entry.details, entry.prevHash, entry.hash])
        try writeAuditHead(db, seq: entry.seq, hash: entry.hash)
        return entry
    }

    /// Appends many entries in one transaction: the head is read once, and the entries and the
    /// head are written at `finish()` with one statement each. Nothing else may append to the
    /// chain between its creation and `finish()`.
    struct AuditBatch {
        let db: Database
        private(set) var seq: Int64
        private(set) var hash: String
        private var rows: [JSONValue] = []

        init(_ db: Database) throws {
            self.db = db
            let head = try SQLiteStore.storedAuditHead(db)
            seq = head?.seq ?? 0
            hash = head?.hash ?? AuditChain.genesis
        }

        mutating func append(_ draft: AuditDraft, at: Date) {
            let e = AuditChain.seal(draft, seq: seq + 1, at: at, prevHash: hash)
            rows.append([.int(e.seq), .string(e.at), .string(e.actor), .string(e.action), .string(e.subject), .string(e.details), .string(e.prevHash), .string(e.hash)])
            seq = e.seq
            hash = e.hash
        }

        func finish() throws {
            guard !rows.isEmpty else { return }
            try db.execute(
                sql: """
                    INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash)
                    SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7 FROM json_each(?)
                    """, arguments: [JSONValue.array(rows).canonicalText])
            try SQLiteStore.writeAuditHead(db, seq: seq, hash: hash)
        }
    }

    public func auditEntries(_ query: AuditQuery) async throws -> [AuditEntry] {
        try await read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let since = query.since {
                conditions.append("at >= ?")
                arguments += [UTC.format(since, milliseconds: true)]
            }
            if let until = query.until {
                conditions.append("at < ?")
                arguments += [UTC.format(until, milliseconds: true)]
            }
            if let action = query.action {
                conditions.append("(action = ? OR action LIKE ? ESCAPE '\\')")
                let escaped = action.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
                arguments += [action, escaped + ".%"]
            }
            var sql = "SELECT * FROM audit_log"
            if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
            if let limit = query.limit {
                sql = "SELECT * FROM (\(sql) ORDER BY seq DESC LIMIT \(max(0, limit))) AS latest"
            }
            sql += " ORDER BY seq"
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map(SQLiteStore.auditEntry)
        }
    }

    public func verifyAudit() async throws -> AuditVerifier {
        try await read { db in
            var verifier = AuditVerifier()
            let cursor = try Row.fetchCursor(db, sql: "SELECT * FROM audit_log ORDER BY seq")
            while let row = try cursor.next() {
                if !verifier.feed(SQLiteStore.auditEntry(row)) { break }
            }
            verifier.finish(head: try SQLiteStore.storedAuditHead(db))
            return verifier
        }
    }

    static func auditEntry(_ row: Row) -> AuditEntry {
        AuditEntry(
            seq: row["seq"], at: row["at"], actor: row["actor"], action: row["action"], subject: row["subject"],
            details: row["details"], prevHash: row["prev_hash"], hash: row["hash"])
    }
}

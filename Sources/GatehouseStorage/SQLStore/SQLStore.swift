import Foundation
import GatehouseDomain
import Synchronization

/// Everything Gatehouse keeps, written once in SQL that both engines run: SQLite (embedded,
/// one file) and PostgreSQL (several replicas on one database). The engine supplies
/// transactions; the one place the spellings differ is `SQLDialect`.
public final class SQLStore: Store {
    public let engine: String
    public let writeLog = AuditWriteLog()
    let backend: any SQLBackend
    /// Whether the audit chain's tables are known to exist (they never go away once made), so
    /// that a write does not ask the catalog twice per transaction.
    private let chainExists = Atomic<Bool>(false)

    init(backend: any SQLBackend) {
        self.backend = backend
        engine = backend.dialect.rawValue
    }

    /// Opens the SQLite database at `path`. Without `create`, a missing file is an error that
    /// tells the administrator to run `gatehouse migrate`, rather than a new empty database.
    public static func sqlite(path: String, create: Bool) throws -> SQLStore {
        SQLStore(backend: try SQLiteBackend(path: path, create: create))
    }

    /// A PostgreSQL database: connections are made when first needed, so a server that is
    /// down makes requests fail (and recover) rather than the store.
    public static func postgres(_ settings: PostgresSettings) throws -> SQLStore {
        SQLStore(backend: try PostgresBackend(settings))
    }

    /// Where the database is, without secrets.
    public var location: String { backend.displayName }

    /// Runs a read on one consistent snapshot.
    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLSession) throws -> T) async throws -> T {
        try await backend.read(body)
    }

    /// Runs a write transaction. The audit entries it appended are recorded in `writeLog` once
    /// it commits (writers are exclusive, so the head before and after bound exactly this
    /// transaction's entries) — unless `remembered` is false: a change whose caller does not
    /// apply it to memory itself, which the next catch-up then reads like another process's.
    func write<T: Sendable>(remembered: Bool = true, _ body: @escaping @Sendable (any SQLSession) throws -> T) async throws -> T {
        let known = chainExists.load(ordering: .relaxed)
        let (value, before, after, exists, ended) = try await backend.write { db in
            // Before the first migration there is no chain yet.
            let existed = try known || db.tableExists("audit_head")
            let before = existed ? try SQLStore.auditHead(db) : 0
            let value = try body(db)
            try SQLStore.flushAuditHead(db)
            let exists = try existed || db.tableExists("audit_head")
            let after = exists ? try SQLStore.auditHead(db) : 0
            return (value, before, after, exists, db.chainHead.endedSessions)
        }
        if exists, !known { chainExists.store(true, ordering: .relaxed) }
        if remembered, after > before { writeLog.record((before + 1)...after) }
        if !ended.isEmpty { writeLog.recordEndedSessions(ended) }
        return value
    }

    public func ping() async throws {
        _ = try await read { db in try db.value(as: Int.self, "SELECT 1") }
    }

    public func probeWrite(at: Date) async throws {
        let stamp = UTC.format(at, milliseconds: true)
        try await write { db in
            // One row, rewritten: the job-lease table takes any name, and nobody claims this one.
            _ = try db.execute(
                """
                INSERT INTO job_leases (job, holder, expires_at) VALUES ('readiness write probe', 'readyz', ?)
                ON CONFLICT (job) DO UPDATE SET expires_at = excluded.expires_at
                """, [stamp])
        }
    }

    // MARK: clock

    /// The latest time seen: the newer of the `clock` row (a hint, written every minute) and
    /// the newest `clock.observe` entry since the last `clock.reset` (proven by the chain: a row
    /// edited back hides nothing).
    public func latestSeen() async throws -> Date? {
        try await read { db in
            let row = try db.value(as: String.self, "SELECT latest_seen_at FROM clock WHERE id = 1").flatMap(UTC.parseTimestamp)
            guard try db.tableExists("audit_log") else { return row }
            let proven = try db.value(
                as: String.self,
                """
                SELECT at FROM audit_log WHERE action = 'clock.observe'
                AND seq > COALESCE((SELECT MAX(seq) FROM audit_log WHERE action = 'clock.reset'), 0)
                ORDER BY seq DESC LIMIT 1
                """
            ).flatMap(UTC.parseTimestamp)
            switch (row, proven) {
            case (let a?, let b?): return max(a, b)
            case (let a, let b): return a ?? b
            }
        }
    }

    public func recordClockObservation(_ time: Date, replica: String) async throws {
        let text = UTC.format(time, milliseconds: true)
        try await write { db in
            try SQLStore.raiseClockRow(db, text)
            try SQLStore.appendAudit(db, AuditDrafts.clockObserve(replica: replica), at: time)
        }
    }

    public func resetClock(to time: Date, previous: Date?, reason: String?, actor: String) async throws {
        let text = UTC.format(time, milliseconds: true)
        try await write { db in
            try db.execute(
                "INSERT INTO clock (id, latest_seen_at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET latest_seen_at = excluded.latest_seen_at",
                [text])
            try SQLStore.appendAudit(db, AuditDrafts.clockReset(actor: actor, to: time, previous: previous, reason: reason), at: time)
        }
    }

    static func raiseClockRow(_ db: any SQLSession, _ text: String) throws {
        try db.execute(
            """
            INSERT INTO clock (id, latest_seen_at) VALUES (1, ?)
            ON CONFLICT (id) DO UPDATE SET latest_seen_at = excluded.latest_seen_at
            WHERE excluded.latest_seen_at > clock.latest_seen_at
            """, [text])
    }

    public func recordSeen(_ now: Date) async throws {
        let text = UTC.format(now, milliseconds: true)
        try await write { db in try SQLStore.raiseClockRow(db, text) }
    }

    // MARK: periodic jobs

    public func claimJob(_ job: String, holder: String, until: Date, at: Date) async throws -> Bool {
        try await write { db in
            try db.execute(
                """
                INSERT INTO job_leases (job, holder, expires_at) VALUES (?, ?, ?)
                ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                WHERE job_leases.holder = excluded.holder OR job_leases.expires_at <= ?
                """, [job, holder, UTC.format(until, milliseconds: true), UTC.format(at, milliseconds: true)]) == 1
        }
    }

    // MARK: seats

    public func activeSeatCount() async throws -> Int64 {
        try await read { db in try SQLStore.activeSeats(db) }
    }

    /// Active seats, from the trigger-maintained counter (one row, however many seat holders).
    static func activeSeats(_ db: any SQLSession) throws -> Int64 {
        try db.value(as: Int64.self, "SELECT active FROM seat_counter WHERE id = 1") ?? 0
    }

    // MARK: audit

    /// The recorded chain head: the latest entry's sequence number and hash (none before the
    /// first). Read once per transaction, then known from what this transaction wrote.
    static func storedAuditHead(_ db: any SQLSession) throws -> (seq: Int64, hash: String)? {
        if case .known(let head) = db.chainHead.state { return head }
        let head = try db.row("SELECT seq, hash FROM audit_head WHERE id = 1").map { (seq: try $0["seq"] as Int64, hash: try $0["hash"] as String) }
        db.chainHead.state = .known(head)
        return head
    }

    /// The latest audit sequence number (0 before the first entry): the state version.
    static func auditHead(_ db: any SQLSession) throws -> Int64 {
        try storedAuditHead(db)?.seq ?? 0
    }

    /// Moves the head; its row is written by `flushAuditHead` before the transaction commits.
    static func writeAuditHead(_ db: any SQLSession, seq: Int64, hash: String) {
        db.chainHead.state = .known((seq, hash))
        db.chainHead.unwritten = true
    }

    /// Writes the head row if this transaction moved the head (`write` does, after its body).
    static func flushAuditHead(_ db: any SQLSession) throws {
        guard db.chainHead.unwritten, case .known(let head?) = db.chainHead.state else { return }
        try db.executeLater(
            """
            INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?)
            ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash
            """, [head.seq, head.hash])
        db.chainHead.unwritten = false
    }

    /// After statements that changed audit_head other than through `writeAuditHead` (a copy,
    /// a migration): the head is read again when next needed.
    static func forgetAuditHead(_ db: any SQLSession) throws {
        try flushAuditHead(db)
        db.chainHead.state = .unknown
    }

    /// Seals `draft` as the next entry of the chain inside the caller's transaction.
    @discardableResult
    static func appendAudit(_ db: any SQLSession, _ draft: AuditDraft, at: Date) throws -> AuditEntry {
        let head = try storedAuditHead(db)
        let entry = AuditChain.seal(draft, seq: (head?.seq ?? 0) + 1, at: at, prevHash: head?.hash ?? AuditChain.genesis)
        try db.executeLater(
            "INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [entry.seq, entry.at, entry.actor, entry.action, entry.subject, entry.details, entry.prevHash, entry.hash])
        writeAuditHead(db, seq: entry.seq, hash: entry.hash)
        return entry
    }

    /// Appends many entries in one transaction: the head is read once, and the entries and the
    /// head are written at `finish()` (the entries by `SQLSession.insert`). Nothing else may append to the
    /// chain between its creation and `finish()`.
    struct AuditBatch {
        let db: any SQLSession
        /// The entries sealed so far, unless they are being sealed ahead.
        private var sealed: SealedAudit
        /// Entries appended and not yet sealed.
        private var drafts: [(draft: AuditDraft, at: Date)] = []
        private var ahead: AuditSealedAhead?

        /// The fewest waiting entries `sealAhead` hands to another thread.
        static let sealAheadFrom = 500

        init(_ db: any SQLSession) throws {
            self.db = db
            let head = try SQLStore.storedAuditHead(db)
            sealed = SealedAudit(seq: head?.seq ?? 0, hash: head?.hash ?? AuditChain.genesis)
        }

        mutating func append(_ draft: AuditDraft, at: Date) {
            drafts.append((draft, at))
        }

        /// Seals the entries appended so far on another thread while the caller goes on writing
        /// other rows (a first sync's 100,000 entries are half a second of JSON and SHA-256);
        /// `finish()` waits for them and seals what was appended since. Few entries are sealed
        /// at `finish()` instead: a thread would cost more than it saves.
        mutating func sealAhead() {
            guard ahead == nil, drafts.count >= Self.sealAheadFrom else { return }
            ahead = AuditSealedAhead(after: sealed, drafts)
            drafts = []
        }

        func finish() throws {
            var all = ahead?.wait() ?? sealed
            all.seal(drafts)
            guard !all.rows.isEmpty else { return }
            try db.insert(all.rows)
            SQLStore.writeAuditHead(db, seq: all.seq, hash: all.hash)
        }
    }

    public func auditEntries(_ query: AuditQuery) async throws -> [AuditEntry] {
        try await read { db in
            var conditions: [String] = []
            var arguments: [(any SQLBindable)?] = []
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
                let escaped = action.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                    .replacingOccurrences(of: "_", with: "\\_")
                arguments += [action, escaped + ".%"]
            }
            var sql = "SELECT * FROM audit_log"
            if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
            if let limit = query.limit {
                sql = "SELECT * FROM (\(sql) ORDER BY seq DESC LIMIT \(max(0, limit))) AS latest"
            }
            sql += " ORDER BY seq"
            return try db.rows(sql, arguments).map(SQLStore.auditEntry)
        }
    }

    public func verifyAudit() async throws -> AuditVerifier {
        try await read { db in
            var verifier = AuditVerifier()
            for row in try db.rows("SELECT * FROM audit_log ORDER BY seq") {
                if try !verifier.feed(SQLStore.auditEntry(row)) { break }
            }
            verifier.finish(head: try SQLStore.storedAuditHead(db))
            return verifier
        }
    }

    static func auditEntry(_ row: SQLRow) throws -> AuditEntry {
        try AuditEntry(
            seq: row["seq"], at: row["at"], actor: row["actor"], action: row["action"], subject: row["subject"],
            details: row["details"], prevHash: row["prev_hash"], hash: row["hash"])
    }
}

/// Audit entries sealed in order, and the chain's head after the last of them.
struct SealedAudit: Sendable {
    var rows = SQLRows("audit_log", ["seq", "at", "actor", "action", "subject", "details", "prev_hash", "hash"])
    var seq: Int64
    var hash: String

    init(seq: Int64, hash: String) {
        (self.seq, self.hash) = (seq, hash)
    }

    mutating func seal(_ drafts: [(draft: AuditDraft, at: Date)]) {
        for (draft, at) in drafts {
            let e = AuditChain.seal(draft, seq: seq + 1, at: at, prevHash: hash)
            rows.append([
                .int(e.seq), .text(e.at), .text(e.actor), .text(e.action), .text(e.subject), .text(e.details), .text(e.prevHash),
                .text(e.hash),
            ])
            seq = e.seq
            hash = e.hash
        }
    }
}

/// Entries being sealed on a queue of their own (`AuditBatch.sealAhead`), in the manner of
/// `PeopleLoader`: sealing reads nothing but its drafts, so the caller's transaction goes on
/// meanwhile; if it fails first, the work ends unused. A serial queue of its own always gets
/// a thread; Dispatch's global queues on Linux have one per core, which the writer waiting
/// here may be holding.
final class AuditSealedAhead: @unchecked Sendable {
    private let queue = DispatchQueue(label: "gatehouse.audit-sealing")
    /// Touched only on `queue`.
    private var sealed: SealedAudit

    init(after head: SealedAudit, _ drafts: [(draft: AuditDraft, at: Date)]) {
        sealed = head
        queue.async { self.sealed.seal(drafts) }
    }

    /// Waits for the sealing, and hands the entries over.
    func wait() -> SealedAudit { queue.sync { sealed } }
}

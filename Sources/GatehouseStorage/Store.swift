import Foundation
import GatehouseDomain

/// Everything Gatehouse keeps, behind one protocol so that SQLite (the embedded default) and
/// PostgreSQL (for several replicas) are interchangeable. Every method that changes state
/// takes the audit entry describing the change and commits both in one transaction.
public protocol Store: PeopleStore, DirectoryStore, SessionStore, NotificationStore, ScimStore {
    /// `sqlite` or `postgres`: selects the migrations in `migrations/<engine>/`.
    var engine: String { get }
    /// Where the database is, without secrets (for messages and logs).
    var location: String { get }
    /// Audit entries committed through this store object (this process).
    var writeLog: AuditWriteLog { get }

    /// Applies pending migrations (audited) and returns the versions applied.
    func migrate(actor: String, at: Date) async throws -> [Int]
    /// Where the schema stands against the migrations this binary carries.
    func schemaStatus() async throws -> SchemaStatus
    /// A cheap round trip, for readiness checks.
    func ping() async throws
    /// A cheap write through the whole write path (lock, statement, commit), for readiness: a
    /// database that answers reads but refuses writes (a full disk, a read-only file or server)
    /// is not ready. Bookkeeping, not audited.
    func probeWrite(at: Date) async throws

    /// The latest wall-clock time recorded, if any: the `clock` row or, whichever is later, the
    /// newest `clock.observe` audit entry since the last `clock.reset`.
    func latestSeen() async throws -> Date?
    /// Raises the recorded latest time to `now` if it is later (the row only, not audited).
    func recordSeen(_ now: Date) async throws
    /// Records a time the server observed (bounded by real elapsed time) in the audit chain,
    /// where editing cannot take it back, and raises the row.
    func recordClockObservation(_ time: Date, replica: String) async throws
    /// Clears a false clock alarm: the row becomes `time` and earlier observations stop
    /// counting; audited `clock.reset` with the previous latest time.
    func resetClock(to time: Date, previous: Date?, reason: String?, actor: String) async throws

    func licenseInForce() async throws -> StoredLicense?
    /// Puts `license` in force (replacing any other) and records its proration, if an amendment;
    /// then, in the same transaction, carries out what `rule` decides for people (pending seat
    /// requests granted to seats the license adds).
    func installLicense(
        _ license: StoredLicense, proration: ProrationRecord?, audit: AuditDraft, at: Date,
        then rule: (@Sendable (any PeopleFacts) throws -> PeoplePlan)?
    ) async throws -> CommittedPeoplePlan
    func prorations() async throws -> [ProrationRecord]

    /// People holding a seat now.
    func activeSeatCount() async throws -> Int64

    /// Stores a token; `StoreError.conflict` if the name is taken.
    func createToken(_ token: TokenRecord, audit: AuditDraft, at: Date) async throws
    func tokens() async throws -> [TokenRecord]
    func token(hash: String) async throws -> TokenRecord?
    /// Deletes a token; `StoreError.notFound` if there is none by that name.
    func revokeToken(name: String, audit: AuditDraft, at: Date) async throws

    /// Takes or renews the lease on a periodic job for `holder` until `until`; `false` while
    /// another holder's lease has not expired. Several replicas on one database run each job
    /// on one replica at a time this way (bookkeeping, not audited).
    func claimJob(_ job: String, holder: String, until: Date, at: Date) async throws -> Bool

    /// Audit entries in sequence order.
    func auditEntries(_ query: AuditQuery) async throws -> [AuditEntry]
    /// Recomputes the whole chain.
    func verifyAudit() async throws -> AuditVerifier
}

/// A storage failure with a stable code.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// No database, or one with no schema yet.
        case notInitialised = "database_not_initialised"
        /// Migrations pending.
        case needsMigration = "database_needs_migration"
        /// The database was migrated by a newer gatehouse.
        case schemaTooNew = "database_too_new"
        /// An applied migration differs from the one this binary carries.
        case migrationChanged = "migration_changed"
        case conflict
        case notFound = "not_found"
        /// The database cannot be reached or opened.
        case unavailable = "database_unavailable"
        /// A row does not hold what the schema promises (a missing column, an unknown value).
        case corrupt = "database_corrupt"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

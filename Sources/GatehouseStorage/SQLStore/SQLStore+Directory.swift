import Foundation
import GatehouseDomain

extension SQLStore {
    public func directoryPeople() async throws -> StoredDirectory {
        try await read { db in
            StoredDirectory(people: try SQLStore.fetchDirectoryPeople(db), auditSeq: try SQLStore.auditHead(db))
        }
    }

    public func applyDirectorySync(
        prefetched: StoredDirectory?, actor: String, at: Date,
        _ decide: @escaping @Sendable ([StoredDirectoryPerson]) throws -> DirectoryPlan
    ) async throws -> DirectoryPlan {
        try await write { db in
            let current = try prefetched.flatMap { $0.auditSeq == (try SQLStore.auditHead(db)) ? $0.people : nil }
            let plan = try decide(try current ?? SQLStore.fetchDirectoryPeople(db))
            guard plan.refusal == nil else { return plan }
            let applier = DirectoryApplier(db: db, actor: actor, at: at)
            try applier.apply(plan)
            try SQLStore.recordDirectoryState(
                db, at: at, success: true, error: nil, people: plan.directoryPeople, groups: plan.directoryGroups)
            return plan
        }
    }

    public func recordDirectoryFailure(_ message: String, refused: Bool, at: Date) async throws {
        try await write { db in
            try SQLStore.recordDirectoryState(db, at: at, success: false, error: message, people: nil, groups: nil)
            if refused {
                _ = try db.execute(
                    "UPDATE directory_sync SET last_refused_at = ?, last_refusal = ? WHERE id = 1", [UTC.format(at, milliseconds: true), message])
            }
        }
    }

    public func directorySyncState() async throws -> DirectorySyncState? {
        try await read { db in
            try db.row("SELECT * FROM directory_sync WHERE id = 1").map { row in
                try DirectorySyncState(
                    lastAttemptAt: row.time("last_attempt_at"),
                    lastSuccessAt: row.optionalTime("last_success_at"), lastError: row["last_error"],
                    people: row["people"], groups: row["groups_count"], lastRefusedAt: row.optionalTime("last_refused_at"),
                    lastRefusal: row["last_refusal"])
            }
        }
    }

    /// The directory people of `source` (`ldap` or `scim`), or the one whose username is `usernameKey`.
    ///
    /// Read by position (`forEachRecord`), not as rows by column name: at 100,000 people this
    /// runs beside the directory's answer on a two-core machine and took a core of its own.
    /// Everyone's memberships are read without joining their identities (an index search per
    /// identity): those of other providers' identities are never looked up below. Sorted by
    /// identity here rather than by the database, which sorted in a temporary tree.
    static func fetchDirectoryPeople(_ db: any SQLSession, source: Provider = .ldap, usernameKey: String? = nil) throws
        -> [StoredDirectoryPerson]
    {
        var groups: [Int64: Set<String>] = [:]
        let memberships =
            usernameKey == nil
            ? "SELECT identity_id, name FROM memberships WHERE source = ? AND kind = 'group' AND present = 1"
            : """
            SELECT m.identity_id, m.name FROM memberships m JOIN identities i ON i.id = m.identity_id
            WHERE m.source = ? AND m.kind = 'group' AND m.present = 1 AND i.provider = ? AND i.username_key = ?
            """
        let memberArguments: [(any SQLBindable)?] = usernameKey.map { [source.rawValue, source.rawValue, $0] } ?? [source.rawValue]
        try forEachRecord(db, memberships, memberArguments, GroupMembershipColumns.self) { membership in
            groups[membership.identityID, default: []].insert(membership.name)
        }
        var people: [StoredDirectoryPerson] = []
        try forEachRecord(
            db,
            """
            SELECT i.id, i.username, i.external_id, i.email, p.id AS person_id, p.name, p.email AS person_email, p.status
            FROM identities i JOIN persons p ON p.id = i.person_id WHERE i.provider = ?\(usernameKey == nil ? "" : " AND i.username_key = ?")
            """, [source.rawValue] + (usernameKey.map { [$0] } ?? []), StoredDirectoryPersonColumns.self
        ) { person in
            var person = person
            person.groups = groups[person.identityID] ?? []
            people.append(person)
        }
        people.sort { $0.identityID < $1.identityID }
        return people
    }

    /// `identity_id`, `name` of a membership.
    struct GroupMembershipColumns: RowDecoder {
        let identityID, name: Int

        init(_ row: some SQLColumns) throws { (identityID, name) = (try row.position(of: "identity_id"), try row.position(of: "name")) }

        func decode(_ row: some SQLColumns) throws -> (identityID: Int64, name: String) { (try row.int64(identityID), try row.text(name)) }
    }

    /// A directory identity and its person (groups are added by the caller).
    struct StoredDirectoryPersonColumns: RowDecoder {
        let id, username, externalID, email, personID, name, personEmail, status: Int

        init(_ row: some SQLColumns) throws {
            (id, username) = (try row.position(of: "id"), try row.position(of: "username"))
            (externalID, email) = (try row.position(of: "external_id"), try row.position(of: "email"))
            (personID, name) = (try row.position(of: "person_id"), try row.position(of: "name"))
            (personEmail, status) = (try row.position(of: "person_email"), try row.position(of: "status"))
        }

        func decode(_ row: some SQLColumns) throws -> StoredDirectoryPerson {
            try StoredDirectoryPerson(
                identityID: row.int64(id), uid: row.text(username), externalID: row.optionalText(externalID),
                email: row.optionalText(email), personID: row.text(personID), personName: row.text(name),
                personEmail: row.optionalText(personEmail),
                status: row.value(status, in: PersonColumns.statuses), groups: [])
        }
    }

    static func recordDirectoryState(_ db: any SQLSession, at: Date, success: Bool, error: String?, people: Int?, groups: Int?) throws {
        let stamp = UTC.format(at, milliseconds: true)
        try db.execute(
            """
            INSERT INTO directory_sync (id, last_attempt_at, last_success_at, last_error, people, groups_count)
            VALUES (1, ?, ?, ?, COALESCE(?, 0), COALESCE(?, 0))
            ON CONFLICT (id) DO UPDATE SET last_attempt_at = excluded.last_attempt_at,
                last_success_at = COALESCE(excluded.last_success_at, directory_sync.last_success_at),
                last_error = excluded.last_error,
                people = COALESCE(?, directory_sync.people), groups_count = COALESCE(?, directory_sync.groups_count)
            """, [stamp, success ? stamp : nil, error, people, groups, people, groups])
    }
}

/// Writes one directory plan inside the caller's transaction, with prepared statements reused
/// and the audit head written once, across the thousands of rows of a first sync.
struct DirectoryApplier {
    let db: any SQLSession
    let actor: String
    let at: Date
    let stamp: String
    /// `ldap` or `scim`: the provider of the identities and the source of the memberships written.
    let source: Provider

    init(db: any SQLSession, actor: String, at: Date, source: Provider = .ldap) {
        self.db = db
        self.actor = actor
        self.at = at
        self.stamp = UTC.format(at, milliseconds: true)
        self.source = source
    }

    /// Applies the plan; `summary`: append the sync's own entry (`directory.sync`, LDAP's).
    func apply(_ plan: DirectoryPlan, summary: Bool = true) throws {
        guard !plan.isEmpty else { return }
        // A first sync writes tens of megabytes in one transaction: with the default 2 MB page
        // cache, SQLite would spill and re-read pages many times over. (Kept for this writer
        // connection: the next large sync benefits too.)
        if db.dialect == .sqlite, plan.added.count + plan.memberships.count > 1000 { try db.execute("PRAGMA cache_size = -65536") }
        // Departures first, through the ordinary seat release (it appends to the chain itself).
        for person in plan.left { try leave(person) }
        var audit = try SQLStore.AuditBatch(db)
        for update in plan.updated { try self.update(update, &audit) }
        if let rekey = plan.rekeyAudit(actor: actor) { audit.append(rekey, at: at) }
        var rows = try NewRows(db, stamp: stamp, source: source)
        if !plan.added.isEmpty {
            var targets = try LinkTargets(db, plan.added, source: source)
            for addition in plan.added { try add(addition, &targets, &audit, &rows) }
        }
        for change in plan.memberships { try setGroups(change, &audit, &rows) }
        audit.sealAhead()
        try rows.insert(db)
        if summary { audit.append(plan.syncAudit(actor: actor), at: at) }
        try audit.finish()
    }

    func leave(_ person: StoredDirectoryPerson) throws {
        _ = try SQLStore.releaseSeat(db, person.personID, actor: actor, reason: "left the directory", at: at)
        try SQLStore.endSessions(db, .person(person.personID), reason: "left the directory", actor: actor, at: at)
        try db.execute("UPDATE persons SET status = 'left_directory' WHERE id = ?", [person.personID])
        try SQLStore.appendAudit(db, DirectoryPlan.leaveAudit(person, actor: actor, source: source), at: at)
    }

    func update(_ update: DirectoryPlan.Update, _ audit: inout SQLStore.AuditBatch) throws {
        let p = update.person
        try db.execute(
            "UPDATE identities SET username = ?, username_key = ?, external_id = ?, email = ? WHERE id = ?",
            [p.uid, p.uid.lowercased(), p.externalID ?? update.stored.externalID, p.email, update.stored.identityID])
        try db.execute(
            "UPDATE persons SET name = ?, email = ?, status = CASE WHEN status = 'left_directory' THEN 'active' ELSE status END WHERE id = ?",
            [p.name, p.email, update.stored.personID])
        audit.append(DirectoryPlan.updateAudit(update, actor: actor, source: source), at: at)
    }

    func add(_ addition: DirectoryPlan.Addition, _ targets: inout LinkTargets, _ audit: inout SQLStore.AuditBatch, _ rows: inout NewRows)
        throws
    {
        let p = addition.person
        // A recycled uid: the identity of the person who held it before is moved aside.
        if let old = addition.recycles {
            let aside = IdentityRef.movedAsideUsername(old.uid, externalID: old.externalID)
            try db.execute(
                "UPDATE identities SET username = ?, username_key = ? WHERE id = ?", [aside, aside.lowercased(), old.identityID])
            audit.append(DirectoryPlan.recycledAudit(addition, aside: aside, actor: actor, source: source), at: at)
        }
        let existing = targets.person(for: addition)
        let personID = existing ?? addition.newPersonID
        if existing != nil {
            // The directory is the truth about who the person is.
            try db.execute("UPDATE persons SET name = ?, email = ? WHERE id = ?", [p.name, p.email, personID])
        } else {
            rows.person(id: personID, name: p.name, email: p.email)
        }
        let identityID = rows.identity(p, personID: personID)
        rows.groups(identityID, p.groups)
        audit.append(DirectoryPlan.addAudit(addition, personID: personID, linked: existing != nil, actor: actor, source: source), at: at)
    }

    func setGroups(_ change: DirectoryPlan.MembershipChange, _ audit: inout SQLStore.AuditBatch, _ rows: inout NewRows) throws {
        try db.execute("DELETE FROM memberships WHERE identity_id = ? AND source = ?", [change.identityID, source.rawValue])
        rows.groups(change.identityID, change.groups)
        audit.append(DirectoryPlan.membershipAudit(change, actor: actor, source: source), at: at)
    }

}

/// New persons, identities and group memberships, written at the end, table by table
/// (`SQLSession.insert`: a first sync writes hundreds of thousands of rows). Identity ids are
/// assigned here, so that memberships can name them before the identities are written.
struct NewRows {
    private var persons: SQLRows
    private var identities: SQLRows
    private var memberships: SQLRows
    private var nextIdentityID: Int64

    /// `stamp`: the rows' creation time; `source`: the identities' provider and the memberships' source.
    init(_ db: any SQLSession, stamp: String, source: Provider) throws {
        nextIdentityID = (try db.value(as: Int64.self, "SELECT MAX(id) FROM identities") ?? 0) + 1
        let (at, by) = (SQLValue.text(stamp), SQLValue.text(source.rawValue))
        persons = SQLRows("persons", ["id", "name", "email"], constants: [("created_at", at)])
        identities = SQLRows(
            "identities", ["id", "username", "username_key", "external_id", "email", "person_id"],
            constants: [("provider", by), ("created_at", at)])
        memberships = SQLRows(
            "memberships", ["identity_id", "name"], constants: [("kind", .text("group")), ("source", by), ("updated_at", at)])
    }

    mutating func person(id: String, name: String, email: String?) {
        persons.append([.text(id), .text(name), .optional(email)])
    }

    mutating func identity(_ p: DirectoryPerson, personID: String) -> Int64 {
        let id = nextIdentityID
        nextIdentityID += 1
        identities.append([.int(id), .text(p.uid), .text(p.uid.lowercased()), .optional(p.externalID), .optional(p.email), .text(personID)])
        return id
    }

    mutating func groups(_ identityID: Int64, _ groups: Set<String>) {
        for group in groups.sorted() { memberships.append([.int(identityID), .text(group)]) }
    }

    /// Persons, then identities, then memberships: each refers to the one before.
    func insert(_ db: any SQLSession) throws {
        try db.insert(persons)
        try db.insert(identities)
        if !identities.isEmpty { try db.idsWereSet(table: "identities") }
        try db.insert(memberships)
    }
}

/// The people a new directory person may be joined to (identity policy): those not yet in the
/// directory, by email and by login, read in two queries rather than two per person.
struct LinkTargets {
    private var byEmail: [String: String] = [:]
    private var byIdentity: [String: String] = [:]
    /// Persons already joined by an addition of this sync (one directory person each).
    private var claimed = Set<String>()

    init(_ db: any SQLSession, _ additions: [DirectoryPlan.Addition], source: Provider = .ldap) throws {
        guard additions.contains(where: { $0.linkEmail != nil || !$0.linkIdentities.isEmpty }) else { return }
        // (`source` is a Provider case: its raw value is one of a closed set of words.)
        let outside = "NOT EXISTS (SELECT 1 FROM identities d WHERE d.person_id = persons.id AND d.provider = '\(source.rawValue)')"
        // A few additions (SCIM's one at a time, a small resync) look their candidates up by
        // index; a first sync of thousands reads every candidate once instead.
        let few = additions.count <= Self.lookedUpOneByOne
        let emails = few ? Set(additions.compactMap { $0.linkEmail?.lowercased() }) : []
        // Seat holders first, then the oldest: the person kept when several match.
        for row in try db.rows(
            """
            SELECT id, lower(email) AS email FROM persons WHERE email IS NOT NULL AND \(outside)
            \(few ? "AND lower(email) IN (SELECT value ->> 0 FROM \(db.dialect.jsonArrayElements))" : "")
            ORDER BY seat = 'active', created_at DESC
            """, few ? [SQLStore.idList(emails.sorted())] : []
        ) {
            try byEmail[row["email"]] = row["id"]
        }
        let join = """
            SELECT identities.provider || ':' || identities.username_key AS key, persons.id AS id FROM identities
            JOIN persons ON persons.id = identities.person_id WHERE identities.provider <> '\(source.rawValue)' AND \(outside)
            """
        if few {
            for ref in Set(additions.flatMap(\.linkIdentities)) where ref.provider != source {
                for row in try db.rows(join + " AND identities.provider = ? AND identities.username_key = ?", [ref.provider.rawValue, ref.username.lowercased()]) {
                    try byIdentity[row["key"]] = row["id"]
                }
            }
        } else {
            for row in try db.rows(join) { try byIdentity[row["key"]] = row["id"] }
        }
    }

    static let lookedUpOneByOne = 100

    mutating func person(for addition: DirectoryPlan.Addition) -> String? {
        var found: String?
        if let email = addition.linkEmail { found = byEmail[email.lowercased()] }
        for ref in addition.linkIdentities where found == nil { found = byIdentity[ref.key] }
        guard let id = found, claimed.insert(id).inserted else { return nil }
        return id
    }
}

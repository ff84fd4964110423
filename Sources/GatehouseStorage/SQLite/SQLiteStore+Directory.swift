import Foundation
import GRDB
import GatehouseDomain

extension SQLiteStore {
    public func directoryPeople() async throws -> [StoredDirectoryPerson] {
        try await read { db in try SQLiteStore.fetchDirectoryPeople(db) }
    }

    public func applyDirectorySync(
        actor: String, at: Date, _ decide: @escaping @Sendable ([StoredDirectoryPerson]) throws -> DirectoryPlan
    ) async throws -> DirectoryPlan {
        try await write { db in
            let plan = try decide(try SQLiteStore.fetchDirectoryPeople(db))
            guard plan.refusal == nil else { return plan }
            var applier = DirectoryApplier(db: db, actor: actor, at: at)
            try applier.apply(plan)
            try SQLiteStore.recordDirectoryState(db, at: at, success: true, error: nil, people: plan.directoryPeople, groups: plan.directoryGroups)
            return plan
        }
    }

    public func recordDirectoryFailure(_ message: String, at: Date) async throws {
        try await write { db in try SQLiteStore.recordDirectoryState(db, at: at, success: false, error: message, people: nil, groups: nil) }
    }

    public func directorySyncState() async throws -> DirectorySyncState? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM directory_sync WHERE id = 1").map { row in
                DirectorySyncState(
                    lastAttemptAt: UTC.parseTimestamp(row["last_attempt_at"]) ?? .distantPast,
                    lastSuccessAt: (row["last_success_at"] as String?).flatMap(UTC.parseTimestamp), lastError: row["last_error"],
                    people: row["people"], groups: row["groups_count"])
            }
        }
    }

    static func fetchDirectoryPeople(_ db: Database) throws -> [StoredDirectoryPerson] {
        var groups: [Int64: Set<String>] = [:]
        let memberships = try Row.fetchCursor(
            db,
            sql: """
                SELECT m.identity_id, m.name FROM memberships m JOIN identities i ON i.id = m.identity_id
                WHERE i.provider = 'ldap' AND m.source = 'ldap' AND m.kind = 'group' AND m.present = 1
                """)
        while let row = try memberships.next() { groups[row[0], default: []].insert(row[1]) }
        return try Row.fetchAll(
            db,
            sql: """
                SELECT i.id, i.username, i.external_id, i.email, p.id AS person_id, p.name, p.email AS person_email, p.status
                FROM identities i JOIN persons p ON p.id = i.person_id WHERE i.provider = 'ldap' ORDER BY i.id
                """
        ).map { row in
            StoredDirectoryPerson(
                identityID: row["id"], uid: row["username"], externalID: row["external_id"], email: row["email"], personID: row["person_id"],
                personName: row["name"], personEmail: row["person_email"], status: PersonStatus(rawValue: row["status"]) ?? .blocked,
                groups: groups[row["id"]] ?? [])
        }
    }

    static func recordDirectoryState(_ db: Database, at: Date, success: Bool, error: String?, people: Int?, groups: Int?) throws {
        let stamp = UTC.format(at, milliseconds: true)
        try db.execute(
            sql: """
                INSERT INTO directory_sync (id, last_attempt_at, last_success_at, last_error, people, groups_count)
                VALUES (1, ?, ?, ?, COALESCE(?, 0), COALESCE(?, 0))
                ON CONFLICT (id) DO UPDATE SET last_attempt_at = excluded.last_attempt_at,
                    last_success_at = COALESCE(excluded.last_success_at, directory_sync.last_success_at),
                    last_error = excluded.last_error,
                    people = COALESCE(?, directory_sync.people), groups_count = COALESCE(?, directory_sync.groups_count)
                """, arguments: [stamp, success ? stamp : nil, error, people, groups, people, groups])
    }
}

/// Writes one directory plan inside the caller's transaction, with prepared statements reused
/// across the thousands of rows of a first sync.
struct DirectoryApplier {
    let db: Database
    let actor: String
    let at: Date
    let stamp: String

    init(db: Database, actor: String, at: Date) {
        self.db = db
        self.actor = actor
        self.at = at
        self.stamp = UTC.format(at, milliseconds: true)
    }

    mutating func apply(_ plan: DirectoryPlan) throws {
        guard !plan.isEmpty else { return }
        for person in plan.left { try leave(person) }
        for update in plan.updated { try self.update(update) }
        for addition in plan.added { try add(addition) }
        for change in plan.memberships { try setGroups(change.identityID, change.groups, uid: change.uid, personID: change.personID, added: change.added, removed: change.removed) }
        try SQLiteStore.appendAudit(
            db,
            AuditDraft(actor: actor, action: "directory.sync", subject: "ldap", details: [
                "added": .int(Int64(plan.added.count)), "updated": .int(Int64(plan.updated.count)), "left": .int(Int64(plan.left.count)),
                "memberships_changed": .int(Int64(plan.memberships.count)), "people": .int(Int64(plan.directoryPeople)),
                "groups": .int(Int64(plan.directoryGroups)),
            ]), at: at)
    }

    func leave(_ person: StoredDirectoryPerson) throws {
        _ = try SQLiteStore.releaseSeat(db, person.personID, actor: actor, reason: "left the directory", at: at)
        try db.cachedStatement(sql: "UPDATE persons SET status = 'left_directory' WHERE id = ?").execute(arguments: [person.personID])
        try SQLiteStore.appendAudit(
            db,
            AuditDraft(actor: actor, action: "directory.person.leave", subject: person.personID, details: [
                "identity": .string("ldap:" + person.uid), "from": .string(person.status.rawValue),
            ]), at: at)
    }

    func update(_ update: DirectoryPlan.Update) throws {
        let p = update.person
        try db.cachedStatement(sql: "UPDATE identities SET username = ?, username_key = ?, external_id = ?, email = ? WHERE id = ?")
            .execute(arguments: [p.uid, p.uid.lowercased(), p.externalID ?? update.stored.externalID, p.email, update.stored.identityID])
        try db.cachedStatement(
            sql: "UPDATE persons SET name = ?, email = ?, status = CASE WHEN status = 'left_directory' THEN 'active' ELSE status END WHERE id = ?"
        ).execute(arguments: [p.name, p.email, update.stored.personID])
        try SQLiteStore.appendAudit(
            db,
            AuditDraft(actor: actor, action: "directory.person.update", subject: update.stored.personID, details: [
                "identity": .string("ldap:" + p.uid), "changes": .array(update.changes.map { .string($0) }),
            ]), at: at)
    }

    func add(_ addition: DirectoryPlan.Addition) throws {
        let p = addition.person
        let key = p.uid.lowercased()
        // A recycled uid: the identity of the person who held it before is moved aside.
        if let old = try Row.fetchOne(db.cachedStatement(sql: "SELECT id, username, external_id FROM identities WHERE provider = 'ldap' AND username_key = ?"), arguments: [key]) {
            let aside = (old["username"] as String) + "~" + ((old["external_id"] as String?) ?? "old")
            try db.cachedStatement(sql: "UPDATE identities SET username = ?, username_key = ? WHERE id = ?").execute(arguments: [aside, aside.lowercased(), old["id"] as Int64])
            try SQLiteStore.appendAudit(
                db, AuditDraft(actor: actor, action: "identity.update", subject: "ldap:" + p.uid, details: ["username": .string(aside), "reason": "uid recycled"]),
                at: at)
        }
        let existing = try linkTarget(addition)
        let personID = existing ?? addition.newPersonID
        if existing != nil {
            // The directory is the truth about who the person is.
            try db.cachedStatement(sql: "UPDATE persons SET name = ?, email = ? WHERE id = ?").execute(arguments: [p.name, p.email, personID])
        } else {
            try db.cachedStatement(sql: "INSERT INTO persons (id, name, email, created_at) VALUES (?, ?, ?, ?)")
                .execute(arguments: [personID, p.name, p.email, stamp])
        }
        try db.cachedStatement(
            sql: "INSERT INTO identities (provider, username, username_key, external_id, email, person_id, created_at) VALUES ('ldap', ?, ?, ?, ?, ?, ?)"
        ).execute(arguments: [p.uid, key, p.externalID, p.email, personID, stamp])
        let identityID = db.lastInsertedRowID
        try insertGroups(identityID, p.groups)
        try SQLiteStore.appendAudit(
            db,
            AuditDraft(actor: actor, action: "directory.person.add", subject: personID, details: [
                "identity": .string("ldap:" + p.uid), "email": .optional(p.email), "linked": .bool(existing != nil),
                "groups": .array(p.groups.sorted().map { .string($0) }),
            ]), at: at)
    }

    /// An existing person this directory person is (identity policy): by email, else by a
    /// templated login; never one who already has a directory identity.
    func linkTarget(_ addition: DirectoryPlan.Addition) throws -> String? {
        let notInDirectory = "NOT EXISTS (SELECT 1 FROM identities d WHERE d.person_id = persons.id AND d.provider = 'ldap')"
        if let email = addition.linkEmail,
            let id = try String.fetchOne(
                db.cachedStatement(sql: "SELECT id FROM persons WHERE lower(email) = lower(?) AND \(notInDirectory) ORDER BY seat = 'active' DESC, created_at LIMIT 1"),
                arguments: [email])
        {
            return id
        }
        for ref in addition.linkIdentities {
            if let id = try String.fetchOne(
                db.cachedStatement(
                    sql: "SELECT persons.id FROM identities JOIN persons ON persons.id = identities.person_id WHERE provider = ? AND username_key = ? AND \(notInDirectory)"),
                arguments: [ref.provider.rawValue, ref.username.lowercased()])
            {
                return id
            }
        }
        return nil
    }

    func setGroups(_ identityID: Int64, _ groups: Set<String>, uid: String, personID: String, added: Set<String>, removed: Set<String>) throws {
        try db.cachedStatement(sql: "DELETE FROM memberships WHERE identity_id = ? AND source = 'ldap'").execute(arguments: [identityID])
        try insertGroups(identityID, groups)
        try SQLiteStore.appendAudit(
            db,
            AuditDraft(actor: actor, action: "directory.membership", subject: personID, details: [
                "identity": .string("ldap:" + uid), "added": .array(added.sorted().map { .string($0) }),
                "removed": .array(removed.sorted().map { .string($0) }),
            ]), at: at)
    }

    func insertGroups(_ identityID: Int64, _ groups: Set<String>) throws {
        let statement = try db.cachedStatement(
            sql: "INSERT INTO memberships (identity_id, kind, name, source, updated_at) VALUES (?, 'group', ?, 'ldap', ?)")
        for group in groups.sorted() { try statement.execute(arguments: [identityID, group, stamp]) }
    }
}

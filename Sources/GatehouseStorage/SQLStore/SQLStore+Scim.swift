import Foundation
import GatehouseDomain

extension SQLStore {
    public func scimUsers(_ lookup: ScimLookup?) async throws -> [ScimUserRecord] {
        try await read { db in try SQLStore.fetchScimUsers(db, lookup) }
    }

    public func scimGroups(_ lookup: ScimLookup?, members: Bool) async throws -> [ScimGroupRecord] {
        try await read { db in try SQLStore.fetchScimGroups(db, lookup, members: members) }
    }

    public func createScimUser(id: String, resource: JSONValue, newPersonID: String, identity: IdentityPolicy, actor: String, at: Date)
        async throws -> ScimUserRecord
    {
        try await write(remembered: false) { db in
            let userName = ScimPeople.userName(resource)
            let key = userName.lowercased()
            if let taken = try db.value(as: String.self, "SELECT id FROM scim_users WHERE user_name_key = ?", [key]) {
                throw ScimError(409, .uniqueness, "a user with userName \"\(userName)\" exists already (id \(taken))")
            }
            let applier = DirectoryApplier(db: db, actor: actor, at: at, source: .scim)
            let person = ScimPeople.person(resource, id: id)
            let active = ScimPeople.active(resource)
            if let stored = try SQLStore.fetchDirectoryPeople(db, source: .scim, usernameKey: key).first {
                // Someone SCIM deleted before, back under the same userName: the same person.
                try SQLStore.updateScimPerson(db, applier, stored, person, rejoin: active)
                if !active, stored.status != .leftDirectory { try applier.leave(stored) }
            } else {
                var plan = DirectoryPlan()
                plan.source = .scim
                var addition = DirectoryPlanner.addition(person, identity)
                addition.newPersonID = newPersonID
                plan.added = [addition]
                try applier.apply(plan, summary: false)
                if !active, let stored = try SQLStore.fetchDirectoryPeople(db, source: .scim, usernameKey: key).first {
                    try applier.leave(stored)
                }
            }
            guard
                let identityID = try db.value(
                    as: Int64.self, "SELECT id FROM identities WHERE provider = 'scim' AND username_key = ?", [key])
            else { throw StoreError(.corrupt, "the identity scim:\(userName) was not written") }
            let stamp = UTC.format(at, milliseconds: true)
            try db.execute(
                """
                INSERT INTO scim_users (id, user_name_key, display_name, external_id, resource, active, version, identity_id, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)
                """,
                [
                    id, key, ScimPeople.name(resource), resource["externalId"]?.stringValue, resource.canonicalText, active, identityID,
                    stamp, stamp,
                ])
            _ = try SQLStore.appendAudit(
                db,
                AuditDraft(
                    actor: actor, action: "scim.user.create", subject: id,
                    details: [
                        "identity": .string("scim:" + userName), "active": .bool(active),
                        "external_id": .optional(resource["externalId"]?.stringValue),
                    ]),
                at: at)
            guard let created = try SQLStore.fetchScimUsers(db, ScimLookup(.id, id)).first else {
                throw StoreError(.corrupt, "the SCIM user \(id) was not written")
            }
            return created
        }
    }

    public func changeScimUser(
        id: String, ifMatch: Int64?, removal: ScimRemovalGuard, actor: String, at: Date,
        _ change: @escaping @Sendable (ScimUserRecord) throws -> JSONValue
    ) async throws -> ScimUserRecord {
        try await recordingRefusal(at: at) {
            try await self.write(remembered: false) { db in
                let current = try SQLStore.scimUser(db, id, ifMatch: ifMatch)
                let resource = try change(current)
                guard resource != current.resource else { return current }
                let oldKey = ScimPeople.userName(current.resource).lowercased()
                let userName = ScimPeople.userName(resource)
                let key = userName.lowercased()
                if key != oldKey, let taken = try db.value(as: String.self, "SELECT id FROM scim_users WHERE user_name_key = ?", [key]) {
                    throw ScimError(409, .uniqueness, "a user with userName \"\(userName)\" exists already (id \(taken))")
                }
                guard let stored = try SQLStore.fetchDirectoryPeople(db, source: .scim, usernameKey: oldKey).first else {
                    throw StoreError(.corrupt, "the SCIM user \(id) has no scim:\(oldKey) identity")
                }
                let applier = DirectoryApplier(db: db, actor: actor, at: at, source: .scim)
                let active = ScimPeople.active(resource)
                if !active, current.active {
                    try SQLStore.guardRemoval(db, removal, at: at)
                }
                if key != oldKey {
                    // An identity left behind by a user deleted earlier holds the new name: moved aside.
                    if let old = try SQLStore.fetchDirectoryPeople(db, source: .scim, usernameKey: key).first {
                        let aside = IdentityRef.movedAsideUsername(old.uid, externalID: old.externalID)
                        try db.execute(
                            "UPDATE identities SET username = ?, username_key = ? WHERE id = ?",
                            [aside, aside.lowercased(), old.identityID])
                        _ = try SQLStore.appendAudit(
                            db,
                            AuditDraft(
                                actor: actor, action: "identity.update", subject: "scim:" + old.uid,
                                details: ["username": .string(aside), "reason": "userName taken by another SCIM user"]),
                            at: at)
                    }
                }
                try SQLStore.updateScimPerson(
                    db, applier, stored, ScimPeople.person(resource, id: id, groups: stored.groups), rejoin: active && !current.active)
                if !active, current.active, stored.status != .leftDirectory {
                    try applier.leave(stored)
                    try SQLStore.recordScimRemoval(db, id, at: at)
                }
                try db.execute(
                    """
                    UPDATE scim_users SET user_name_key = ?, display_name = ?, external_id = ?, resource = ?, active = ?, version = version + 1,
                        updated_at = ? WHERE id = ?
                    """,
                    [
                        key, ScimPeople.name(resource), resource["externalId"]?.stringValue, resource.canonicalText, active,
                        UTC.format(at, milliseconds: true), id,
                    ])
                _ = try SQLStore.appendAudit(
                    db,
                    AuditDraft(
                        actor: actor, action: "scim.user.update", subject: id,
                        details: [
                            "identity": .string("scim:" + userName),
                            "changed": .array(ScimValues.changedAttributes(current.resource, resource).map { .string($0) }),
                            "version": .int(current.version + 1),
                        ]),
                    at: at)
                return try SQLStore.fetchScimUsers(db, ScimLookup(.id, id))[0]
            }
        }
    }

    public func deleteScimUser(id: String, ifMatch: Int64?, removal: ScimRemovalGuard, actor: String, at: Date) async throws {
        try await recordingRefusal(at: at) {
            try await self.write(remembered: false) { db in
                let current = try SQLStore.scimUser(db, id, ifMatch: ifMatch)
                let key = ScimPeople.userName(current.resource).lowercased()
                let applier = DirectoryApplier(db: db, actor: actor, at: at, source: .scim)
                if let stored = try SQLStore.fetchDirectoryPeople(db, source: .scim, usernameKey: key).first {
                    if current.active, stored.status != .leftDirectory {
                        try SQLStore.guardRemoval(db, removal, at: at)
                        try applier.leave(stored)
                        try SQLStore.recordScimRemoval(db, id, at: at)
                    }
                    if !stored.groups.isEmpty {
                        try db.execute("DELETE FROM memberships WHERE identity_id = ? AND source = 'scim'", [stored.identityID])
                        _ = try SQLStore.appendAudit(
                            db,
                            DirectoryPlan.membershipAudit(
                                .init(
                                    identityID: stored.identityID, personID: stored.personID, uid: stored.uid, groups: [], added: [],
                                    removed: stored.groups),
                                actor: actor, source: .scim),
                            at: at)
                    }
                }
                // The groups that listed the user change too (their ETags move).
                try db.execute(
                    "UPDATE scim_groups SET version = version + 1 WHERE id IN (SELECT group_id FROM scim_members WHERE user_id = ?)", [id])
                try db.execute("DELETE FROM scim_members WHERE user_id = ?", [id])
                try db.execute("DELETE FROM scim_users WHERE id = ?", [id])
                _ = try SQLStore.appendAudit(
                    db,
                    AuditDraft(
                        actor: actor, action: "scim.user.delete", subject: id,
                        details: ["identity": .string("scim:" + ScimPeople.userName(current.resource))]),
                    at: at)
            }
        }
    }

    public func createScimGroup(id: String, resource: JSONValue, members: [String], actor: String, at: Date) async throws -> ScimGroupRecord
    {
        try await write(remembered: false) { db in
            let name = resource["displayName"]?.stringValue ?? ""
            if let taken = try db.value(as: String.self, "SELECT id FROM scim_groups WHERE display_name_key = ?", [name.lowercased()]) {
                throw ScimError(409, .uniqueness, "a group with displayName \"\(name)\" exists already (id \(taken))")
            }
            try SQLStore.requireScimUsers(db, members)
            let stamp = UTC.format(at, milliseconds: true)
            try db.execute(
                """
                INSERT INTO scim_groups (id, display_name, display_name_key, external_id, resource, version, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, 1, ?, ?)
                """, [id, name, name.lowercased(), resource["externalId"]?.stringValue, resource.canonicalText, stamp, stamp])
            try SQLStore.insertScimMembers(db, group: id, members)
            _ = try SQLStore.appendAudit(
                db,
                AuditDraft(
                    actor: actor, action: "scim.group.create", subject: id,
                    details: ["display_name": .string(name), "members": .int(Int64(members.count))]),
                at: at)
            try SQLStore.recomputeScimMemberships(db, Set(members), actor: actor, at: at)
            return try SQLStore.fetchScimGroups(db, ScimLookup(.id, id), members: true)[0]
        }
    }

    public func changeScimGroup(
        id: String, ifMatch: Int64?, actor: String, at: Date,
        _ change: @escaping @Sendable (ScimGroupRecord) throws -> (JSONValue, ScimPatch.Members)
    ) async throws -> ScimGroupRecord {
        try await write(remembered: false) { db in
            guard let current = try SQLStore.fetchScimGroups(db, ScimLookup(.id, id), members: true).first else {
                throw ScimError.notFound("no group has id \(id)")
            }
            try SQLStore.checkVersion(current.version, ifMatch, "group \(id)")
            let (resource, members) = try change(current)
            let before = Set(current.members.map(\.id)), after = members.set
            guard resource != current.resource || before != after else { return current }
            let oldName = current.resource["displayName"]?.stringValue ?? "", name = resource["displayName"]?.stringValue ?? ""
            let renamed = oldName.lowercased() != name.lowercased()
            if renamed,
                let taken = try db.value(as: String.self, "SELECT id FROM scim_groups WHERE display_name_key = ?", [name.lowercased()])
            {
                throw ScimError(409, .uniqueness, "a group with displayName \"\(name)\" exists already (id \(taken))")
            }
            let added = members.ids.filter { !before.contains($0) }, removed = before.subtracting(after)
            try SQLStore.requireScimUsers(db, added)
            if !removed.isEmpty {
                try db.execute(
                    "DELETE FROM scim_members WHERE group_id = ? AND user_id IN (SELECT value ->> 0 FROM \(db.dialect.jsonArrayElements))",
                    [id, SQLStore.idList(removed.sorted())])
            }
            try SQLStore.insertScimMembers(db, group: id, added)
            try db.execute(
                """
                UPDATE scim_groups SET display_name = ?, display_name_key = ?, external_id = ?, resource = ?, version = version + 1, updated_at = ?
                WHERE id = ?
                """,
                [
                    name, name.lowercased(), resource["externalId"]?.stringValue, resource.canonicalText,
                    UTC.format(at, milliseconds: true), id,
                ])
            _ = try SQLStore.appendAudit(
                db,
                AuditDraft(
                    actor: actor, action: "scim.group.update", subject: id,
                    details: [
                        "display_name": .string(name), "renamed_from": renamed ? .string(oldName) : .null,
                        "members_added": .int(Int64(added.count)),
                        "members_removed": .int(Int64(removed.count)), "version": .int(current.version + 1),
                    ]),
                at: at)
            try SQLStore.recomputeScimMemberships(db, renamed ? after.union(removed) : removed.union(added), actor: actor, at: at)
            return try SQLStore.fetchScimGroups(db, ScimLookup(.id, id), members: true)[0]
        }
    }

    public func deleteScimGroup(id: String, ifMatch: Int64?, actor: String, at: Date) async throws {
        try await write(remembered: false) { db in
            guard let current = try SQLStore.fetchScimGroups(db, ScimLookup(.id, id), members: true).first else {
                throw ScimError.notFound("no group has id \(id)")
            }
            try SQLStore.checkVersion(current.version, ifMatch, "group \(id)")
            try db.execute("DELETE FROM scim_members WHERE group_id = ?", [id])
            try db.execute("DELETE FROM scim_groups WHERE id = ?", [id])
            _ = try SQLStore.appendAudit(
                db,
                AuditDraft(
                    actor: actor, action: "scim.group.delete", subject: id,
                    details: [
                        "display_name": .optional(current.resource["displayName"]?.stringValue),
                        "members": .int(Int64(current.members.count)),
                    ]),
                at: at)
            try SQLStore.recomputeScimMemberships(db, Set(current.members.map(\.id)), actor: actor, at: at)
        }
    }

    public func allowScimRemovals(_ people: Int, until: Date, actor: String, at: Date) async throws {
        try await write(remembered: false) { db in
            try db.execute(
                "INSERT INTO scim_allowances (until, people) VALUES (?, ?)", [UTC.format(until, milliseconds: true), Int64(people)])
            _ = try SQLStore.appendAudit(
                db,
                AuditDraft(
                    actor: actor, action: "scim.removals.allow", subject: "scim",
                    details: ["people": .int(Int64(people)), "until": .string(UTC.format(until))]),
                at: at)
        }
    }

    public func scimSummary(at: Date) async throws -> ScimSummary {
        try await read { db in
            let hourAgo = UTC.format(at.addingTimeInterval(-3600), milliseconds: true)
            return ScimSummary(
                users: try db.value(as: Int.self, "SELECT COUNT(*) FROM scim_users") ?? 0,
                activeUsers: try db.value(as: Int.self, "SELECT COUNT(*) FROM scim_users WHERE active = 1") ?? 0,
                groups: try db.value(as: Int.self, "SELECT COUNT(*) FROM scim_groups") ?? 0,
                removedLastHour: try db.value(as: Int.self, "SELECT COUNT(*) FROM scim_removals WHERE at > ?", [hourAgo]) ?? 0,
                allowed: try SQLStore.scimAllowance(db, at: at),
                lastChange: try db.value(
                    as: String.self, "SELECT MAX(at) FROM audit_log WHERE action LIKE 'scim.%'"
                ).flatMap { UTC.parseTimestamp($0) },
                lastRefusal: try SQLStore.scimRefusal(db))
        }
    }

    public func scimRefusal() async throws -> (at: Date, message: String)? {
        try await read { db in try SQLStore.scimRefusal(db) }
    }

    static func scimRefusal(_ db: any SQLSession) throws -> (at: Date, message: String)? {
        try db.row("SELECT last_refused_at, last_refusal FROM scim_state WHERE id = 1").map {
            (try $0.time("last_refused_at"), try $0["last_refusal"])
        }
    }

    /// A change the removal guard refused is recorded once its transaction is rolled back.
    func recordingRefusal<T: Sendable>(at: Date, _ change: () async throws -> T) async throws -> T {
        do {
            return try await change()
        } catch let error as ScimError where error.isRemovalRefusal {
            try? await recordScimRefusal(error.detail, at: at)
            throw error
        }
    }

    public func recordScimRefusal(_ message: String, at: Date) async throws {
        _ = try await write(remembered: false) { db in
            try db.execute(
                """
                INSERT INTO scim_state (id, last_refused_at, last_refusal) VALUES (1, ?, ?)
                ON CONFLICT (id) DO UPDATE SET last_refused_at = excluded.last_refused_at, last_refusal = excluded.last_refusal
                """, [UTC.format(at, milliseconds: true), message])
        }
    }

    // MARK: inside a transaction

    static func idList(_ ids: [String]) -> String { JSONValue.array(ids.map { .array([.string($0)]) }).canonicalText }

    static func checkVersion(_ version: Int64, _ ifMatch: Int64?, _ what: String) throws {
        if let ifMatch, ifMatch != version {
            throw ScimError(412, nil, "\(what) is at version \(version), not \(ifMatch) (If-Match): read it again and retry the change")
        }
    }

    static func scimUser(_ db: any SQLSession, _ id: String, ifMatch: Int64?) throws -> ScimUserRecord {
        guard let current = try fetchScimUsers(db, ScimLookup(.id, id)).first else { throw ScimError.notFound("no user has id \(id)") }
        try checkVersion(current.version, ifMatch, "user \(id)")
        return current
    }

    static func scimAllowance(_ db: any SQLSession, at: Date) throws -> Int {
        try db.value(
            as: Int.self, "SELECT COALESCE(SUM(people), 0) FROM scim_allowances WHERE until > ?", [UTC.format(at, milliseconds: true)]) ?? 0
    }

    /// Refuses one more departure beyond the hour's limit (nothing is written: the caller's
    /// transaction is rolled back by the error).
    static func guardRemoval(_ db: any SQLSession, _ removal: ScimRemovalGuard, at: Date) throws {
        let hourAgo = UTC.format(at.addingTimeInterval(-3600), milliseconds: true)
        let removed = try db.value(as: Int.self, "SELECT COUNT(*) FROM scim_removals WHERE at > ?", [hourAgo]) ?? 0
        let present = try db.value(as: Int.self, "SELECT COUNT(*) FROM scim_users WHERE active = 1") ?? 0
        if let refusal = removal.refusal(removed: removed, present: present, allowed: try scimAllowance(db, at: at)) {
            throw ScimError.removalRefused(refusal)
        }
    }

    static func recordScimRemoval(_ db: any SQLSession, _ id: String, at: Date) throws {
        try db.execute("DELETE FROM scim_removals WHERE at < ?", [UTC.format(at.addingTimeInterval(-86_400), milliseconds: true)])
        try db.execute("INSERT INTO scim_removals (at, user_id) VALUES (?, ?)", [UTC.format(at, milliseconds: true), id])
    }

    /// The person and identity follow the user's attributes; `rejoin`: back in the directory.
    static func updateScimPerson(
        _ db: any SQLSession, _ applier: DirectoryApplier, _ stored: StoredDirectoryPerson, _ person: DirectoryPerson, rejoin: Bool
    )
        throws
    {
        var changes: [String] = []
        if stored.uid != person.uid { changes.append("uid") }
        if !DirectoryPlanner.sameEmail(stored.email, person.email) || !DirectoryPlanner.sameEmail(stored.personEmail, person.email) {
            changes.append("email")
        }
        if stored.personName != person.name { changes.append("name") }
        if stored.externalID != person.externalID { changes.append("external_id") }
        let rejoined = rejoin && stored.status == .leftDirectory
        if rejoined { changes.append("rejoined") }
        guard !changes.isEmpty else { return }
        try db.execute(
            "UPDATE identities SET username = ?, username_key = ?, external_id = ?, email = ? WHERE id = ?",
            [person.uid, person.uid.lowercased(), person.externalID, person.email, stored.identityID])
        try db.execute("UPDATE persons SET name = ?, email = ? WHERE id = ?", [person.name, person.email, stored.personID])
        if rejoined { try db.execute("UPDATE persons SET status = 'active' WHERE id = ? AND status = 'left_directory'", [stored.personID]) }
        _ = try appendAudit(
            db, DirectoryPlan.updateAudit(.init(stored: stored, person: person, changes: changes), actor: applier.actor, source: .scim),
            at: applier.at)
    }

    static func requireScimUsers(_ db: any SQLSession, _ ids: [String]) throws {
        guard !ids.isEmpty else { return }
        let known = Set(
            try db.values(
                as: String.self, "SELECT id FROM scim_users WHERE id IN (SELECT value ->> 0 FROM \(db.dialect.jsonArrayElements))",
                [idList(ids)]))
        let unknown = ids.filter { !known.contains($0) }
        guard unknown.isEmpty else {
            throw ScimError.invalidValue(
                "no user has id \(unknown.prefix(3).joined(separator: ", "))\(unknown.count > 3 ? " (and \(unknown.count - 3) more)" : "")"
                    + ": a group's members are users of this service provider (nested groups are not kept)")
        }
    }

    static func insertScimMembers(_ db: any SQLSession, group: String, _ ids: [String]) throws {
        guard !ids.isEmpty else { return }
        try db.execute(
            "INSERT INTO scim_members (group_id, user_id) SELECT ?, value ->> 0 FROM \(db.dialect.jsonArrayElements)", [group, idList(ids)])
    }

    /// The `scim` group memberships of these users, set from the groups that list them now:
    /// read, compared and written in a handful of statements however many users (a group of
    /// 10,000 renamed), one `directory.membership` entry per user whose groups changed.
    static func recomputeScimMemberships(_ db: any SQLSession, _ users: Set<String>, actor: String, at: Date) throws {
        guard !users.isEmpty else { return }
        let ids = idList(users.sorted())
        let chosen = "SELECT value ->> 0 FROM \(db.dialect.jsonArrayElements)"
        var people: [String: (identityID: Int64, personID: String, uid: String)] = [:]
        for row in try db.rows(
            "SELECT u.id, u.identity_id, i.person_id, i.username FROM scim_users u JOIN identities i ON i.id = u.identity_id WHERE u.id IN (\(chosen))",
            [ids])
        {
            people[try row["id"]] = (try row["identity_id"], try row["person_id"], try row["username"])
        }
        var now: [String: Set<String>] = [:]
        for row in try db.rows(
            "SELECT m.user_id, g.display_name_key FROM scim_members m JOIN scim_groups g ON g.id = m.group_id WHERE m.user_id IN (\(chosen))",
            [ids])
        {
            try now[row[0], default: []].insert(row[1])
        }
        var held: [Int64: Set<String>] = [:]
        for row in try db.rows(
            """
            SELECT identity_id, name FROM memberships WHERE source = 'scim' AND kind = 'group'
            AND identity_id IN (SELECT identity_id FROM scim_users WHERE id IN (\(chosen)))
            """, [ids])
        {
            try held[row[0], default: []].insert(row[1])
        }
        var changes: [DirectoryPlan.MembershipChange] = []
        for (id, p) in people.sorted(by: { $0.key < $1.key }) {
            let groups = now[id] ?? [], before = held[p.identityID] ?? []
            guard groups != before else { continue }
            changes.append(
                .init(
                    identityID: p.identityID, personID: p.personID, uid: p.uid, groups: groups, added: groups.subtracting(before),
                    removed: before.subtracting(groups)))
        }
        guard !changes.isEmpty else { return }
        let identities = JSONValue.array(changes.map { .array([.int($0.identityID)]) }).canonicalText
        try db.execute(
            """
            DELETE FROM memberships WHERE source = 'scim' AND kind = 'group'
            AND identity_id IN (SELECT CAST(value ->> 0 AS BIGINT) FROM \(db.dialect.jsonArrayElements))
            """, [identities])
        var rows = SQLRows(
            "memberships", ["identity_id", "name"],
            constants: [("kind", .text("group")), ("source", .text("scim")), ("updated_at", .text(UTC.format(at, milliseconds: true)))])
        for change in changes { for group in change.groups.sorted() { rows.append([.int(change.identityID), .text(group)]) } }
        try db.insert(rows)
        var audit = try AuditBatch(db)
        for change in changes { audit.append(DirectoryPlan.membershipAudit(change, actor: actor, source: .scim), at: at) }
        try audit.finish()
    }

    static func fetchScimUsers(_ db: any SQLSession, _ lookup: ScimLookup?) throws -> [ScimUserRecord] {
        let (condition, arguments) = lookupCondition(lookup, table: "u.", name: "user_name_key")
        let rows = try db.rows(
            """
            SELECT u.id, u.resource, u.active, u.version, i.person_id, u.created_at, u.updated_at
            FROM scim_users u JOIN identities i ON i.id = u.identity_id \(condition) ORDER BY u.created_at, u.id
            """, arguments)
        guard !rows.isEmpty else { return [] }
        var groups: [String: [ScimReference]] = [:]
        let groupRows =
            rows.count == 1
            ? try db.rows(
                "SELECT m.user_id, g.id, g.display_name FROM scim_members m JOIN scim_groups g ON g.id = m.group_id WHERE m.user_id = ? ORDER BY g.id",
                [try rows[0]["id"] as String])
            : try db.rows(
                "SELECT m.user_id, g.id, g.display_name FROM scim_members m JOIN scim_groups g ON g.id = m.group_id ORDER BY g.id")
        for row in groupRows { try groups[row[0], default: []].append(ScimReference(id: row[1], display: row[2])) }
        return try rows.map { row in
            let id: String = try row["id"]
            return ScimUserRecord(
                id: id, resource: try parseResource(row["resource"], id), active: try row["active"], version: try row["version"],
                personID: try row["person_id"], createdAt: try row.time("created_at"), updatedAt: try row.time("updated_at"),
                groups: groups[id] ?? [])
        }
    }

    static func fetchScimGroups(_ db: any SQLSession, _ lookup: ScimLookup?, members: Bool) throws -> [ScimGroupRecord] {
        let (condition, arguments) = lookupCondition(lookup, table: "", name: "display_name_key")
        let rows = try db.rows(
            "SELECT id, resource, version, created_at, updated_at FROM scim_groups \(condition) ORDER BY created_at, id", arguments)
        var memberRefs: [String: [ScimReference]] = [:]
        if members, !rows.isEmpty {
            let memberRows =
                rows.count == 1
                ? try db.rows(
                    "SELECT m.group_id, u.id, u.display_name FROM scim_members m JOIN scim_users u ON u.id = m.user_id WHERE m.group_id = ? ORDER BY u.id",
                    [try rows[0]["id"] as String])
                : try db.rows(
                    "SELECT m.group_id, u.id, u.display_name FROM scim_members m JOIN scim_users u ON u.id = m.user_id ORDER BY u.id")
            for row in memberRows { try memberRefs[row[0], default: []].append(ScimReference(id: row[1], display: row[2])) }
        }
        return try rows.map { row in
            let id: String = try row["id"]
            return ScimGroupRecord(
                id: id, resource: try parseResource(row["resource"], id), version: try row["version"],
                createdAt: try row.time("created_at"),
                updatedAt: try row.time("updated_at"), members: memberRefs[id] ?? [])
        }
    }

    /// The WHERE clause of a look-up by id, name (compared lowercased) or external id.
    static func lookupCondition(_ lookup: ScimLookup?, table: String, name: String) -> (String, [(any SQLBindable)?]) {
        guard let lookup else { return ("", []) }
        let column =
            switch lookup.field {
            case .id: "id"
            case .name: name
            case .externalID: "external_id"
            }
        return ("WHERE \(table)\(column) = ?", [lookup.field == .name ? lookup.value.lowercased() : lookup.value])
    }

    static func parseResource(_ text: String, _ id: String) throws -> JSONValue {
        do { return try JSONValue.parse(text) } catch { throw StoreError(.corrupt, "the SCIM resource \(id) is not JSON: \(error)") }
    }
}

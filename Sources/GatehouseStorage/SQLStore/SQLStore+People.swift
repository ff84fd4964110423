import Foundation
import GatehouseDomain

extension SQLStore {
    /// The columns `person`, `identity` and `membership` read (not the bookkeeping times).
    static let personColumns = "id, name, email, role, status, seat, last_seen_at, created_at"
    static let identityColumns = "id, provider, username, external_id, email, person_id"
    static let membershipColumns = "identity_id, kind, name, source, present"

    public func peopleChanges(after seq: Int64, limit: Int) async throws -> PeopleSnapshot? {
        try await read { db in
            let head = try SQLStore.auditHead(db)
            guard head - seq <= Int64(limit), head >= seq else { return nil }
            var personIDs: Set<String> = []
            var identityIDs: Set<Int64> = []
            var started: [String] = []
            var ended: Set<String> = []
            for row in try db.rows("SELECT action, subject, details FROM audit_log WHERE seq > ? ORDER BY seq", [seq]) {
                let action: String = try row["action"], subject: String = try row["subject"]
                switch action {
                case "person.create", "seat.activate", "seat.deactivate", "directory.person.add", "directory.person.update",
                    "directory.person.leave", "directory.membership":
                    personIDs.insert(subject)
                case "identity.create":
                    guard case .string(let person)? = (try? JSONValue.parse(row["details"] as String))?["person"] else { return nil }
                    personIDs.insert(person)
                case let action where action.hasPrefix("scim."):
                    // The SCIM resources themselves; their effect on people is audited apart.
                    continue
                case "clock.observe":
                    // Time, not people: each replica reads the latest time itself every minute.
                    continue
                case "session.start":
                    started.append(subject)
                case "session.end":
                    ended.insert(subject)
                case "membership.update":
                    guard subject.hasPrefix("identity "), let id = Int64(subject.dropFirst("identity ".count)) else { return nil }
                    identityIDs.insert(id)
                default:
                    return nil
                }
            }
            let elements = db.dialect.jsonArrayElements
            if !identityIDs.isEmpty {
                let ids = JSONValue.array(identityIDs.sorted().map { .array([.int($0)]) }).canonicalText
                personIDs.formUnion(
                    try db.values(
                        as: String.self,
                        "SELECT person_id FROM identities WHERE id IN (SELECT CAST(value ->> 0 AS BIGINT) FROM \(elements))",
                        [ids]))
            }
            let people = JSONValue.array(personIDs.sorted().map { .array([.string($0)]) }).canonicalText
            let chosen = "SELECT value ->> 0 FROM \(elements)"
            return PeopleSnapshot(
                persons: try db.rows("SELECT * FROM persons WHERE id IN (\(chosen))", [people]).map(SQLStore.person),
                identities: try db.rows("SELECT * FROM identities WHERE person_id IN (\(chosen))", [people]).map(SQLStore.identity),
                memberships: try db.rows(
                    "SELECT * FROM memberships WHERE identity_id IN (SELECT id FROM identities WHERE person_id IN (\(chosen)))", [people]
                ).map(SQLStore.membership),
                auditSeq: head,
                sessions: started.isEmpty
                    ? []
                    : try db.rows(
                        "SELECT * FROM sessions WHERE id IN (SELECT value ->> 0 FROM \(elements))",
                        [JSONValue.array(started.map { .array([.string($0)]) }).canonicalText]
                    ).map(SQLStore.session),
                endedSessions: ended.sorted())
        }
    }

    public func auditHeadSeq() async throws -> Int64 {
        try await read { db in try SQLStore.auditHead(db) }
    }

    public func person(id: String) async throws -> PersonRecord? {
        try await read { db in try SQLStore.fetchPerson(db, id) }
    }

    public func identities(personID: String) async throws -> [IdentityRecord] {
        try await read { db in
            try db.rows("SELECT * FROM identities WHERE person_id = ? ORDER BY provider, username_key", [personID])
                .map(SQLStore.identity)
        }
    }

    public func identity(_ ref: IdentityRef) async throws -> IdentityRecord? {
        try await read { db in try SQLStore.fetchIdentity(db, ref) }
    }

    public func memberships(identityID: Int64) async throws -> [MembershipRecord] {
        try await read { db in
            try db.rows("SELECT * FROM memberships WHERE identity_id = ? ORDER BY kind, name", [identityID])
                .map(SQLStore.membership)
        }
    }

    public func persons(seat: SeatState?, notSeenSince: Date?) async throws -> [PersonRecord] {
        try await read { db in
            var conditions: [String] = []
            var arguments: [(any SQLBindable)?] = []
            if let seat {
                conditions.append("seat = ?")
                arguments += [seat.rawValue]
            }
            if let since = notSeenSince {
                // Never seen counts from creation.
                conditions.append("COALESCE(last_seen_at, created_at) < ?")
                arguments += [UTC.format(since, milliseconds: true)]
            }
            let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
            return try db.rows("SELECT * FROM persons\(filter) ORDER BY created_at, id", arguments).map(SQLStore.person)
        }
    }

    // MARK: changes

    public func activateSeat(
        _ target: SeatTarget, claims: MembershipClaims?, actor: String, at: Date,
        rule: @escaping @Sendable (any PeopleFacts) throws -> PeoplePlan
    ) async throws -> ActivationResult {
        let item = SeatActivation(target, claims: claims, actor: actor, at: at, rule: rule)
        return try await write { db in
            var (result, personID) = try SQLStore.activate(item, in: SQLPeopleFacts(db: db))
            result.person = try personID.flatMap { try SQLStore.fetchPerson(db, $0) }
            return result
        }
    }

    public func activateSeats(_ batch: [SeatActivation]) async throws -> [ActivationResult] {
        try await write { db in try SQLStore.activateSeats(db, batch) }
    }

    /// One activation inside a write transaction — `item`'s rule decided from `transaction`'s
    /// facts and its plan carried out there — with the claims of a login that gets (or already
    /// has) its seat. The person is named rather than read: one by one it is read at once; a
    /// batch reads its people once everything is written.
    static func activate(_ item: SeatActivation, in transaction: some PeopleTransaction) throws -> (
        result: ActivationResult, personID: String?
    ) {
        let committed = try transaction.apply(at: item.at) { try item.rule($0) }
        // What came of it, as stored now.
        let identity: IdentityRecord? =
            switch item.target {
            case .person: nil
            case .newIdentity(let candidate): try committed.created.first ?? transaction.identity(candidate.ref)
            }
        let personID: String? =
            switch item.target {
            case .person(let id): id
            case .newIdentity(let candidate): identity?.personID ?? candidate.linkTo
            }
        var result = ActivationResult(
            outcome: committed.plan.activation ?? .noSeatAvailable, person: nil, identity: identity,
            activeSeats: try transaction.activeSeats(), committed: committed)
        if let claims = item.claims, result.outcome == .activated || result.outcome == .alreadyActive,
            let identityID = claims.identityID ?? identity?.id
        {
            let memberships = claims.records(for: identityID)
            _ = try transaction.apply(at: item.at) {
                try SeatRules.replaceMemberships(
                    identityID: identityID, source: claims.source, with: memberships, actor: item.actor, facts: $0)
            }
            result.claimsRecorded = RecordedClaims(identityID: identityID, source: claims.source, memberships: memberships)
        }
        return (result, personID)
    }

    public func changePeople(at: Date, _ rule: @escaping @Sendable (any PeopleFacts) throws -> PeoplePlan) async throws
        -> CommittedPeoplePlan
    {
        try await write { db in try SQLStore.apply(db, at: at) { try rule($0) } }
    }

    public func previewPeople(_ rule: @escaping @Sendable (any PeopleFacts) throws -> PeoplePlan) async throws -> PeoplePlan {
        try await read { db in try SQLStore.decide(db) { try rule($0) } }
    }

    public func applyWebhook(
        _ delivery: WebhookDelivery, at: Date, rule: @escaping @Sendable (any WebhookFacts) throws -> WebhookPlan
    ) async throws -> WebhookApplyOutcome {
        try await write { db in
            let plan = try rule(SQLWebhookFacts(db: db))
            guard let record = plan.record else { return plan.outcome }
            let stamp = UTC.format(at, milliseconds: true)
            // Two retries of one delivery racing on PostgreSQL: the second inserts nothing.
            let inserted = try db.execute(
                """
                INSERT INTO webhook_deliveries (provider, delivery_id, event, outcome, received_at, body_sha256, membership, event_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                """,
                [
                    delivery.provider, delivery.id, delivery.event, record.outcome, stamp, delivery.bodySHA256, record.membership,
                    record.eventAt.map { UTC.format($0, milliseconds: true) },
                ])
            guard inserted == 1 else { return .duplicate }
            if let m = plan.change {
                try db.execute(
                    """
                    INSERT INTO memberships (identity_id, kind, name, source, present, updated_at) VALUES (?, ?, ?, 'webhook', ?, ?)
                    ON CONFLICT (identity_id, kind, name, source) DO UPDATE SET present = excluded.present, updated_at = excluded.updated_at
                    """, [m.identityID, m.kind.rawValue, m.name, m.present, stamp])
            }
            if let audit = plan.audit { try SQLStore.appendAudit(db, audit, at: at) }
            return plan.outcome
        }
    }

    public func touchLastSeen(_ times: [String: Date]) async throws {
        guard !times.isEmpty else { return }
        try await write { db in
            for (id, time) in times {
                try db.executeLater(
                    "UPDATE persons SET last_seen_at = ? WHERE id = ? AND (last_seen_at IS NULL OR last_seen_at < ?)",
                    [UTC.format(time, milliseconds: true), id, UTC.format(time, milliseconds: true)])
            }
        }
    }

    public func addDenials(_ batch: DenialBatch, keep: Int) async throws {
        guard !batch.isEmpty else { return }
        try await write { db in
            for entry in batch.recent.suffix(keep) {
                try db.executeLater(
                    "INSERT INTO recent_denials (at, kind, reason, subject) VALUES (?, ?, ?, ?)",
                    [UTC.format(entry.at, milliseconds: true), entry.kind, entry.reason, entry.subject])
            }
            try db.executeLater(
                "DELETE FROM recent_denials WHERE id <= (SELECT id FROM recent_denials ORDER BY id DESC LIMIT 1 OFFSET ?)", [keep])
            for (key, count) in batch.counts {
                try db.executeLater(
                    """
                    INSERT INTO denial_counts (day, kind, reason, count) VALUES (?, ?, ?, ?)
                    ON CONFLICT (day, kind, reason) DO UPDATE SET count = denial_counts.count + excluded.count
                    """, [key.day, key.kind, key.reason, count])
            }
            for (key, count) in batch.byDestination {
                try db.executeLater(
                    """
                    INSERT INTO egress_denials (day, destination, reason, count)
                    SELECT ?1, CASE WHEN EXISTS (SELECT 1 FROM egress_denials WHERE day = ?1 AND destination = ?2)
                                      OR (SELECT COUNT(DISTINCT destination) FROM egress_denials WHERE day = ?1) < ?5
                                    THEN ?2 ELSE ?6 END, ?3, ?4
                    ON CONFLICT (day, destination, reason) DO UPDATE SET count = egress_denials.count + excluded.count
                    """,
                    [key.day, key.destination, key.reason, count, EgressDenialKey.destinationsPerDay, EgressDenialKey.otherDestinations])
            }
        }
    }

    public func recentDenials(limit: Int) async throws -> [DenialEntry] {
        try await read { db in
            try db.rows("SELECT * FROM recent_denials ORDER BY id DESC LIMIT ?", [limit]).map { row in
                try DenialEntry(
                    at: row.time("at"), kind: row["kind"], reason: row["reason"], subject: row["subject"])
            }
        }
    }

    public func denialCounts(since: String?) async throws -> [DenialKey: Int64] {
        try await read { db in
            var result: [DenialKey: Int64] = [:]
            for row in try db.rows("SELECT * FROM denial_counts WHERE day >= ?", [since ?? ""]) {
                try result[DenialKey(day: row["day"], kind: row["kind"], reason: row["reason"])] = row["count"]
            }
            return result
        }
    }

    public func egressDenialCounts(since: String?) async throws -> [EgressDenialKey: Int64] {
        try await read { db in
            var result: [EgressDenialKey: Int64] = [:]
            for row in try db.rows("SELECT * FROM egress_denials WHERE day >= ?", [since ?? ""]) {
                try result[EgressDenialKey(day: row["day"], destination: row["destination"], reason: row["reason"])] = row["count"]
            }
            return result
        }
    }

    public func seatEvents(since: Date) async throws -> (startActive: Int64, events: [(at: Date, activeAfter: Int64)]) {
        try await read { db in
            let stamp = UTC.format(since, milliseconds: true)
            let start =
                try db.value(as: Int64.self, "SELECT active_after FROM seat_events WHERE at < ? ORDER BY id DESC LIMIT 1", [stamp]) ?? 0
            let rows = try db.rows("SELECT at, active_after FROM seat_events WHERE at >= ? ORDER BY id", [stamp])
            return (
                start,
                try rows.map { row in (try row.time("at"), try row["active_after"] as Int64) }
            )
        }
    }

    public func seatHistory(personID: String, limit: Int) async throws -> [SeatHistoryEntry] {
        try await read { db in
            try db.rows(
                "SELECT event, at, actor, reason FROM seat_events WHERE person_id = ? ORDER BY id DESC LIMIT ?", [personID, limit]
            ).map { row in
                try SeatHistoryEntry(
                    activated: (row["event"] as String) == "activate", at: row.time("at"), actor: row["actor"], reason: row["reason"])
            }
        }
    }

    public func auditChainHead() async throws -> (seq: Int64, hash: String)? {
        try await read { db in
            try SQLStore.storedAuditHead(db)
        }
    }

    public func seatUsage(since: Date) async throws -> SeatUsageRecord {
        try await read { db in
            let active = try SQLStore.activeSeats(db)
            let stamp = UTC.format(since, milliseconds: true)
            let peakInPeriod = try db.value(as: Int64.self, "SELECT MAX(active_after) FROM seat_events WHERE at >= ?", [stamp]) ?? 0
            // Seats held when the period began count toward its peak too.
            let atStart =
                try db.value(as: Int64.self, "SELECT active_after FROM seat_events WHERE at < ? ORDER BY id DESC LIMIT 1", [stamp]) ?? 0
            return SeatUsageRecord(active: active, peak: max(active, peakInPeriod, atStart))
        }
    }

    // MARK: row helpers

    /// Releases a person's seat and ends their gate sessions (signing in again asks for a seat).
    static func releaseSeat(_ db: any SQLSession, _ personID: String, actor: String, reason: String, at: Date) throws -> Bool {
        try SQLStore.apply(db, at: at) { try SeatRules.release(personID: personID, actor: actor, reason: reason, facts: $0) }.changed
    }

    static func insertSeatEvent(
        _ db: any SQLSession, _ personID: String, _ event: String, activeAfter: Int64, actor: String, reason: String, at: Date
    ) throws {
        try db.executeLater(
            "INSERT INTO seat_events (person_id, event, at, actor, reason, active_after) VALUES (?, ?, ?, ?, ?, ?)",
            [personID, event, UTC.format(at, milliseconds: true), actor, reason, activeAfter])
    }

    static func fetchPerson(_ db: any SQLSession, _ id: String) throws -> PersonRecord? {
        try db.row("SELECT * FROM persons WHERE id = ?", [id]).map(person)
    }

    static func fetchIdentity(_ db: any SQLSession, _ ref: IdentityRef) throws -> IdentityRecord? {
        try db.row(
            "SELECT * FROM identities WHERE provider = ? AND username_key = ?", [ref.provider.rawValue, ref.username.lowercased()]
        ).map(identity)
    }

    static func person(_ row: SQLRow) throws -> PersonRecord { try PersonColumns(row).decode(row) }
    static func identity(_ row: SQLRow) throws -> IdentityRecord { try IdentityColumns(row).decode(row) }
    static func membership(_ row: SQLRow) throws -> MembershipRecord { try MembershipColumns(row).decode(row) }

    /// Where a result holds a person's columns, looked up once for all its rows.
    struct PersonColumns: RowDecoder {
        let id, name, email, role, status, seat, lastSeenAt, createdAt: Int
        static let roles = RawValues<Role>(), statuses = RawValues<PersonStatus>(), seats = RawValues<SeatState>()

        init(_ row: some SQLColumns) throws {
            (id, name, email) = (try row.position(of: "id"), try row.position(of: "name"), try row.position(of: "email"))
            (role, status, seat) = (try row.position(of: "role"), try row.position(of: "status"), try row.position(of: "seat"))
            (lastSeenAt, createdAt) = (try row.position(of: "last_seen_at"), try row.position(of: "created_at"))
        }

        func decode(_ row: some SQLColumns) throws -> PersonRecord {
            try PersonRecord(
                id: row.text(id), name: row.text(name), email: row.optionalText(email), role: row.value(role, in: Self.roles),
                status: row.value(status, in: Self.statuses), seat: row.value(seat, in: Self.seats),
                lastSeenAt: row.optionalTime(lastSeenAt), createdAt: row.time(createdAt))
        }
    }

    /// Where a result holds an identity's columns.
    struct IdentityColumns: RowDecoder {
        let id, provider, username, externalID, email, personID: Int
        static let providers = RawValues<Provider>()

        init(_ row: some SQLColumns) throws {
            (id, provider, username) = (try row.position(of: "id"), try row.position(of: "provider"), try row.position(of: "username"))
            (externalID, email, personID) = (
                try row.position(of: "external_id"), try row.position(of: "email"), try row.position(of: "person_id")
            )
        }

        func decode(_ row: some SQLColumns) throws -> IdentityRecord {
            try IdentityRecord(
                id: row.int64(id), ref: IdentityRef(provider: row.value(provider, in: Self.providers), username: row.text(username)),
                externalID: row.optionalText(externalID), email: row.optionalText(email), personID: row.text(personID))
        }
    }

    /// Where a result holds a membership's columns.
    struct MembershipColumns: RowDecoder {
        let identityID, kind, name, source, present: Int
        static let kinds = RawValues<MembershipKind>(), sources = RawValues<MembershipSource>()

        init(_ row: some SQLColumns) throws {
            (identityID, kind, name) = (try row.position(of: "identity_id"), try row.position(of: "kind"), try row.position(of: "name"))
            (source, present) = (try row.position(of: "source"), try row.position(of: "present"))
        }

        func decode(_ row: some SQLColumns) throws -> MembershipRecord {
            try MembershipRecord(
                identityID: row.int64(identityID), kind: row.value(kind, in: Self.kinds), name: row.text(name),
                source: row.value(source, in: Self.sources), present: row.bool(present))
        }
    }
}

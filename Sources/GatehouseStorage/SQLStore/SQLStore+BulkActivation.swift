import Foundation
import GatehouseDomain

extension SQLStore {
    /// Several activations in the caller's transaction, each decided and carried out as
    /// `activateSeat` does one (the same rules, facts, steps and audit entries, in order), with
    /// the rows of first logins gathered and written with one statement per table
    /// (`BulkPeopleWriter`). One by one, a first login on PostgreSQL waited for eight answers —
    /// its identity looked up, the seat counter read twice, the identity's id, its person and
    /// memberships read back — and sent some twenty statements, under the lock every writer
    /// takes; a batch now waits for a few answers in all.
    static func activateSeats(_ db: any SQLSession, _ batch: [SeatActivation]) throws -> [ActivationResult] {
        let writer = try BulkPeopleWriter(
            db,
            prefetching: batch.compactMap {
                if case .newIdentity(let new) = $0.target { new.ref } else { nil }
            })
        var results: [ActivationResult] = []
        var personIDs: [String?] = []
        for item in batch {
            let committed = try writer.apply(at: item.at) { try item.rule($0) }
            let identity: IdentityRecord? =
                switch item.target {
                case .person: nil
                case .newIdentity(let candidate): try committed.created.first ?? writer.identity(candidate.ref)
                }
            let personID: String? =
                switch item.target {
                case .person(let id): id
                case .newIdentity(let candidate): identity?.personID ?? candidate.linkTo
                }
            var result = ActivationResult(
                outcome: committed.plan.activation ?? .noSeatAvailable, person: nil, identity: identity,
                activeSeats: try writer.activeSeats(), committed: committed)
            if let claims = item.claims, result.outcome == .activated || result.outcome == .alreadyActive,
                let identityID = claims.identityID ?? identity?.id
            {
                let memberships = claims.records(for: identityID)
                try writer.apply(at: item.at) {
                    try SeatRules.replaceMemberships(
                        identityID: identityID, source: claims.source, with: memberships, actor: item.actor, facts: $0)
                }
                result.claimsRecorded = RecordedClaims(identityID: identityID, source: claims.source, memberships: memberships)
            }
            results.append(result)
            personIDs.append(personID)
        }
        try writer.flush()
        // The people as stored, once everything is written.
        let stored = try writer.storedPersons(Set(personIDs.compactMap { $0 }))
        for (i, id) in personIDs.enumerated() { results[i].person = id.flatMap { stored[$0] } }
        return results
    }
}

/// The facts the people rules read and the steps they plan, for a batch of activations in one
/// transaction: the rows of new people — persons (with their seat), identities (ids assigned
/// here, as the directory sync does), seat events, the memberships of new identities, audit
/// entries — are kept and written by `flush()` with one statement per table. Any other step is
/// written at once, after what is kept (so the order of writes is the plan's), and any fact
/// these rows could change that is not answered from them here is read after a flush: the
/// rules see exactly what one-by-one execution would have shown them.
final class BulkPeopleWriter: PeopleFacts {
    private let db: any SQLSession
    /// Identities looked up in one query for the batch's new identities (`nil`: not stored).
    private var prefetched: [String: IdentityRecord?] = [:]
    /// The seat counter as stored, and the seats granted by the rows kept since.
    private var storedSeats: Int64?
    private var keptGrants: Int64 = 0
    private var nextIdentityID: Int64?

    private var persons: [String: (row: Int, seat: Bool)] = [:]
    private var personRows: [JSONValue] = []
    private var identities: [String: IdentityRecord] = [:]
    private var identityRows: [JSONValue] = []
    private var seatEventRows: [JSONValue] = []
    /// Memberships of identities still kept here, by identity and source.
    private var memberships: [Int64: [MembershipSource: (records: Set<MembershipRecord>, stamp: String)]] = [:]
    private var auditRows: [JSONValue] = []

    init(_ db: any SQLSession, prefetching refs: [IdentityRef]) throws {
        self.db = db
        let keys = Set(refs.map(Self.key))
        guard !keys.isEmpty else { return }
        for key in keys { prefetched[key] = .some(nil) }
        let list = JSONValue.array(
            refs.map { [.string($0.provider.rawValue), .string($0.username.lowercased())] as JSONValue }
        ).canonicalText
        for row in try db.rows(
            """
            SELECT \(SQLStore.identityColumns) FROM identities
            WHERE (provider, username_key) IN (SELECT value ->> 0, value ->> 1 FROM \(db.dialect.jsonArrayElements))
            """, [list])
        {
            let identity = try SQLStore.identity(row)
            prefetched[Self.key(identity.ref)] = identity
        }
    }

    private static func key(_ ref: IdentityRef) -> String { "\(ref.provider.rawValue)\u{0}\(ref.username.lowercased())" }

    /// Decides with `rule` from these facts and carries the plan out (kept or written).
    @discardableResult
    func apply(at: Date, _ rule: (BulkPeopleWriter) throws -> PeoplePlan) throws -> CommittedPeoplePlan {
        let plan: PeoplePlan
        do { plan = try rule(self) } catch let error as PeopleRuleError {
            throw StoreError(error.code == .noSeatAvailable ? .conflict : .notFound, error.message)
        }
        let stamp = UTC.format(at, milliseconds: true)
        var created: [IdentityRecord] = []
        for step in plan.steps { try execute(step, at: at, stamp: stamp, created: &created) }
        return CommittedPeoplePlan(plan: plan, created: created, at: at)
    }

    private func execute(_ step: PeopleStep, at: Date, stamp: String, created: inout [IdentityRecord]) throws {
        switch step {
        case .createPerson(let id, let name, let email):
            persons[id] = (personRows.count, false)
            personRows.append([.string(id), .string(name), .optional(email), .string(stamp), .string("none")])
        case .createIdentity(let new):
            if nextIdentityID == nil { nextIdentityID = (try db.value(as: Int64.self, "SELECT MAX(id) FROM identities") ?? 0) + 1 }
            let id = nextIdentityID!
            nextIdentityID = id + 1
            let personID = new.linkTo ?? new.newPersonID
            let identity = IdentityRecord(id: id, ref: new.ref, externalID: new.externalID, email: new.email, personID: personID)
            identities[Self.key(new.ref)] = identity
            identityRows.append([
                .int(id), .string(new.ref.provider.rawValue), .string(new.ref.username), .string(new.ref.username.lowercased()),
                .optional(new.externalID), .optional(new.email), .string(personID), .string(stamp),
            ])
            memberships[id] = [:]
            created.append(identity)
        case .setSeat(let personID, let active, let activeAfter, let actor, let reason) where active && persons[personID]?.seat == false:
            // A person kept here is written with the seat (the counter's trigger counts it).
            let row = persons[personID]!.row
            persons[personID]!.seat = true
            if case .array(var fields) = personRows[row] {
                fields[4] = .string("active")
                personRows[row] = .array(fields)
            }
            keptGrants += 1
            seatEventRows.append([
                .string(personID), .string("activate"), .string(stamp), .string(actor), .string(reason), .int(activeAfter),
            ])
        case .replaceMemberships(let identityID, let source, let records) where memberships[identityID] != nil:
            memberships[identityID]![source] = (
                Set(records.map { MembershipRecord(identityID: identityID, kind: $0.kind, name: $0.name, source: source) }), stamp
            )
        case .audit(let draft):
            let head = try SQLStore.storedAuditHead(db)
            let e = AuditChain.seal(draft, seq: (head?.seq ?? 0) + 1, at: at, prevHash: head?.hash ?? AuditChain.genesis)
            auditRows.append([
                .int(e.seq), .string(e.at), .string(e.actor), .string(e.action), .string(e.subject), .string(e.details),
                .string(e.prevHash), .string(e.hash),
            ])
            SQLStore.writeAuditHead(db, seq: e.seq, hash: e.hash)
        default:
            // Written at once, after everything kept; what it changes is read from the database again.
            try flush()
            try SQLStore.execute(step, db, at: at, stamp: stamp, created: &created)
            storedSeats = nil
            prefetched = [:]
        }
    }

    /// Writes what is kept: persons, identities, seat events, memberships, audit entries (each
    /// refers to the ones before it).
    func flush() throws {
        if !personRows.isEmpty {
            try db.executeLater(
                """
                INSERT INTO persons (id, name, email, created_at, seat)
                SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 FROM \(db.dialect.jsonArrayElements)
                """, [JSONValue.array(personRows).canonicalText])
        }
        if !identityRows.isEmpty {
            try db.executeLater(
                """
                INSERT INTO identities (id, provider, username, username_key, external_id, email, person_id, created_at)
                SELECT CAST(value ->> 0 AS BIGINT), value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7
                FROM \(db.dialect.jsonArrayElements)
                """, [JSONValue.array(identityRows).canonicalText])
            try db.idsWereSet(table: "identities")
        }
        if !seatEventRows.isEmpty {
            try db.executeLater(
                """
                INSERT INTO seat_events (person_id, event, at, actor, reason, active_after)
                SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, CAST(value ->> 5 AS BIGINT) FROM \(db.dialect.jsonArrayElements)
                """, [JSONValue.array(seatEventRows).canonicalText])
        }
        var membershipRows: [JSONValue] = []
        for (identityID, sources) in memberships.sorted(by: { $0.key < $1.key }) {
            for (source, kept) in sources.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                for m in kept.records.sorted(by: { ($0.kind.rawValue, $0.name) < ($1.kind.rawValue, $1.name) }) {
                    membershipRows.append([
                        .int(identityID), .string(m.kind.rawValue), .string(m.name), .string(source.rawValue), .string(kept.stamp),
                    ])
                }
            }
        }
        if !membershipRows.isEmpty {
            try db.executeLater(
                """
                INSERT INTO memberships (identity_id, kind, name, source, updated_at)
                SELECT CAST(value ->> 0 AS BIGINT), value ->> 1, value ->> 2, value ->> 3, value ->> 4 FROM \(db.dialect.jsonArrayElements)
                """, [JSONValue.array(membershipRows).canonicalText])
        }
        if !auditRows.isEmpty {
            try db.executeLater(
                """
                INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash)
                SELECT CAST(value ->> 0 AS BIGINT), value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7
                FROM \(db.dialect.jsonArrayElements)
                """, [JSONValue.array(auditRows).canonicalText])
        }
        storedSeats = storedSeats.map { $0 + keptGrants }
        keptGrants = 0
        for (key, identity) in identities { prefetched[key] = identity }
        persons = [:]
        personRows = []
        identities = [:]
        identityRows = []
        seatEventRows = []
        memberships = [:]
        auditRows = []
    }

    /// Persons as stored, by id (after `flush()`), in one query.
    func storedPersons(_ ids: Set<String>) throws -> [String: PersonRecord] {
        guard !ids.isEmpty else { return [:] }
        var found: [String: PersonRecord] = [:]
        for row in try db.rows(
            "SELECT \(SQLStore.personColumns) FROM persons WHERE id IN (SELECT value ->> 0 FROM \(db.dialect.jsonArrayElements))",
            [JSONValue.array(ids.sorted().map { [.string($0)] as JSONValue }).canonicalText])
        {
            let person = try SQLStore.person(row)
            found[person.id] = person
        }
        return found
    }

    // MARK: facts

    func identity(_ ref: IdentityRef) throws -> IdentityRecord? {
        let key = Self.key(ref)
        if let kept = identities[key] { return kept }
        if let known = prefetched[key] { return known }
        return try SQLStore.fetchIdentity(db, ref)
    }

    func activeSeats() throws -> Int64 {
        if storedSeats == nil { storedSeats = try SQLStore.activeSeats(db) }
        return storedSeats! + keptGrants
    }

    func memberships(of identityID: Int64, source: MembershipSource) throws -> Set<MembershipRecord> {
        if let kept = memberships[identityID] { return kept[source]?.records ?? [] }
        return try SQLPeopleFacts(db: db).memberships(of: identityID, source: source)
    }

    func person(_ id: String) throws -> PersonRecord? {
        if persons[id] != nil { try flush() }
        return try SQLStore.fetchPerson(db, id)
    }

    func identityCount(of personID: String) throws -> Int {
        try flush()
        return try SQLPeopleFacts(db: db).identityCount(of: personID)
    }

    func seatedPeople(notSeenSince time: Date) throws -> [PersonRecord] {
        try flush()
        return try SQLPeopleFacts(db: db).seatedPeople(notSeenSince: time)
    }

    func pendingRequests(limit: Int) throws -> [SeatRequest] {
        try SQLPeopleFacts(db: db).pendingRequests(limit: limit)
    }

    func pendingRequest(of personID: String) throws -> SeatRequest? {
        try SQLPeopleFacts(db: db).pendingRequest(of: personID)
    }
}

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
            let (result, personID) = try SQLStore.activate(item, in: writer)
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
/// entries — are kept and written by `flush()`, table by table (`SQLSession.insert`). Any other step is
/// written at once, after what is kept (so the order of writes is the plan's), and any fact
/// these rows could change that is not answered from them here is read after a flush: the
/// rules see exactly what one-by-one execution would have shown them.
final class BulkPeopleWriter: PeopleTransaction {
    private let db: any SQLSession
    /// Identities looked up in one query for the batch's new identities (`nil`: not stored).
    private var prefetched: [String: IdentityRecord?] = [:]
    /// The seat counter as stored (before what is kept).
    private var storedSeats: Int64?
    private var nextIdentityID: Int64?
    private var kept = Kept()
    private var audit: SQLStore.AuditBatch?

    /// The rows not yet written.
    private struct Kept {
        var persons: [(id: String, name: String, email: String?, stamp: String, seated: Bool)] = []
        var personRows: [String: Int] = [:]
        var identities: [String: IdentityRecord] = [:]
        var identityRows = SQLRows(
            "identities", ["id", "provider", "username", "username_key", "external_id", "email", "person_id", "created_at"])
        var seatEvents = SQLRows("seat_events", ["person_id", "event", "at", "actor", "reason", "active_after"])
        /// Memberships of the identities kept, by identity and source.
        var memberships: [Int64: [MembershipSource: (records: Set<MembershipRecord>, stamp: String)]] = [:]
        /// Seats granted to the persons kept.
        var grants: Int64 { Int64(persons.count { $0.seated }) }
        /// The row of a person kept here without a seat yet.
        func unseated(_ id: String) -> Int? { personRows[id].flatMap { persons[$0].seated ? nil : $0 } }
    }

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
        let plan = try SQLStore.decide(self, rule)
        let stamp = UTC.format(at, milliseconds: true)
        var created: [IdentityRecord] = []
        for step in plan.steps { try execute(step, at: at, stamp: stamp, created: &created) }
        return CommittedPeoplePlan(plan: plan, created: created, at: at)
    }

    private func execute(_ step: PeopleStep, at: Date, stamp: String, created: inout [IdentityRecord]) throws {
        switch step {
        case .createPerson(let id, let name, let email):
            kept.personRows[id] = kept.persons.count
            kept.persons.append((id, name, email, stamp, false))
        case .createIdentity(let new):
            if nextIdentityID == nil { nextIdentityID = (try db.value(as: Int64.self, "SELECT MAX(id) FROM identities") ?? 0) + 1 }
            let id = nextIdentityID!
            nextIdentityID = id + 1
            let personID = new.linkTo ?? new.newPersonID
            let identity = IdentityRecord(id: id, ref: new.ref, externalID: new.externalID, email: new.email, personID: personID)
            kept.identities[Self.key(new.ref)] = identity
            kept.identityRows.append([
                .int(id), .text(new.ref.provider.rawValue), .text(new.ref.username), .text(new.ref.username.lowercased()),
                .optional(new.externalID), .optional(new.email), .text(personID), .text(stamp),
            ])
            kept.memberships[id] = [:]
            created.append(identity)
        case .setSeat(let personID, true, let activeAfter, let actor, let reason) where kept.unseated(personID) != nil:
            // A person kept here is written with the seat (the counter's trigger counts it).
            kept.persons[kept.unseated(personID)!].seated = true
            kept.seatEvents.append([
                .text(personID), .text("activate"), .text(stamp), .text(actor), .text(reason), .int(activeAfter),
            ])
        case .replaceMemberships(let identityID, let source, let records) where kept.memberships[identityID] != nil:
            kept.memberships[identityID]![source] = (
                Set(records.map { MembershipRecord(identityID: identityID, kind: $0.kind, name: $0.name, source: source) }), stamp
            )
        case .audit(let draft):
            if audit == nil { audit = try SQLStore.AuditBatch(db) }
            audit!.append(draft, at: at)
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
        audit?.sealAhead()
        var persons = SQLRows("persons", ["id", "name", "email", "created_at", "seat"])
        for p in kept.persons {
            persons.append([.text(p.id), .text(p.name), .optional(p.email), .text(p.stamp), .text(p.seated ? "active" : "none")])
        }
        try db.insert(persons)
        try db.insert(kept.identityRows)
        if !kept.identityRows.isEmpty { try db.idsWereSet(table: "identities") }
        try db.insert(kept.seatEvents)
        var memberships = SQLRows("memberships", ["identity_id", "kind", "name", "source", "updated_at"])
        for (identityID, sources) in kept.memberships.sorted(by: { $0.key < $1.key }) {
            for (source, held) in sources.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                for m in held.records.sorted(by: { ($0.kind.rawValue, $0.name) < ($1.kind.rawValue, $1.name) }) {
                    memberships.append([.int(identityID), .text(m.kind.rawValue), .text(m.name), .text(source.rawValue), .text(held.stamp)])
                }
            }
        }
        try db.insert(memberships)
        try audit?.finish()
        audit = nil
        storedSeats = storedSeats.map { $0 + kept.grants }
        for (key, identity) in kept.identities { prefetched[key] = identity }
        kept = Kept()
    }

    /// Persons as stored, by id (after `flush()`), in one query.
    func storedPersons(_ ids: Set<String>) throws -> [String: PersonRecord] {
        guard !ids.isEmpty else { return [:] }
        var found: [String: PersonRecord] = [:]
        for row in try db.rows(
            "SELECT \(SQLStore.personColumns) FROM persons WHERE id IN (SELECT value ->> 0 FROM \(db.dialect.jsonArrayElements))",
            [SQLStore.idList(ids.sorted())])
        {
            let person = try SQLStore.person(row)
            found[person.id] = person
        }
        return found
    }

    // MARK: facts

    func identity(_ ref: IdentityRef) throws -> IdentityRecord? {
        let key = Self.key(ref)
        if let identity = kept.identities[key] { return identity }
        if let known = prefetched[key] { return known }
        return try SQLStore.fetchIdentity(db, ref)
    }

    func activeSeats() throws -> Int64 {
        if storedSeats == nil { storedSeats = try SQLStore.activeSeats(db) }
        return storedSeats! + kept.grants
    }

    func memberships(of identityID: Int64, source: MembershipSource) throws -> Set<MembershipRecord> {
        if let held = kept.memberships[identityID] { return held[source]?.records ?? [] }
        return try SQLPeopleFacts(db: db).memberships(of: identityID, source: source)
    }

    func person(_ id: String) throws -> PersonRecord? {
        if kept.personRows[id] != nil { try flush() }
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

import Foundation
import GatehouseDomain

/// A write transaction as the people rules see it: facts to decide from, and the place their
/// plan is carried out — statement by statement (`SQLPeopleFacts`), or rows kept and written
/// together for a batch (`BulkPeopleWriter`).
protocol PeopleTransaction: PeopleFacts {
    /// Decides with `rule` from these facts and carries out the plan it returns.
    func apply(at: Date, _ rule: (Self) throws -> PeoplePlan) throws -> CommittedPeoplePlan
}

/// The facts the people rules read, from inside the write transaction.
struct SQLPeopleFacts: PeopleTransaction {
    let db: any SQLSession

    func apply(at: Date, _ rule: (SQLPeopleFacts) throws -> PeoplePlan) throws -> CommittedPeoplePlan {
        try SQLStore.apply(db, at: at, rule)
    }

    func person(_ id: String) throws -> PersonRecord? { try SQLStore.fetchPerson(db, id) }
    func identity(_ ref: IdentityRef) throws -> IdentityRecord? { try SQLStore.fetchIdentity(db, ref) }
    func identityCount(of personID: String) throws -> Int {
        try db.value(as: Int.self, "SELECT COUNT(*) FROM identities WHERE person_id = ?", [personID]) ?? 0
    }
    func activeSeats() throws -> Int64 { try SQLStore.activeSeats(db) }
    func pendingRequests(limit: Int) throws -> [SeatRequest] {
        try db.rows("SELECT * FROM seat_requests ORDER BY requested_at, person_id LIMIT ?", [limit]).map(SQLStore.seatRequest)
    }

    func pendingRequest(of personID: String) throws -> SeatRequest? {
        try db.row("SELECT * FROM seat_requests WHERE person_id = ?", [personID]).map(SQLStore.seatRequest)
    }

    func seatedPeople(notSeenSince time: Date) throws -> [PersonRecord] {
        try db.rows(
            "SELECT * FROM persons WHERE seat = 'active' AND COALESCE(last_seen_at, created_at) < ? ORDER BY COALESCE(last_seen_at, created_at), id",
            [UTC.format(time, milliseconds: true)]
        ).map(SQLStore.person)
    }

    func memberships(of identityID: Int64, source: MembershipSource) throws -> Set<MembershipRecord> {
        Set(
            try db.rows("SELECT * FROM memberships WHERE identity_id = ? AND source = ?", [identityID, source.rawValue])
                .map(SQLStore.membership))
    }
}

/// The facts the webhook rules read, from inside the write transaction.
struct SQLWebhookFacts: WebhookFacts {
    let db: any SQLSession

    func deliveryHandled(provider: String, id: String) throws -> Bool {
        try db.value(as: String.self, "SELECT delivery_id FROM webhook_deliveries WHERE provider = ? AND delivery_id = ?", [provider, id])
            != nil
    }

    func bodyApplied(provider: String, sha256: String, since: Date) throws -> (id: String, receivedAt: Date)? {
        guard
            let row = try db.row(
                """
                SELECT delivery_id, received_at FROM webhook_deliveries
                WHERE provider = ? AND body_sha256 = ? AND received_at >= ? ORDER BY received_at LIMIT 1
                """, [provider, sha256, UTC.format(since, milliseconds: true)])
        else { return nil }
        return (try row["delivery_id"], try row.time("received_at"))
    }

    func newestEvent(provider: String, membership: String) throws -> Date? {
        try db.value(
            as: String.self, "SELECT MAX(event_at) FROM webhook_deliveries WHERE provider = ? AND membership = ? AND event_at IS NOT NULL",
            [provider, membership]
        ).flatMap(UTC.parseTimestamp)
    }
}

extension SQLStore {
    static func seatRequest(_ row: SQLRow) throws -> SeatRequest {
        try SeatRequest(
            personID: row["person_id"], identity: row["identity"], kind: row.value("kind", as: SeatRequest.Kind.self),
            requestedAt: row.time("requested_at"))
    }

    public func seatRequests() async throws -> [SeatRequest] {
        try await read { db in try db.rows("SELECT * FROM seat_requests ORDER BY requested_at, person_id").map(SQLStore.seatRequest) }
    }

    /// Carries out a plan of the people rules, step by step, in the caller's transaction: no
    /// decision is made here. Returns the identities it created (their ids are the database's).
    @discardableResult
    static func execute(_ plan: PeoplePlan, _ db: any SQLSession, at: Date) throws -> [IdentityRecord] {
        let stamp = UTC.format(at, milliseconds: true)
        var created: [IdentityRecord] = []
        for step in plan.steps { try execute(step, db, at: at, stamp: stamp, created: &created) }
        return created
    }

    /// One step of a plan; an identity it creates is appended to `created`.
    static func execute(_ step: PeopleStep, _ db: any SQLSession, at: Date, stamp: String, created: inout [IdentityRecord]) throws {
        switch step {
        case .createPerson(let id, let name, let email):
            try db.executeLater("INSERT INTO persons (id, name, email, created_at) VALUES (?, ?, ?, ?)", [id, name, email, stamp])
        case .createIdentity(let new):
            let personID = new.linkTo ?? new.newPersonID
            guard
                let id = try db.value(
                    as: Int64.self,
                    "INSERT INTO identities (provider, username, username_key, external_id, email, person_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    [
                        new.ref.provider.rawValue, new.ref.username, new.ref.username.lowercased(), new.externalID, new.email, personID,
                        stamp,
                    ])
            else { throw StoreError(.corrupt, "inserting identity \(new.ref) returned no id") }
            created.append(IdentityRecord(id: id, ref: new.ref, externalID: new.externalID, email: new.email, personID: personID))
        case .moveIdentity(let id, let personID):
            try db.execute("UPDATE identities SET person_id = ? WHERE id = ?", [personID, id])
        case .renameIdentity(let id, let username, let externalID):
            try db.execute(
                "UPDATE identities SET username = ?, username_key = ?, external_id = ? WHERE id = ?",
                [username, username.lowercased(), externalID, id])
        case .deleteIdentity(let id):
            try db.execute("DELETE FROM identities WHERE id = ?", [id])
        case .setSeat(let personID, let active, let activeAfter, let actor, let reason):
            try db.execute("UPDATE persons SET seat = ? WHERE id = ?", [active ? "active" : "none", personID])
            try insertSeatEvent(
                db, personID, active ? "activate" : "deactivate", activeAfter: activeAfter, actor: actor, reason: reason, at: at)
        case .setStatus(let personID, let status):
            try db.execute("UPDATE persons SET status = ? WHERE id = ?", [status.rawValue, personID])
        case .replaceMemberships(let identityID, let source, let memberships):
            try db.executeLater("DELETE FROM memberships WHERE identity_id = ? AND source = ?", [identityID, source.rawValue])
            for m in memberships {
                try db.executeLater(
                    "INSERT INTO memberships (identity_id, kind, name, source, updated_at) VALUES (?, ?, ?, ?, ?)",
                    [identityID, m.kind.rawValue, m.name, source.rawValue, stamp])
            }
        case .fileSeatRequest(let request):
            try db.execute(
                "INSERT INTO seat_requests (person_id, identity, kind, requested_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [request.personID, request.identity, request.kind.rawValue, UTC.format(request.requestedAt, milliseconds: true)])
        case .removeSeatRequest(let personID):
            try db.execute("DELETE FROM seat_requests WHERE person_id = ?", [personID])
        case .endSessions(let personID, let actor, let reason):
            try endSessions(db, .person(personID), reason: reason, actor: actor, at: at)
        case .audit(let draft):
            try appendAudit(db, draft, at: at)
        }
    }

    /// Decides with a people rule from the facts inside this transaction, and carries it out.
    @discardableResult
    static func apply(
        _ db: any SQLSession, at: Date, _ rule: (SQLPeopleFacts) throws -> PeoplePlan
    ) throws -> CommittedPeoplePlan {
        let plan = try decide(db, rule)
        return CommittedPeoplePlan(plan: plan, created: try execute(plan, db, at: at), at: at)
    }

    /// Runs a people rule on the facts of this transaction; a refusal is a `StoreError`.
    static func decide(_ db: any SQLSession, _ rule: (SQLPeopleFacts) throws -> PeoplePlan) throws -> PeoplePlan {
        try decide(SQLPeopleFacts(db: db), rule)
    }

    /// Runs a people rule on `facts`; a refusal is a `StoreError`.
    static func decide<Facts: PeopleFacts>(_ facts: Facts, _ rule: (Facts) throws -> PeoplePlan) throws -> PeoplePlan {
        do {
            return try rule(facts)
        } catch let error as PeopleRuleError {
            throw StoreError(error.code == .noSeatAvailable ? .conflict : .notFound, error.message)
        }
    }
}

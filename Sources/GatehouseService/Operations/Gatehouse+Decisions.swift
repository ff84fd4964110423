import Foundation
import GatehouseDomain
import GatehouseStorage

extension Gatehouse {
    /// May this person log in? Answered from memory; the database is written only when state
    /// changes (a first login, a seat activated, a rename, new membership claims).
    public func authorizeLogin(_ request: LoginRequest, actor: String) async throws -> DecisionResult {
        try await ensureLoaded()
        let t = now()
        let snapshot = live.current
        let policy = snapshot.policy
        let licenseState = liveLicenseState(snapshot, at: t)
        let identity = try await resolveIdentity(request.identity, externalID: request.externalID, snapshot: snapshot, actor: actor, at: t)
        let linkTo = identity == nil ? linkCandidate(request.identity, email: request.email, snapshot: snapshot) : nil
        let personID = identity?.personID ?? linkTo
        let facts = personID.flatMap { live.current.index.facts($0) }
        // Request claims, plus memberships learned from webhooks and the directory. Claims
        // stored from earlier requests are not trusted for decisions: they may be stale.
        let stored = identity.map { snapshot.index.memberships(of: $0.id).filter { $0.source != .request } } ?? []
        let orgs = request.orgs.union(stored.filter { $0.kind != .team }.map(\.name))
        let teams = request.teams.union(stored.filter { $0.kind == .team }.map(\.name))
        let verdict = LoginDecider.decide(
            LoginFacts(identity: request.identity, person: facts, orgs: orgs, teams: teams, licenseState: licenseState), policy: policy)
        let role: Role = policy.login.admins.contains(request.identity) ? .admin : (facts?.role ?? .user)

        switch verdict {
        case .deny(let reason):
            return deny(kind: "login", reason, facts: facts, role: role, at: t)
        case .allow(let reason):
            var person = facts
            var identityID = identity?.id
            if identity == nil {
                let created = try await createOrFind(newIdentity(request.identity, request.externalID, request.email, linkTo), actor: actor, at: t)
                person = live.current.index.facts(created.personID)
                identityID = created.id
            }
            if let identityID { try await recordClaims(request, identityID: identityID, snapshot: snapshot, actor: actor, at: t) }
            if let person { live.noteSeen(person.id, at: t) }
            return DecisionResult(allow: true, reason: reason, personID: person?.id, seat: person?.seat ?? .none, role: role)
        case .activateSeat(let elseDeny):
            let target: SeatTarget = identity.map { .person($0.personID) } ?? .newIdentity(newIdentity(request.identity, request.externalID, request.email, linkTo))
            let result = try await activate(target, snapshot: snapshot, actor: actor, reason: "login", at: t)
            guard let person = result.person, result.outcome == .activated || result.outcome == .alreadyActive else {
                return deny(kind: "login", refusal(result.outcome, elseDeny), facts: facts, role: role, at: t)
            }
            if let identityID = identity?.id ?? result.identity?.id {
                try await recordClaims(request, identityID: identityID, snapshot: snapshot, actor: actor, at: t)
            }
            live.noteSeen(person.id, at: t)
            return DecisionResult(allow: true, reason: .ok, personID: person.id, seat: .active, role: role)
        }
    }

    /// May this upload count? Public repositories need no seat; private ones need the PR
    /// author's seat (auto-activated as for logins).
    public func authorizeUpload(_ request: UploadRequest, actor: String) async throws -> DecisionResult {
        try await ensureLoaded()
        let t = now()
        let snapshot = live.current
        let identity = try await resolveIdentity(request.author, externalID: request.authorExternalID, snapshot: snapshot, actor: actor, at: t)
        let linkTo = identity == nil ? linkCandidate(request.author, email: nil, snapshot: snapshot) : nil
        let facts = (identity?.personID ?? linkTo).flatMap { live.current.index.facts($0) }
        let verdict = UploadDecider.decide(
            isPrivate: request.isPrivate, author: request.author, person: facts, licenseState: liveLicenseState(snapshot, at: t), policy: snapshot.policy)
        let role = facts?.role ?? .user
        switch verdict {
        case .deny(let reason):
            return deny(kind: "upload", reason, facts: facts, role: role, at: t)
        case .allow(let reason):
            return DecisionResult(allow: true, reason: reason, personID: facts?.id, seat: facts?.seat ?? .none, role: role)
        case .activateSeat(let elseDeny):
            let target: SeatTarget = identity.map { .person($0.personID) } ?? .newIdentity(newIdentity(request.author, request.authorExternalID, nil, linkTo))
            let result = try await activate(target, snapshot: snapshot, actor: actor, reason: "pull request author", at: t)
            guard let person = result.person, result.outcome == .activated || result.outcome == .alreadyActive else {
                return deny(kind: "upload", refusal(result.outcome, elseDeny), facts: facts, role: role, at: t)
            }
            return DecisionResult(allow: true, reason: .ok, personID: person.id, seat: .active, role: role)
        }
    }

    // MARK: steps

    /// Finds the identity: by the provider's stable id first (a rename keeps the identity and
    /// its seat), then by username. A username now held by a different account (another
    /// stable id) is not the same identity: the old one is renamed aside.
    func resolveIdentity(_ ref: IdentityRef, externalID: String?, snapshot: LiveSnapshot, actor: String, at t: Date) async throws -> IdentityRecord? {
        let index = snapshot.index
        if let externalID, let found = index.identity(provider: ref.provider, externalID: externalID) {
            // Usernames compare case-insensitively: only a real rename is written.
            guard found.ref.key != ref.key else { return found }
            if let squatter = index.identity(ref), squatter.id != found.id {
                try await moveAside(squatter, actor: actor, at: t)
            }
            try await store.updateIdentity(id: found.id, username: ref.username, externalID: externalID, actor: actor, at: t)
            let renamed = IdentityRecord(id: found.id, ref: ref, externalID: externalID, email: found.email, personID: found.personID)
            live.update { $0.index.upsert(renamed) }
            return renamed
        }
        guard let found = index.identity(ref) else { return nil }
        switch (found.externalID, externalID) {
        case (let stored?, let given?) where stored != given:
            try await moveAside(found, actor: actor, at: t)
            return nil
        case (nil, let given?):
            try await store.updateIdentity(id: found.id, username: found.ref.username, externalID: given, actor: actor, at: t)
            let updated = IdentityRecord(id: found.id, ref: found.ref, externalID: given, email: found.email, personID: found.personID)
            live.update { $0.index.upsert(updated) }
            return updated
        default:
            return found
        }
    }

    /// Frees a username whose account has gone (its stable id differs from the newcomer's).
    func moveAside(_ identity: IdentityRecord, actor: String, at t: Date) async throws {
        let aside = identity.ref.username + "~" + (identity.externalID ?? "old")
        try await store.updateIdentity(id: identity.id, username: aside, externalID: identity.externalID, actor: actor, at: t)
        let moved = IdentityRecord(
            id: identity.id, ref: IdentityRef(provider: identity.ref.provider, username: aside), externalID: identity.externalID,
            email: identity.email, personID: identity.personID)
        live.update { $0.index.upsert(moved) }
    }

    /// The person a new identity belongs to under `policies/identity.yml`: same email, or the
    /// directory person named by the provider's username template.
    func linkCandidate(_ ref: IdentityRef, email: String?, snapshot: LiveSnapshot) -> String? {
        let policy = snapshot.policy.identity
        if policy.linkBy.contains(.email), let email, let personID = snapshot.index.personID(email: email) { return personID }
        if let uid = policy.directoryUID(for: ref), let directory = snapshot.index.identity(IdentityRef(provider: .ldap, username: uid)) {
            return directory.personID
        }
        return nil
    }

    func newIdentity(_ ref: IdentityRef, _ externalID: String?, _ email: String?, _ linkTo: String?) -> NewIdentity {
        var rng = SystemRandomNumberGenerator()
        return NewIdentity(ref: ref, externalID: externalID, email: email, linkTo: linkTo, newPersonID: PersonID.make(at: now(), using: &rng))
    }

    /// Activates a seat atomically in the database: the only place the seat limit is decided.
    /// When a concurrent request created the same new identity first, the seat is sought for
    /// the person that request created.
    func activate(_ target: SeatTarget, snapshot: LiveSnapshot, actor: String, reason: String, at t: Date) async throws -> ActivationResult {
        let limit = snapshot.policy.seats.limit(licensed: snapshot.license?.seats ?? 0)
        do {
            let result = try await store.activateSeat(target, limit: limit, actor: actor, reason: reason, at: t)
            remember(result)
            return result
        } catch let error as StoreError where error.code == .conflict {
            guard case .newIdentity(let new) = target, let existing = try await store.identity(new.ref) else { throw error }
            live.update { $0.index.upsert(existing) }
            let result = try await store.activateSeat(.person(existing.personID), limit: limit, actor: actor, reason: reason, at: t)
            remember(result)
            return result
        }
    }

    /// Creates a new identity (and person, unless linked), or finds the one a concurrent
    /// request just created.
    func createOrFind(_ new: NewIdentity, actor: String, at t: Date) async throws -> IdentityRecord {
        do {
            let (person, identity) = try await store.createIdentity(new, actor: actor, at: t)
            live.update { $0.index.upsert(person); $0.index.upsert(identity) }
            return identity
        } catch let error as StoreError where error.code == .conflict {
            guard let existing = try await store.identity(new.ref), let person = try await store.person(id: existing.personID) else { throw error }
            live.update { $0.index.upsert(person); $0.index.upsert(existing) }
            return existing
        }
    }

    func refusal(_ outcome: ActivationOutcome, _ elseDeny: DecisionReason) -> DecisionReason {
        switch outcome {
        case .ineligible(.blocked): .userBlocked
        case .ineligible(.leftDirectory): .notInDirectory
        default: elseDeny
        }
    }

    func deny(kind: String, _ reason: DecisionReason, facts: PersonFacts?, role: Role, at t: Date) -> DecisionResult {
        live.countDenial(kind: kind, reason: reason, at: t)
        return DecisionResult(allow: false, reason: reason, personID: facts?.id, seat: facts?.seat ?? .none, role: role)
    }

    /// Keeps the latest org/team claims of an identity for the record (written only when they change).
    func recordClaims(_ request: LoginRequest, identityID: Int64, snapshot: LiveSnapshot, actor: String, at t: Date) async throws {
        guard !request.orgs.isEmpty || !request.teams.isEmpty else { return }
        let claims = Set(
            request.orgs.map { MembershipRecord(identityID: identityID, kind: .org, name: $0, source: .request) }
                + request.teams.map { MembershipRecord(identityID: identityID, kind: .team, name: $0, source: .request) })
        guard snapshot.index.memberships(of: identityID).filter({ $0.source == .request }) != claims else { return }
        try await store.replaceMemberships(identityID: identityID, source: .request, with: claims, actor: actor, at: t)
        live.update { $0.index.setMemberships(identityID, source: .request, claims) }
    }
}

import Foundation
import GatehouseDomain
import GatehouseStorage

extension Gatehouse {
    /// May this person log in? Answered from memory in one read; the database is written only
    /// when state changes (a first login, a seat activated, a rename, new membership claims).
    public func authorizeLogin(_ request: LoginRequest, actor: String) async throws -> DecisionResult {
        let t = now()
        let inputs = try await gather(actor: actor, at: t) { loginInputs(request, at: t) }
        if let answer = loginAnswerFromMemory(request, inputs, at: t) { return answer }
        switch inputs.verdict {
        case .deny(let reason):
            // What a sign-in just read from the provider is kept for a known identity even when
            // it refuses: it is the newest verified truth, and it outranks later claims.
            if request.verified, inputs.claimsChanged, let identityID = inputs.identity?.id {
                try await recordClaims(request, identityID: identityID, actor: actor, at: t)
            }
            return deny(kind: "login", reason, inputs, subject: request.identity, at: t)
        case .allow(let reason):
            var personID = inputs.facts?.id
            var identityID = inputs.identity?.id
            if inputs.identity == nil {
                let created = try await createOrFind(
                    newIdentity(request.identity, request.externalID, request.email, inputs.linkTo), actor: actor, at: t)
                personID = created.personID
                identityID = created.id
            }
            if inputs.claimsChanged, let identityID { try await recordClaims(request, identityID: identityID, actor: actor, at: t) }
            if let personID, inputs.noteSeen || inputs.identity == nil { live.noteSeen(personID, at: t) }
            let seat =
                inputs.identity != nil
                ? inputs.facts?.seat ?? .none : personID.flatMap { id in live.read { $0.index.person(id)?.seat } } ?? .none
            return DecisionResult(allow: true, reason: reason, personID: personID, seat: seat, role: inputs.role)
        case .activateSeat(let elseDeny):
            let target: SeatTarget =
                inputs.identity.map { .person($0.personID) }
                ?? .newIdentity(newIdentity(request.identity, request.externalID, request.email, inputs.linkTo))
            // The request's org and team claims are recorded with the seat, in its transaction.
            let claims = inputs.claimsChanged ? request.claims(identityID: inputs.identity?.id) : nil
            let result = try await activate(target, claims: claims, actor: actor, reason: "login", at: t, requestKind: .login)
            return loginAnswer(result, inputs, elseDeny: elseDeny, subject: request.identity, at: t)
        }
    }

    /// A login decision that needs no write, answered from memory alone without suspending
    /// (the API port answers these on its event loop: `DecisionFastPath`); `nil` when the
    /// decision must write first (a first login, a seat to activate, an identity to update,
    /// claims to record) or memory is not loaded yet — then `authorizeLogin` answers it.
    public func authorizeLoginFromMemory(_ request: LoginRequest) -> DecisionResult? {
        guard live.isLoaded else { return nil }
        let t = now()
        let inputs = loginInputs(request, at: t)
        guard inputs.update == nil else { return nil }
        return loginAnswerFromMemory(request, inputs, at: t)
    }

    /// The answer when the gathered inputs need no write (the bookkeeping — a denial counted,
    /// a login's last-seen time noted — is memory's); `nil` otherwise.
    func loginAnswerFromMemory(_ request: LoginRequest, _ inputs: DecisionInputs, at t: Date) -> DecisionResult? {
        switch inputs.verdict {
        case .deny(let reason):
            if request.verified, inputs.claimsChanged, inputs.identity != nil { return nil }
            return deny(kind: "login", reason, inputs, subject: request.identity, at: t)
        case .allow(let reason):
            guard inputs.identity != nil, !inputs.claimsChanged else { return nil }
            let personID = inputs.facts?.id
            if let personID, inputs.noteSeen { live.noteSeen(personID, at: t) }
            return DecisionResult(allow: true, reason: reason, personID: personID, seat: inputs.facts?.seat ?? .none, role: inputs.role)
        case .activateSeat:
            return nil
        }
    }

    /// A login's answer once its seat was sought: allowed when granted or already held,
    /// otherwise refused with the reason the outcome gives.
    func loginAnswer(_ result: ActivationResult, _ inputs: DecisionInputs, elseDeny: DecisionReason, subject: IdentityRef, at t: Date)
        -> DecisionResult
    {
        guard let person = result.person, result.outcome == .activated || result.outcome == .alreadyActive else {
            return deny(kind: "login", refusal(result.outcome, elseDeny), inputs, subject: subject, at: t)
        }
        if inputs.noteSeen { live.noteSeen(person.id, at: t) }
        return DecisionResult(allow: true, reason: .ok, personID: person.id, seat: .active, role: inputs.role)
    }

    /// May this upload count? Public repositories need no seat; private ones need the PR
    /// author's seat (auto-activated as for logins).
    public func authorizeUpload(_ request: UploadRequest, actor: String) async throws -> DecisionResult {
        let t = now()
        let inputs = try await gather(actor: actor, at: t) { uploadInputs(request, at: t) }
        guard case .activateSeat(let elseDeny) = inputs.verdict else { return settledUpload(request, inputs, at: t) }
        let target: SeatTarget =
            inputs.identity.map { .person($0.personID) }
            ?? .newIdentity(newIdentity(request.author, request.authorExternalID, nil, inputs.linkTo))
        let result = try await activate(target, claims: nil, actor: actor, reason: "pull request author", at: t, requestKind: .upload)
        guard let person = result.person, result.outcome == .activated || result.outcome == .alreadyActive else {
            return deny(kind: "upload", refusal(result.outcome, elseDeny), inputs, subject: request.author, at: t)
        }
        return DecisionResult(allow: true, reason: .ok, personID: person.id, seat: .active, role: inputs.role)
    }

    /// As `authorizeLoginFromMemory`, for an upload: `nil` when a seat must be activated.
    public func authorizeUploadFromMemory(_ request: UploadRequest) -> DecisionResult? {
        guard live.isLoaded else { return nil }
        let t = now()
        let inputs = uploadInputs(request, at: t)
        if inputs.update != nil { return nil }
        if case .activateSeat = inputs.verdict { return nil }
        return settledUpload(request, inputs, at: t)
    }

    /// An upload allowed or refused outright (one whose seat is to be sought never comes here;
    /// were it to, it is refused with the reason a failed activation would give).
    func settledUpload(_ request: UploadRequest, _ inputs: DecisionInputs, at t: Date) -> DecisionResult {
        switch inputs.verdict {
        case .deny(let reason), .activateSeat(let reason):
            return deny(kind: "upload", reason, inputs, subject: request.author, at: t)
        case .allow(let reason):
            return DecisionResult(
                allow: true, reason: reason, personID: inputs.facts?.id, seat: inputs.facts?.seat ?? .none, role: inputs.role)
        }
    }

    // MARK: gathering (one read of memory per decision)

    /// Reads what a decision needs; when an identity must change first (a rename, a stable id
    /// seen for the first time, a recycled username), writes that and reads again.
    func gather(actor: String, at t: Date, _ read: () -> DecisionInputs) async throws -> DecisionInputs {
        try await ensureLoaded()
        let inputs = read()
        guard let update = inputs.update else { return inputs }
        try await apply(update, actor: actor, at: t)
        return read()
    }

    func loginInputs(_ request: LoginRequest, at t: Date) -> DecisionInputs {
        // Through the pointer: the closures below that use a borrowed snapshot copied it whole.
        live.peek { s in
            // One copy of the index (a dozen references retained): calling its methods through
            // the pointer copied it for every call.
            let index = s.pointee.index
            let (identity, update) = index.lookup(request.identity, externalID: request.externalID)
            let linkTo =
                identity == nil && update == nil
                ? index.linkCandidate(request.identity, email: request.email, policy: s.pointee.policy.identity) : nil
            var facts = (identity?.personID ?? linkTo).flatMap { index.facts($0) }
            let (orgs, teams) =
                request.verified
                ? index.verifiedMemberships(of: identity?.id, orgs: request.orgs.union(request.groups), teams: request.teams)
                : index.hasVerifiedMemberships(identity?.id)
                    // Memberships the gate's sign-in read from the provider outrank a caller's claims.
                    ? index.effectiveMemberships(of: identity?.id, includeStoredClaims: false)
                    : index.effectiveMemberships(
                        of: identity?.id, orgs: request.orgs, teams: request.teams, includeStoredClaims: false)
            // A directory person signing in through an OIDC provider of the `ldap` namespace:
            // the groups just read count as their directory groups.
            if request.verified, request.identity.provider == .ldap { facts?.directoryGroups.formUnion(request.groups) }
            // Stored claims are kept for the record: rewritten only when the request's differ.
            var storedClaims = 0
            var claimsMatch = true
            for m in identity.map({ index.heldMemberships(of: $0.id) }) ?? [] where m.source == request.claimsSource {
                storedClaims += 1
                let claimed = m.kind == .team ? request.teams : m.kind == .group ? request.groups : request.orgs
                claimsMatch = claimsMatch && claimed.contains(m.name)
            }
            let state = LicenseEvaluator.evaluate(s.pointee.verification, now: t, latestSeen: s.pointee.latestSeen).state
            let verdict = LoginDecider.decide(
                LoginFacts(identity: request.identity, person: facts, orgs: orgs, teams: teams, licenseState: state),
                policy: s.pointee.policy)
            // A sign-in's fresh read replaces what earlier sign-ins stored, even when now empty.
            let claimsChanged =
                (request.verified || !request.orgs.isEmpty || !request.teams.isEmpty)
                && (!claimsMatch || storedClaims != request.orgs.count + request.teams.count + request.groups.count)
            let role: Role = s.pointee.policy.login.admins.contains(request.identity) ? .admin : (facts?.role ?? .user)
            let lastSeen = facts.flatMap { index.person($0.id)?.lastSeenAt }
            return DecisionInputs(
                identity: identity, update: update, linkTo: linkTo, facts: facts, verdict: verdict, role: role,
                claimsChanged: claimsChanged,
                noteSeen: lastSeen.map { t.timeIntervalSince($0) >= lastSeenResolution } ?? true)
        }
    }

    func uploadInputs(_ request: UploadRequest, at t: Date) -> DecisionInputs {
        // Through the pointer: the closures below that use a borrowed snapshot copied it whole.
        live.peek { s in
            // One copy of the index (a dozen references retained): calling its methods through
            // the pointer copied it for every call.
            let index = s.pointee.index
            let (identity, update) = index.lookup(request.author, externalID: request.authorExternalID)
            let linkTo =
                identity == nil && update == nil
                ? index.linkCandidate(request.author, email: nil, policy: s.pointee.policy.identity) : nil
            let facts = (identity?.personID ?? linkTo).flatMap { index.facts($0) }
            let state = LicenseEvaluator.evaluate(s.pointee.verification, now: t, latestSeen: s.pointee.latestSeen).state
            let verdict = UploadDecider.decide(
                isPrivate: request.isPrivate, author: request.author, person: facts, licenseState: state, policy: s.pointee.policy)
            return DecisionInputs(
                identity: identity, update: update, linkTo: linkTo, facts: facts, verdict: verdict, role: facts?.role ?? .user,
                claimsChanged: false)
        }
    }

    // MARK: writes

    /// Writes an identity update found while gathering, and applies it to memory.
    func apply(_ update: IdentityUpdate, actor: String, at t: Date) async throws {
        switch update {
        case .rename(let found, let ref, let externalID, let squatter):
            // The username's former holder moved aside and the account renamed into it: one transaction.
            let renames = (squatter.map { [Self.aside($0)] } ?? []) + [(found.ref, ref.username, externalID)]
            commit(try await store.changePeople(at: t) { try SeatRules.rename(renames, actor: actor, facts: $0) })
        case .setExternalID(let found, let externalID):
            commit(
                try await store.changePeople(at: t) {
                    try SeatRules.rename([(found.ref, found.ref.username, externalID)], actor: actor, facts: $0)
                })
        case .moveAside(let found):
            commit(try await store.changePeople(at: t) { try SeatRules.rename([Self.aside(found)], actor: actor, facts: $0) })
        }
    }

    /// Frees a username whose account has gone (its stable id differs from the newcomer's).
    static func aside(_ identity: IdentityRecord) -> (identity: IdentityRef, username: String, externalID: String?) {
        (identity.ref, IdentityRef.movedAsideUsername(identity.ref.username, externalID: identity.externalID), identity.externalID)
    }

    func newIdentity(_ ref: IdentityRef, _ externalID: String?, _ email: String?, _ linkTo: String?) -> NewIdentity {
        var rng = SystemRandomNumberGenerator()
        return NewIdentity(
            ref: ref, externalID: externalID, email: email, linkTo: linkTo, newPersonID: PersonID.make(at: now(), using: &rng))
    }

    /// Activates a seat atomically in the database: the only place the seat limit is decided.
    /// When a concurrent request created the same new identity first, the seat is sought for
    /// the person that request created. Concurrent activations are written together
    /// (`ActivationQueue`): one transaction for all that arrived while the last one ran.
    /// With a `requestKind` (a login's or an upload's), a full house files a seat request when
    /// `seats.when_full` is `request`; an administrator's activation never does.
    func activate(
        _ target: SeatTarget, claims: MembershipClaims?, actor: String, reason: String, at t: Date, requestKind: SeatRequest.Kind? = nil
    ) async throws
        -> ActivationResult
    {
        let activation = { @Sendable [self] (target: SeatTarget, claims: MembershipClaims?) in
            seatActivation(target, claims: claims, actor: actor, reason: reason, at: t, requestKind: requestKind)
        }
        let store = self.store
        // Alone (a batch's refusal, or nobody else waiting): a concurrent request, or another
        // replica, may have created the identity meanwhile; then the seat is sought for its person.
        let alone = { @Sendable [live] () async throws -> ActivationResult in
            func write(_ a: SeatActivation) async throws -> ActivationResult {
                try await store.activateSeat(a.target, claims: a.claims, actor: a.actor, at: a.at, rule: a.rule)
            }
            do {
                return try await write(activation(target, claims))
            } catch let error as StoreError where error.code == .conflict {
                guard case .newIdentity(let new) = target, let existing = try await store.identity(new.ref) else { throw error }
                live.apply { $0.index.upsert(existing) }
                var claims = claims
                claims?.identityID = existing.id
                return try await write(activation(.person(existing.personID), claims))
            }
        }
        let result = try await activations.submit(ActivationQueue.Job(activation: activation(target, claims), alone: alone))
        remember(result)
        return result
    }

    /// A seat sought for `target` under the seat policy and license in force now: the domain's
    /// `SeatRules.activate`, to be decided inside the write transaction.
    func seatActivation(
        _ target: SeatTarget, claims: MembershipClaims?, actor: String, reason: String, at t: Date, requestKind: SeatRequest.Kind?
    ) -> SeatActivation {
        let (limit, policyWhenFull) = live.read { ($0.policy.seats.limit(licensed: $0.license?.seats ?? 0), $0.policy.seats.whenFull) }
        let whenFull: SeatPolicy.WhenFull = requestKind == nil ? .deny : policyWhenFull
        return SeatActivation(target, claims: claims, actor: actor, at: t) {
            try SeatRules.activate(
                target, limit: limit, whenFull: whenFull, requestKind: requestKind ?? .admin, actor: actor, reason: reason, at: t, facts: $0)
        }
    }

    /// Creates a new identity (and person, unless linked), or finds the one a concurrent
    /// request just created.
    func createOrFind(_ new: NewIdentity, actor: String, at t: Date) async throws -> IdentityRecord {
        do {
            let committed = try await store.changePeople(at: t) { try SeatRules.createIdentity(new, actor: actor, facts: $0) }
            commit(committed)
            guard let identity = committed.created.first else { throw StoreError(.corrupt, "creating identity \(new.ref) created none") }
            return identity
        } catch let error as StoreError where error.code == .conflict {
            guard let existing = try await store.identity(new.ref), let person = try await store.person(id: existing.personID) else {
                throw error
            }
            live.apply { snapshot in
                snapshot.index.upsert(person)
                snapshot.index.upsert(existing)
            }
            return existing
        }
    }

    func refusal(_ outcome: ActivationOutcome, _ elseDeny: DecisionReason) -> DecisionReason {
        switch outcome {
        case .requested: .seatRequested
        case .ineligible(.blocked): .userBlocked
        case .ineligible(.leftDirectory): .notInDirectory
        default: elseDeny
        }
    }

    func deny(kind: String, _ reason: DecisionReason, _ inputs: DecisionInputs, subject: IdentityRef, at t: Date) -> DecisionResult {
        live.countDenial(kind: kind, reason: reason, subject: subject.description, at: t)
        return DecisionResult(
            allow: false, reason: reason, personID: inputs.facts?.id, seat: inputs.facts?.seat ?? .none, role: inputs.role)
    }

    /// Keeps the latest org/team claims of an identity for the record. Asked only when they
    /// differ from memory's (`claimsChanged`); the store compares again in its transaction.
    func recordClaims(_ request: LoginRequest, identityID: Int64, actor: String, at t: Date) async throws {
        let claims = request.claims(identityID: identityID).records(for: identityID)
        let source = request.claimsSource
        let committed = try await store.changePeople(at: t) {
            try SeatRules.replaceMemberships(identityID: identityID, source: source, with: claims, actor: actor, facts: $0)
        }
        commit(committed)
        // Already stored so (memory had them otherwise): memory learns what is stored.
        if !committed.changed { live.apply { $0.index.setMemberships(identityID, source: source, claims) } }
    }
}

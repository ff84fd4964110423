import Foundation

/// What the people rules read, inside the write transaction that will carry out their plan:
/// the facts are those of the moment of the change, not of a snapshot taken earlier.
public protocol PeopleFacts {
    func person(_ id: String) throws -> PersonRecord?
    func identity(_ ref: IdentityRef) throws -> IdentityRecord?
    /// How many identities the person has.
    func identityCount(of personID: String) throws -> Int
    /// People holding a seat now.
    func activeSeats() throws -> Int64
    /// An identity's memberships from one source.
    func memberships(of identityID: Int64, source: MembershipSource) throws -> Set<MembershipRecord>
    /// People holding a seat who have not been seen since `time` (never seen counts from
    /// when the person was created), oldest first.
    func seatedPeople(notSeenSince time: Date) throws -> [PersonRecord]
    /// Pending seat requests, oldest first (at most `limit`).
    func pendingRequests(limit: Int) throws -> [SeatRequest]
    func pendingRequest(of personID: String) throws -> SeatRequest?
}

/// A seat asked for while every seat was taken (`seats.when_full: request`).
public struct SeatRequest: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable { case login, upload, admin }
    public var personID: String
    /// Who asked (`provider:username`).
    public var identity: String
    public var kind: Kind
    public var requestedAt: Date

    public init(personID: String, identity: String, kind: Kind, requestedAt: Date) {
        self.personID = personID
        self.identity = identity
        self.kind = kind
        self.requestedAt = requestedAt
    }
}

/// Freed seats go to pending requests up to `limit` seats in use.
public struct SeatGrant: Sendable, Equatable {
    public var limit: Int64
    public init(limit: Int64) { self.limit = limit }
}

/// One step of a change to people. Storage carries the steps out in order, as they are, in
/// one transaction — audit entries included, so the chain records exactly what the rules
/// decided.
public enum PeopleStep: Sendable, Equatable {
    /// A new person, without a seat.
    case createPerson(id: String, name: String, email: String?)
    /// A new identity of `identity.linkTo ?? identity.newPersonID`.
    case createIdentity(NewIdentity)
    case moveIdentity(id: Int64, to: String)
    /// A new username (a rename seen through the stable id, or a recycled one moved aside), or
    /// the stable id once known.
    case renameIdentity(id: Int64, username: String, externalID: String?)
    case deleteIdentity(id: Int64)
    /// A seat taken or given back, with the count of seats in use after it (the seat history).
    case setSeat(personID: String, active: Bool, activeAfter: Int64, actor: String, reason: String)
    case setStatus(personID: String, PersonStatus)
    /// An identity's memberships from one source, replaced.
    case replaceMemberships(identityID: Int64, source: MembershipSource, Set<MembershipRecord>)
    case fileSeatRequest(SeatRequest)
    case removeSeatRequest(personID: String)
    /// Every gate session of the person ends (audited per session).
    case endSessions(personID: String, actor: String, reason: String)
    case audit(AuditDraft)
}

/// A change to people as the rules decided it: the steps, and what the change came to.
public struct PeoplePlan: Sendable, Equatable {
    public var steps: [PeopleStep] = []
    /// For a seat activation: what came of it.
    public var activation: ActivationOutcome?

    public init(steps: [PeopleStep] = [], activation: ActivationOutcome? = nil) {
        self.steps = steps
        self.activation = activation
    }

    public var isEmpty: Bool { steps.isEmpty }

    public static func += (plan: inout PeoplePlan, steps: [PeopleStep]) { plan.steps += steps }
}

/// A plan as it was carried out and committed: what memory applies to follow the write (the
/// identities it created carry the ids the database gave them, in the order of the plan).
public struct CommittedPeoplePlan: Sendable, Equatable {
    public var plan: PeoplePlan
    public var created: [IdentityRecord]
    public var at: Date

    public init(plan: PeoplePlan = PeoplePlan(), created: [IdentityRecord] = [], at: Date) {
        self.plan = plan
        self.created = created
        self.at = at
    }

    /// Whether anything was written.
    public var changed: Bool { !plan.isEmpty }
}

/// A rule refused the change as asked (nothing is written).
public struct PeopleRuleError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable { case personNotFound, identityNotFound, noSeatAvailable, noRequest }
    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// The rules of seats and identities: one person, one seat however many identities; never
/// more seats than the limit; only active people hold seats; a person left without
/// identities, blocked or gone gives the seat back and is signed out. Pure: every rule reads
/// `PeopleFacts` and returns a `PeoplePlan`.
public enum SeatRules {
    /// A seat for a person, or for the person of a new identity (created with it). A login of
    /// someone who already holds a seat links the identity and takes no second seat; a full
    /// house or an ineligible person writes nothing.
    public static func activate(
        _ target: SeatTarget, limit: Int64, whenFull: SeatPolicy.WhenFull = .deny, requestKind: SeatRequest.Kind = .login, actor: String,
        reason: String, at: Date, facts: some PeopleFacts
    ) throws -> PeoplePlan {
        var new: NewIdentity?
        let personID: String
        switch target {
        case .person(let id): personID = id
        case .newIdentity(let candidate):
            if let existing = try facts.identity(candidate.ref) {
                // Created by another process (a replica, the CLI) since this one last read:
                // the seat is sought for that person, whether or not one is free.
                personID = existing.personID
            } else {
                new = candidate
                personID = candidate.linkTo ?? candidate.newPersonID
            }
        }
        let active = try facts.activeSeats()
        var plan = PeoplePlan()
        let createsPerson = new != nil && new?.linkTo == nil
        if !createsPerson {
            guard let person = try facts.person(personID) else { throw PeopleRuleError(.personNotFound, "no person \(personID)") }
            guard person.status == .active else {
                plan.activation = .ineligible(person.status)
                return plan
            }
            if person.seat == .active {
                if let new { plan += identitySteps(new, actor: actor) }
                plan.activation = .alreadyActive
                return plan
            }
        }
        guard active < limit else {
            guard whenFull == .request else {
                plan.activation = .noSeatAvailable
                return plan
            }
            // Every seat taken: the person (created if new) files one request, kept until a
            // seat frees up or an administrator decides.
            if let new { plan += identitySteps(new, actor: actor) }
            if try facts.pendingRequest(of: personID) == nil {
                let identity: String =
                    switch target {
                    case .newIdentity(let candidate): candidate.ref.description
                    case .person(let id): id
                    }
                plan += [
                    .fileSeatRequest(SeatRequest(personID: personID, identity: identity, kind: requestKind, requestedAt: at)),
                    .audit(
                        AuditDraft(
                            actor: actor, action: "seat.request", subject: personID,
                            details: [
                                "identity": .string(identity), "kind": .string(requestKind.rawValue), "active": .int(active),
                                "limit": .int(limit),
                            ])),
                ]
            }
            plan.activation = .requested
            return plan
        }
        if let new { plan += identitySteps(new, actor: actor) }
        plan += [
            .setSeat(personID: personID, active: true, activeAfter: active + 1, actor: actor, reason: reason),
            .audit(
                AuditDraft(
                    actor: actor, action: "seat.activate", subject: personID,
                    details: ["reason": .string(reason), "active_after": .int(active + 1), "limit": .int(limit)])),
        ]
        plan.activation = .activated
        return plan
    }

    /// A new identity, and its person unless it joins one.
    public static func createIdentity(_ new: NewIdentity, actor: String, facts: some PeopleFacts) throws -> PeoplePlan {
        if let linkTo = new.linkTo, try facts.person(linkTo) == nil { throw PeopleRuleError(.personNotFound, "no person \(linkTo)") }
        return PeoplePlan(steps: identitySteps(new, actor: actor))
    }

    static func identitySteps(_ new: NewIdentity, actor: String) -> [PeopleStep] {
        var steps: [PeopleStep] = []
        let personID = new.linkTo ?? new.newPersonID
        if new.linkTo == nil {
            steps += [
                .createPerson(id: personID, name: new.ref.username, email: new.email),
                .audit(
                    AuditDraft(
                        actor: actor, action: "person.create", subject: personID, details: ["identity": .string(new.ref.description)])),
            ]
        }
        steps += [
            .createIdentity(new),
            .audit(
                AuditDraft(
                    actor: actor, action: "identity.create", subject: new.ref.description,
                    details: ["person": .string(personID), "external_id": .optional(new.externalID), "linked": .bool(new.linkTo != nil)])),
        ]
        return steps
    }

    /// Gives a seat back and signs the person out (signing in again asks for a seat); nothing
    /// when the person holds none.
    public static func release(personID: String, actor: String, reason: String, grant: SeatGrant? = nil, facts: some PeopleFacts) throws
        -> PeoplePlan
    {
        guard let person = try facts.person(personID), person.seat == .active else { return PeoplePlan() }
        let after = try facts.activeSeats() - 1
        var plan = PeoplePlan(steps: [
            .setSeat(personID: personID, active: false, activeAfter: after, actor: actor, reason: reason),
            .endSessions(personID: personID, actor: actor, reason: reason),
            .audit(
                AuditDraft(
                    actor: actor, action: "seat.deactivate", subject: personID,
                    details: ["reason": .string(reason), "active_after": .int(after)])),
        ])
        if let grant { plan += try grants(active: after, grant: grant, excluding: [personID], actor: actor, facts: facts) }
        return plan
    }

    /// Seats in use are `active`: pending requests are granted, oldest first, while fewer
    /// than `grant.limit` are — inside the transaction that freed the seats, so the limit
    /// holds. A request of someone no longer eligible (blocked, gone, or seated meanwhile) is
    /// dropped; one of someone whose seat this very change released is kept.
    public static func grants(active: Int64, grant: SeatGrant, excluding: Set<String> = [], actor: String, facts: some PeopleFacts) throws
        -> [PeopleStep]
    {
        var active = active
        guard active < grant.limit else { return [] }
        var steps: [PeopleStep] = []
        // A few more than the free seats, for the requests passed over.
        for request in try facts.pendingRequests(limit: Int(grant.limit - active) + 16) where active < grant.limit {
            guard !excluding.contains(request.personID) else { continue }
            steps.append(.removeSeatRequest(personID: request.personID))
            guard let person = try facts.person(request.personID), person.status == .active, person.seat != .active else { continue }
            active += 1
            steps += [
                .setSeat(personID: request.personID, active: true, activeAfter: active, actor: actor, reason: "seat request granted"),
                .audit(
                    AuditDraft(
                        actor: actor, action: "seat.activate", subject: request.personID,
                        details: [
                            "reason": "seat request granted", "requested_at": .string(UTC.format(request.requestedAt)),
                            "active_after": .int(active), "limit": .int(grant.limit),
                        ])),
            ]
        }
        return steps
    }

    /// Grants pending requests to the seats free now (after a license adds seats).
    public static func grantPending(grant: SeatGrant, actor: String, facts: some PeopleFacts) throws -> PeoplePlan {
        PeoplePlan(steps: try grants(active: try facts.activeSeats(), grant: grant, actor: actor, facts: facts))
    }

    /// An administrator grants a pending request (a seat must be free).
    public static func approve(personID: String, limit: Int64, actor: String, facts: some PeopleFacts) throws -> PeoplePlan {
        guard let request = try facts.pendingRequest(of: personID) else {
            throw PeopleRuleError(.noRequest, "\(personID) has no pending seat request")
        }
        let active = try facts.activeSeats()
        guard active < limit else { throw PeopleRuleError(.noSeatAvailable, "all \(limit) seats are in use: free one first, or add seats") }
        guard let person = try facts.person(personID), person.status == .active else {
            throw PeopleRuleError(.noRequest, "\(personID) is not active and cannot hold a seat")
        }
        var plan = PeoplePlan(steps: [
            .removeSeatRequest(personID: personID),
            .audit(
                AuditDraft(
                    actor: actor, action: "seat.request.approve", subject: personID, details: ["identity": .string(request.identity)])),
        ])
        if person.seat != .active {
            plan += [
                .setSeat(personID: personID, active: true, activeAfter: active + 1, actor: actor, reason: "seat request approved"),
                .audit(
                    AuditDraft(
                        actor: actor, action: "seat.activate", subject: personID,
                        details: ["reason": "seat request approved", "active_after": .int(active + 1), "limit": .int(limit)])),
            ]
        }
        return plan
    }

    /// An administrator turns a pending request down.
    public static func reject(personID: String, actor: String, facts: some PeopleFacts) throws -> PeoplePlan {
        guard let request = try facts.pendingRequest(of: personID) else {
            throw PeopleRuleError(.noRequest, "\(personID) has no pending seat request")
        }
        return PeoplePlan(steps: [
            .removeSeatRequest(personID: personID),
            .audit(
                AuditDraft(actor: actor, action: "seat.request.reject", subject: personID, details: ["identity": .string(request.identity)])
            ),
        ])
    }

    /// Gives back, in one go, the seats of everyone not seen for `days` days (before
    /// `cutoff`): each release as `release` would make it, counts falling one by one, then one
    /// `seats.release_inactive` entry that sums them up. Empty when nobody is dormant.
    public static func releaseInactive(days: Int64, cutoff: Date, actor: String, grant: SeatGrant? = nil, facts: some PeopleFacts) throws
        -> PeoplePlan
    {
        let dormant = try facts.seatedPeople(notSeenSince: cutoff)
        guard !dormant.isEmpty else { return PeoplePlan() }
        var active = try facts.activeSeats()
        let reason = "inactive for \(days) days"
        var plan = PeoplePlan()
        for person in dormant {
            active -= 1
            plan += [
                .setSeat(personID: person.id, active: false, activeAfter: active, actor: actor, reason: reason),
                .endSessions(personID: person.id, actor: actor, reason: reason),
                .audit(
                    AuditDraft(
                        actor: actor, action: "seat.deactivate", subject: person.id,
                        details: ["reason": .string(reason), "active_after": .int(active)])),
            ]
        }
        plan += [
            .audit(
                AuditDraft(
                    actor: actor, action: "seats.release_inactive", subject: "seats",
                    details: [
                        "inactive_days": .int(days), "not_seen_since": .string(UTC.format(cutoff)), "released": .int(Int64(dormant.count)),
                        "active_after": .int(active),
                    ]))
        ]
        if let grant { plan += try grants(active: active, grant: grant, excluding: Set(dormant.map(\.id)), actor: actor, facts: facts) }
        return plan
    }

    /// The people a plan gives seats back to.
    public static func released(by plan: PeoplePlan) -> [String] {
        plan.steps.compactMap { if case .setSeat(let id, false, _, _, _) = $0 { id } else { nil } }
    }

    /// Blocks, unblocks or marks a person as gone. Leaving `active` gives the seat back and
    /// ends every session, seat or no seat; coming back gives no seat.
    public static func setStatus(
        personID: String, to status: PersonStatus, actor: String, reason: String, grant: SeatGrant? = nil, facts: some PeopleFacts
    ) throws -> PeoplePlan {
        guard let person = try facts.person(personID) else { throw PeopleRuleError(.personNotFound, "no person \(personID)") }
        guard person.status != status else { return PeoplePlan() }
        var plan = PeoplePlan()
        if status != .active {
            if try facts.pendingRequest(of: personID) != nil { plan += [.removeSeatRequest(personID: personID)] }
            plan += try release(personID: personID, actor: actor, reason: reason, grant: grant, facts: facts).steps
            if person.seat != .active { plan += [.endSessions(personID: personID, actor: actor, reason: reason)] }
        }
        plan += [
            .setStatus(personID: personID, status),
            .audit(
                AuditDraft(
                    actor: actor, action: "person.status", subject: personID,
                    details: ["from": .string(person.status.rawValue), "to": .string(status.rawValue), "reason": .string(reason)])),
        ]
        return plan
    }

    /// Moves an identity to a person (creating it if new). The person it leaves, if left
    /// without identities, gives its seat back: one person, one seat.
    public static func link(_ ref: IdentityRef, to personID: String, actor: String, grant: SeatGrant? = nil, facts: some PeopleFacts) throws
        -> PeoplePlan
    {
        guard try facts.person(personID) != nil else { throw PeopleRuleError(.personNotFound, "no person \(personID)") }
        guard let existing = try facts.identity(ref) else {
            return PeoplePlan(
                steps: identitySteps(
                    NewIdentity(ref: ref, externalID: nil, email: nil, linkTo: personID, newPersonID: personID), actor: actor))
        }
        guard existing.personID != personID else { return PeoplePlan() }
        var plan = PeoplePlan(steps: [
            .moveIdentity(id: existing.id, to: personID),
            .audit(
                AuditDraft(
                    actor: actor, action: "identity.link", subject: ref.description,
                    details: ["person": .string(personID), "from_person": .string(existing.personID)])),
        ])
        plan += try releaseIfOrphaned(existing.personID, losing: 1, actor: actor, grant: grant, facts: facts).steps
        return plan
    }

    /// Renames identities in one go, in order — a recycled username moved aside first, then the
    /// account that now holds it renamed into it — or records a stable id once known. Each
    /// identity is named as memory knew it; one the database no longer has is an error.
    public static func rename(
        _ renames: [(identity: IdentityRef, username: String, externalID: String?)], actor: String, facts: some PeopleFacts
    ) throws -> PeoplePlan {
        var plan = PeoplePlan()
        for rename in renames {
            guard let stored = try facts.identity(rename.identity) else {
                throw PeopleRuleError(.identityNotFound, "no identity \(rename.identity)")
            }
            plan += [
                .renameIdentity(id: stored.id, username: rename.username, externalID: rename.externalID),
                .audit(
                    AuditDrafts.identityUpdate(
                        actor: actor, identity: stored.ref, person: stored.personID, username: rename.username,
                        externalID: rename.externalID)),
            ]
        }
        return plan
    }

    /// An identity's orgs, teams or groups from one source (a login's claims, a sign-in's
    /// verified memberships), replaced; nothing when they are the same.
    public static func replaceMemberships(
        identityID: Int64, source: MembershipSource, with new: Set<MembershipRecord>, actor: String, facts: some PeopleFacts
    ) throws -> PeoplePlan {
        let current = try facts.memberships(of: identityID, source: source)
        guard let audit = AuditDrafts.membershipUpdate(actor: actor, identityID: identityID, source: source, from: current, to: new) else {
            return PeoplePlan()
        }
        return PeoplePlan(steps: [.replaceMemberships(identityID: identityID, source: source, new), .audit(audit)])
    }

    /// Removes an identity from its person; a person left without identities gives its seat back.
    public static func unlink(_ ref: IdentityRef, actor: String, grant: SeatGrant? = nil, facts: some PeopleFacts) throws -> PeoplePlan {
        guard let existing = try facts.identity(ref) else { throw PeopleRuleError(.identityNotFound, "no identity \(ref)") }
        var plan = PeoplePlan(steps: [
            .deleteIdentity(id: existing.id),
            .audit(
                AuditDraft(
                    actor: actor, action: "identity.unlink", subject: ref.description, details: ["person": .string(existing.personID)])),
        ])
        plan += try releaseIfOrphaned(existing.personID, losing: 1, actor: actor, grant: grant, facts: facts).steps
        return plan
    }

    /// The seat of a person about to lose `losing` identities, if that leaves none.
    static func releaseIfOrphaned(_ personID: String, losing: Int, actor: String, grant: SeatGrant?, facts: some PeopleFacts) throws
        -> PeoplePlan
    {
        guard try facts.identityCount(of: personID) - losing <= 0 else { return PeoplePlan() }
        return try release(personID: personID, actor: actor, reason: "no identities left", grant: grant, facts: facts)
    }
}

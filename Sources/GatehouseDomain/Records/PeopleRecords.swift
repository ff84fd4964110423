import Foundation

/// A person as stored.
public struct PersonRecord: Sendable, Equatable {
    public var id: String
    public var name: String
    public var email: String?
    public var role: Role
    public var status: PersonStatus
    public var seat: SeatState
    public var lastSeenAt: Date?
    public var createdAt: Date

    public init(
        id: String, name: String, email: String?, role: Role, status: PersonStatus, seat: SeatState, lastSeenAt: Date?, createdAt: Date
    ) {
        self.id = id
        self.name = name
        self.email = email
        self.role = role
        self.status = status
        self.seat = seat
        self.lastSeenAt = lastSeenAt
        self.createdAt = createdAt
    }
}

/// An identity (`provider:username`) and the person it maps to.
public struct IdentityRecord: Sendable, Equatable {
    public var id: Int64
    public var ref: IdentityRef
    public var externalID: String?
    public var email: String?
    public var personID: String

    public init(id: Int64, ref: IdentityRef, externalID: String?, email: String?, personID: String) {
        self.id = id
        self.ref = ref
        self.externalID = externalID
        self.email = email
        self.personID = personID
    }
}

public enum MembershipKind: String, Sendable, CaseIterable { case org, team, group }
public enum MembershipSource: String, Sendable, CaseIterable {
    /// Claimed in a decision request (`orgs`/`teams` of `/v1/authorize/login`): unverified.
    case request
    case webhook
    case ldap
    /// Read by the gate's sign-in from the provider with the person's own token: verified.
    case signin
    /// Groups pushed by the identity provider over SCIM.
    case scim
}

/// An identity's membership of an org, team (`org/team`) or group, and where it was learned.
public struct MembershipRecord: Sendable, Hashable {
    public var identityID: Int64
    public var kind: MembershipKind
    /// Lowercased.
    public var name: String
    public var source: MembershipSource
    /// `false`: the provider reported that this membership ended.
    public var present: Bool

    public init(identityID: Int64, kind: MembershipKind, name: String, source: MembershipSource, present: Bool = true) {
        self.identityID = identityID
        self.kind = kind
        self.name = name.lowercased()
        self.source = source
        self.present = present
    }
}

/// Everything decisions need, read in one consistent transaction.
public struct PeopleSnapshot: Sendable {
    public var persons: [PersonRecord]
    public var identities: [IdentityRecord]
    public var memberships: [MembershipRecord]
    /// The audit head when the snapshot was read: the state version it reflects.
    public var auditSeq: Int64
    /// Gate sessions: every live one in a whole snapshot; in changes, those started since.
    public var sessions: [GateSession]
    /// In changes: the ids of sessions ended since.
    public var endedSessions: [String]

    public init(
        persons: [PersonRecord], identities: [IdentityRecord], memberships: [MembershipRecord], auditSeq: Int64,
        sessions: [GateSession] = [], endedSessions: [String] = []
    ) {
        self.persons = persons
        self.identities = identities
        self.memberships = memberships
        self.auditSeq = auditSeq
        self.sessions = sessions
        self.endedSessions = endedSessions
    }
}

/// One piece of a whole load of people (`PeopleStore.loadPeople`), handed over as it is read:
/// first the sizes, then people, identities, memberships and gate sessions in that order, each
/// kind in pieces of a few thousand.
public enum PeopleLoadPart: Sendable {
    case sizes(persons: Int, identities: Int, memberships: Int)
    case persons([PersonRecord])
    case identities([IdentityRecord])
    case memberships([MembershipRecord])
    case sessions([GateSession])
}

/// A login not seen before: the identity to create, and the person it joins or starts.
public struct NewIdentity: Sendable, Equatable {
    public var ref: IdentityRef
    public var externalID: String?
    public var email: String?
    /// Join this existing person (linked by email or template); `nil` creates `newPersonID`.
    public var linkTo: String?
    public var newPersonID: String

    public init(ref: IdentityRef, externalID: String?, email: String?, linkTo: String?, newPersonID: String) {
        self.ref = ref
        self.externalID = externalID
        self.email = email
        self.linkTo = linkTo
        self.newPersonID = newPersonID
    }
}

/// Whom a seat is for.
public enum SeatTarget: Sendable, Equatable {
    case person(String)
    /// Someone new: created together with the seat, or not at all.
    case newIdentity(NewIdentity)
}

/// How an activation attempt ended.
public enum ActivationOutcome: Sendable, Equatable {
    case activated
    case alreadyActive
    /// The limit is reached; nothing was written.
    case noSeatAvailable
    /// The limit is reached; a seat request is pending for the person (filed now or before).
    case requested
    /// Blocked or left the directory; nothing was written.
    case ineligible(PersonStatus)
}

public struct ActivationResult: Sendable, Equatable {
    public var outcome: ActivationOutcome
    /// The person after the attempt (`nil` if a new person was not created).
    public var person: PersonRecord?
    /// The identity created with the seat, if any.
    public var identity: IdentityRecord?
    /// Active seats after the attempt.
    public var activeSeats: Int64
    /// The claimed memberships recorded with the seat (see `MembershipClaims`), if any.
    public var claimsRecorded: RecordedClaims?
    /// What was written, for memory to follow.
    public var committed: CommittedPeoplePlan?

    public init(
        outcome: ActivationOutcome, person: PersonRecord?, identity: IdentityRecord?, activeSeats: Int64,
        claimsRecorded: RecordedClaims? = nil,
        committed: CommittedPeoplePlan? = nil
    ) {
        self.outcome = outcome
        self.person = person
        self.identity = identity
        self.activeSeats = activeSeats
        self.claimsRecorded = claimsRecorded
        self.committed = committed
    }
}

/// Memberships of one source (`request` or `signin`) now stored for one identity.
public struct RecordedClaims: Sendable, Equatable {
    public var identityID: Int64
    public var source: MembershipSource
    public var memberships: Set<MembershipRecord>

    public init(identityID: Int64, source: MembershipSource, memberships: Set<MembershipRecord>) {
        self.identityID = identityID
        self.source = source
        self.memberships = memberships
    }
}

/// The orgs, teams and groups of a login, recorded in the seat's own transaction when the seat
/// is granted or already held: for `identityID`, or for the identity created with the seat.
/// Claimed by a decision request (source `request`), or read by the gate's sign-in from the
/// provider (source `signin`, verified).
public struct MembershipClaims: Sendable, Equatable {
    public var identityID: Int64?
    public var orgs: Set<String>
    public var teams: Set<String>
    public var groups: Set<String>
    public var source: MembershipSource

    public init(identityID: Int64?, orgs: Set<String>, teams: Set<String>, groups: Set<String> = [], source: MembershipSource = .request) {
        self.identityID = identityID
        self.orgs = orgs
        self.teams = teams
        self.groups = groups
        self.source = source
    }

    public func records(for identityID: Int64) -> Set<MembershipRecord> {
        Set(
            orgs.map { MembershipRecord(identityID: identityID, kind: .org, name: $0, source: source) }
                + teams.map { MembershipRecord(identityID: identityID, kind: .team, name: $0, source: source) }
                + groups.map { MembershipRecord(identityID: identityID, kind: .group, name: $0, source: source) })
    }
}

/// A webhook delivery, identified by its provider's delivery id.
public struct WebhookDelivery: Sendable, Equatable {
    public var provider: String
    public var id: String
    public var event: String
    public var outcome: String
    /// SHA-256 (hex) of the signed body: the same body under another delivery id is a replay.
    public var bodySHA256: String
    /// When the provider says the change happened (GitLab's `updated_at`), if it says.
    public var eventAt: Date?

    public init(provider: String, id: String, event: String, outcome: String, bodySHA256: String, eventAt: Date? = nil) {
        self.provider = provider
        self.id = id
        self.event = event
        self.outcome = outcome
        self.bodySHA256 = bodySHA256
        self.eventAt = eventAt
    }
}

/// What became of a webhook delivery in the database.
public enum WebhookApplyOutcome: Sendable, Equatable {
    /// Recorded, and its change (if any) applied.
    case applied
    /// This delivery id was handled before: nothing changed.
    case duplicate
    /// The same signed body was applied within the replay window as another delivery.
    case replay(of: String, receivedAt: Date)
    /// The provider dates this change before the newest applied for the same membership.
    case stale(newest: Date)
}

/// A policy set as applied.
public struct StoredPolicySet: Sendable, Equatable {
    public var sha256: String
    public var files: [String: String]
    public var appliedAt: Date
    public var appliedBy: String

    public init(sha256: String, files: [String: String], appliedAt: Date, appliedBy: String) {
        self.sha256 = sha256
        self.files = files
        self.appliedAt = appliedAt
        self.appliedBy = appliedBy
    }
}

/// A denial counter key.
public struct DenialKey: Sendable, Hashable {
    public var day: String
    public var kind: String
    public var reason: String

    public init(day: String, kind: String, reason: String) {
        self.day = day
        self.kind = kind
        self.reason = reason
    }
}

/// Egress refusals are also counted per destination (`host:port`).
public struct EgressDenialKey: Sendable, Hashable {
    public var day: String
    public var destination: String
    public var reason: String

    public init(day: String, destination: String, reason: String) {
        self.day = day
        self.destination = destination
        self.reason = reason
    }

    /// Where refusals beyond a day's limit of distinct destinations are counted.
    public static let otherDestinations = "(other destinations)"
    /// Distinct destinations kept per day.
    public static let destinationsPerDay = 1000
}

/// Denials buffered in memory since the last write.
public struct DenialBatch: Sendable {
    public var counts: [DenialKey: Int64] = [:]
    public var byDestination: [EgressDenialKey: Int64] = [:]
    public var recent: [DenialEntry] = []

    public init(counts: [DenialKey: Int64] = [:], byDestination: [EgressDenialKey: Int64] = [:], recent: [DenialEntry] = []) {
        self.counts = counts
        self.byDestination = byDestination
        self.recent = recent
    }

    public var isEmpty: Bool { counts.isEmpty && byDestination.isEmpty && recent.isEmpty }
}

/// One denied decision, kept among the most recent.
public struct DenialEntry: Sendable, Equatable {
    public var at: Date
    public var kind: String
    public var reason: String
    /// `provider:username`, or the destination for egress.
    public var subject: String

    public init(at: Date, kind: String, reason: String, subject: String) {
        self.at = at
        self.kind = kind
        self.reason = reason
        self.subject = subject
    }
}

/// Seat usage over a period.
public struct SeatUsageRecord: Sendable, Equatable {
    public var active: Int64
    public var peak: Int64

    public init(active: Int64, peak: Int64) {
        self.active = active
        self.peak = peak
    }
}

/// A seat given to or taken from one person (the console's person page).
public struct SeatHistoryEntry: Sendable, Equatable {
    public var activated: Bool
    public var at: Date
    public var actor: String
    public var reason: String

    public init(activated: Bool, at: Date, actor: String, reason: String) {
        self.activated = activated
        self.at = at
        self.actor = actor
        self.reason = reason
    }
}

import Foundation
import GatehouseDomain

/// People, identities, seats, policies and denial counts. Every method that changes state
/// audits it in the same transaction (bookkeeping — last-seen times and denial counters — is
/// batched and not chained).
public protocol PeopleStore: Sendable {
    /// Everything decisions need, in one read, handed to `deliver` in parts as the rows are read
    /// (so that memory can be built beside the read rather than after it); returns the audit
    /// head it reflects. `peopleSnapshot()` gathers the parts into one value.
    func loadPeople(_ deliver: @escaping @Sendable (PeopleLoadPart) -> Void) async throws -> Int64
    /// The sequence number of the latest audit entry: any change of state moves it.
    func auditHeadSeq() async throws -> Int64
    /// What the audit entries after `seq` (at most `limit` of them) changed about people, when
    /// every one is a change memory can take person by person — first logins, seats, gate sessions and
    /// memberships: those people as stored now, with all their identities and memberships,
    /// and the head they were read at. `nil` when any entry is of another kind (a policy, a
    /// license, a block, a directory sync…) or there are more: then everything is reloaded.
    func peopleChanges(after seq: Int64, limit: Int) async throws -> PeopleSnapshot?

    func person(id: String) async throws -> PersonRecord?
    func identities(personID: String) async throws -> [IdentityRecord]
    func identity(_ ref: IdentityRef) async throws -> IdentityRecord?
    func memberships(identityID: Int64) async throws -> [MembershipRecord]
    /// People, optionally only those with (or without) a seat, or not seen since a time.
    func persons(seat: SeatState?, notSeenSince: Date?) async throws -> [PersonRecord]

    /// Seeks a seat for `target` atomically: `rule` (the domain's `SeatRules.activate`) decides
    /// from the facts inside the write transaction — so the limit holds whatever the
    /// concurrency — and its plan is carried out. When the seat is granted or already held,
    /// `claims` are recorded in the same transaction. The result is read back as stored.
    func activateSeat(
        _ target: SeatTarget, claims: MembershipClaims?, actor: String, at: Date,
        rule: @escaping @Sendable (any PeopleFacts) throws -> PeoplePlan
    ) async throws -> ActivationResult
    /// Several activations as `activateSeat` makes them, in order, in one write transaction:
    /// each rule reads facts that include the activations before it (the seat counter moves
    /// with each grant), so the limit holds as it does one by one. For bulk first logins and
    /// for concurrent activations written together (`ActivationQueue`). All or nothing: when
    /// one fails (its rule refuses, say a login joined to a person who is gone), nothing is written.
    func activateSeats(_ batch: [SeatActivation]) async throws -> [ActivationResult]
    /// Blocks, unblocks or marks a person as gone; leaving `active` releases the seat.
    /// Decides a change of people with `rule` (the domain's `SeatRules`) from facts read inside
    /// one write transaction, and carries out the plan it returns, audit entries included.
    /// Storage decides nothing: a rule that refuses (`PeopleRuleError`) writes nothing.
    func changePeople(at: Date, _ rule: @escaping @Sendable (any PeopleFacts) throws -> PeoplePlan) async throws -> CommittedPeoplePlan
    /// Pending seat requests, oldest first.
    func seatRequests() async throws -> [SeatRequest]
    /// What `rule` would do now, decided in a read transaction and carried out by no one (a dry run).
    func previewPeople(_ rule: @escaping @Sendable (any PeopleFacts) throws -> PeoplePlan) async throws -> PeoplePlan

    /// Records a webhook delivery and the membership change it reports, in one transaction,
    /// as `rule` (the domain's `WebhookRules.judge`) decides from the delivery history read
    /// inside it: nothing for a duplicate or a replay; a stale change recorded, not applied.
    func applyWebhook(_ delivery: WebhookDelivery, at: Date, rule: @escaping @Sendable (any WebhookFacts) throws -> WebhookPlan)
        async throws
        -> WebhookApplyOutcome

    /// Last-seen times, batched.
    func touchLastSeen(_ times: [String: Date]) async throws
    /// Adds to the denial counters (per reason, and egress per destination) and keeps the
    /// newest `keep` individual denials, in one transaction.
    func addDenials(_ batch: DenialBatch, keep: Int) async throws
    /// The newest individual denials, newest first.
    func recentDenials(limit: Int) async throws -> [DenialEntry]
    func denialCounts(since: String?) async throws -> [DenialKey: Int64]
    /// Egress refusals per day, destination and reason, from the day `since` on.
    func egressDenialCounts(since: String?) async throws -> [EgressDenialKey: Int64]

    /// Seat events `(time, active after)` in order, from `since`, with the count just before it.
    func seatEvents(since: Date) async throws -> (startActive: Int64, events: [(at: Date, activeAfter: Int64)])
    /// One person's seat given and taken, newest first (at most `limit`).
    func seatHistory(personID: String, limit: Int) async throws -> [SeatHistoryEntry]
    /// The latest audit entry's sequence number and hash (the chain head).
    func auditChainHead() async throws -> (seq: Int64, hash: String)?

    /// Active seats now and the peak since `since`.
    func seatUsage(since: Date) async throws -> SeatUsageRecord

    func policySetInForce() async throws -> StoredPolicySet?
    /// The policy set that was in force at a time (the last applied by then).
    func policySet(asOf: Date) async throws -> StoredPolicySet?
    /// The license that was in force at a time (the last installed by then).
    func license(asOf: Date) async throws -> StoredLicense?
    /// People holding a seat at a time, from the seat events.
    func seatHolders(asOf: Date) async throws -> [String]
    func applyPolicySet(_ set: StoredPolicySet, audit: AuditDraft) async throws
}

extension PeopleStore {
    /// Everything decisions need, in one read (`loadPeople`, gathered).
    public func peopleSnapshot() async throws -> PeopleSnapshot {
        let gathered = GatheredPeople()
        let head = try await loadPeople { gathered.take($0) }
        return gathered.snapshot(auditSeq: head)
    }
}

/// The parts of a load gathered into one snapshot (handed over from the database's thread).
private final class GatheredPeople: @unchecked Sendable {
    private let lock = NSLock()
    private var persons: [PersonRecord] = [], identities: [IdentityRecord] = [], memberships: [MembershipRecord] = []
    private var sessions: [GateSession] = []

    func take(_ part: PeopleLoadPart) {
        lock.withLock {
            switch part {
            case .sizes(let p, let i, let m):
                persons.reserveCapacity(p)
                identities.reserveCapacity(i)
                memberships.reserveCapacity(m)
            case .persons(let rows): persons += rows
            case .identities(let rows): identities += rows
            case .memberships(let rows): memberships += rows
            case .sessions(let rows): sessions += rows
            }
        }
    }

    func snapshot(auditSeq: Int64) -> PeopleSnapshot {
        lock.withLock {
            PeopleSnapshot(persons: persons, identities: identities, memberships: memberships, auditSeq: auditSeq, sessions: sessions)
        }
    }
}

/// One seat activation of a batch (`PeopleStore.activateSeats`): what `activateSeat` takes.
public struct SeatActivation: Sendable {
    public var target: SeatTarget
    public var claims: MembershipClaims?
    public var actor: String
    public var at: Date
    /// The domain's `SeatRules.activate` for this target, reading facts inside the transaction.
    public var rule: @Sendable (any PeopleFacts) throws -> PeoplePlan

    public init(
        _ target: SeatTarget, claims: MembershipClaims?, actor: String, at: Date,
        rule: @escaping @Sendable (any PeopleFacts) throws -> PeoplePlan
    ) {
        self.target = target
        self.claims = claims
        self.actor = actor
        self.at = at
        self.rule = rule
    }
}

import Foundation

/// What the webhook rules read, inside the write transaction that records the delivery.
public protocol WebhookFacts {
    /// Whether a delivery with this id was handled before.
    func deliveryHandled(provider: String, id: String) throws -> Bool
    /// The first delivery since `since` whose body had this hash.
    func bodyApplied(provider: String, sha256: String, since: Date) throws -> (id: String, receivedAt: Date)?
    /// The newest provider-given time of a change applied to this membership.
    func newestEvent(provider: String, membership: String) throws -> Date?
}

/// What to do with one delivery: what to answer, what to record of it, and the membership
/// change to apply with its audit entry (none for a duplicate, a replay or a stale event).
public struct WebhookPlan: Sendable, Equatable {
    /// The delivery's row, so that neither its id nor its body is applied twice.
    public struct Record: Sendable, Equatable {
        public var outcome: String
        /// Set for a change that was applied: the membership, and its provider-given time.
        public var membership: String?
        public var eventAt: Date?

        public init(outcome: String, membership: String? = nil, eventAt: Date? = nil) {
            self.outcome = outcome
            self.membership = membership
            self.eventAt = eventAt
        }
    }

    public var outcome: WebhookApplyOutcome
    public var record: Record?
    public var change: MembershipRecord?
    public var audit: AuditDraft?

    public init(outcome: WebhookApplyOutcome, record: Record? = nil, change: MembershipRecord? = nil, audit: AuditDraft? = nil) {
        self.outcome = outcome
        self.record = record
        self.change = change
        self.audit = audit
    }
}

/// The rules against replayed and reordered membership webhooks.
public enum WebhookRules {
    /// The membership a change concerns, as recorded beside its delivery.
    public static func membershipKey(_ m: MembershipRecord) -> String {
        "identity \(m.identityID) \(m.kind.rawValue) \(m.name.lowercased())"
    }

    /// A delivery handled before (same id) is a duplicate. A body already applied since
    /// `replaySince` under another id is a replay (GitHub signs the body, not its delivery id).
    /// A change dated before the newest applied to its membership is stale: recorded (its id is
    /// not tried again), not applied. A removal dated like the addition it ends is that
    /// membership's end; an addition must be newer than everything applied.
    public static func judge(
        _ delivery: WebhookDelivery, change: MembershipRecord?, replaySince: Date, actor: String, facts: some WebhookFacts
    ) throws -> WebhookPlan {
        if try facts.deliveryHandled(provider: delivery.provider, id: delivery.id) {
            return WebhookPlan(outcome: .duplicate)
        }
        if let earlier = try facts.bodyApplied(provider: delivery.provider, sha256: delivery.bodySHA256, since: replaySince) {
            return WebhookPlan(outcome: .replay(of: earlier.id, receivedAt: earlier.receivedAt))
        }
        let key = change.map(membershipKey)
        if let change, let key, let eventAt = delivery.eventAt,
            let newest = try facts.newestEvent(provider: delivery.provider, membership: key),
            change.present ? eventAt <= newest : eventAt < newest
        {
            return WebhookPlan(outcome: .stale(newest: newest), record: .init(outcome: "stale: " + delivery.outcome))
        }
        return WebhookPlan(
            outcome: .applied, record: .init(outcome: delivery.outcome, membership: key, eventAt: delivery.eventAt), change: change,
            audit: change.map { AuditDrafts.webhookMembership(actor: actor, $0, delivery: delivery) })
    }
}

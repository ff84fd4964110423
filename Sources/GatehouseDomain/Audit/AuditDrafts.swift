import Foundation

/// The audit entries of changes whose rules live in the domain, composed here: storage
/// appends what it is handed and words none of them. (Storage's own operations — a schema
/// migration, a database copy — are the exception: there the store is the actor's tool.)
public enum AuditDrafts {
    /// An identity renamed (seen through its stable id) or given its stable id.
    public static func identityUpdate(actor: String, identity: IdentityRef, person: String, username: String, externalID: String?)
        -> AuditDraft
    {
        AuditDraft(
            actor: actor, action: "identity.update", subject: identity.description,
            details: ["username": .string(username), "person": .string(person), "external_id": .optional(externalID)])
    }

    /// One identity's memberships from one source, replaced: what was added and removed;
    /// `nil` when nothing changes (nothing is written then).
    public static func membershipUpdate(
        actor: String, identityID: Int64, source: MembershipSource, from current: Set<MembershipRecord>, to new: Set<MembershipRecord>
    ) -> AuditDraft? {
        guard current != new else { return nil }
        func names(_ set: Set<MembershipRecord>) -> JSONValue {
            .array(set.map { .string($0.kind.rawValue + ":" + $0.name) }.sorted { $0.canonicalText < $1.canonicalText })
        }
        return AuditDraft(
            actor: actor, action: "membership.update", subject: "identity \(identityID)",
            details: [
                "source": .string(source.rawValue), "added": names(new.subtracting(current)), "removed": names(current.subtracting(new)),
            ])
    }

    /// A membership a provider's webhook reported added or removed.
    public static func webhookMembership(actor: String, _ m: MembershipRecord, delivery: WebhookDelivery) -> AuditDraft {
        AuditDraft(
            actor: actor, action: m.present ? "membership.add" : "membership.remove", subject: "identity \(m.identityID)",
            details: [
                "kind": .string(m.kind.rawValue), "name": .string(m.name), "source": "webhook", "delivery": .string(delivery.id),
                "event": .string(delivery.event),
            ])
    }

    public static func sessionStart(actor: String, _ session: GateSession) -> AuditDraft {
        AuditDraft(
            actor: actor, action: "session.start", subject: session.id,
            details: [
                "person": .string(session.personID), "identity": .string(session.identity.description), "signin": .string(session.signIn),
                "expires_at": .string(UTC.format(session.expiresAt)),
            ])
    }

    public static func sessionEnd(actor: String, _ session: GateSession, reason: String) -> AuditDraft {
        AuditDraft(
            actor: actor, action: "session.end", subject: session.id,
            details: ["person": .string(session.personID), "identity": .string(session.identity.description), "reason": .string(reason)])
    }

    /// The server's hourly record of the time, where editing cannot take it back.
    public static func clockObserve(replica: String) -> AuditDraft {
        AuditDraft(actor: "system", action: "clock.observe", subject: "clock", details: ["replica": .string(replica)])
    }

    public static func clockReset(actor: String, to time: Date, previous: Date?, reason: String?) -> AuditDraft {
        AuditDraft(
            actor: actor, action: "clock.reset", subject: "clock",
            details: [
                "previous_latest_seen": .optional(previous.map { UTC.format($0) }), "latest_seen": .string(UTC.format(time)),
                "reason": .optional(reason),
            ])
    }
}

extension DirectoryPlan {
    /// Someone gone from the directory (their seat release and session ends are audited too).
    public static func leaveAudit(_ person: StoredDirectoryPerson, actor: String, source: Provider = .ldap) -> AuditDraft {
        AuditDraft(
            actor: actor, action: "directory.person.leave", subject: person.personID,
            details: ["identity": .string(source.rawValue + ":" + person.uid), "from": .string(person.status.rawValue)])
    }

    public static func updateAudit(_ update: Update, actor: String, source: Provider = .ldap) -> AuditDraft {
        AuditDraft(
            actor: actor, action: "directory.person.update", subject: update.stored.personID,
            details: ["identity": .string(source.rawValue + ":" + update.person.uid), "changes": .array(update.changes.map { .string($0) })])
    }

    /// The identity of a recycled uid's former holder, moved aside.
    public static func recycledAudit(_ addition: Addition, aside: String, actor: String, source: Provider = .ldap) -> AuditDraft {
        AuditDraft(
            actor: actor, action: "identity.update", subject: source.rawValue + ":" + addition.person.uid,
            details: ["username": .string(aside), "reason": "uid recycled"])
    }

    public static func addAudit(_ addition: Addition, personID: String, linked: Bool, actor: String, source: Provider = .ldap) -> AuditDraft {
        let p = addition.person
        return AuditDraft(
            actor: actor, action: "directory.person.add", subject: personID,
            details: [
                "identity": .string(source.rawValue + ":" + p.uid), "email": .optional(p.email), "linked": .bool(linked),
                "groups": .array(p.groups.sorted().map { .string($0) }),
            ])
    }

    public static func membershipAudit(_ change: MembershipChange, actor: String, source: Provider = .ldap) -> AuditDraft {
        AuditDraft(
            actor: actor, action: "directory.membership", subject: change.personID,
            details: [
                "identity": .string(source.rawValue + ":" + change.uid), "added": .array(change.added.sorted().map { .string($0) }),
                "removed": .array(change.removed.sorted().map { .string($0) }),
            ])
    }

    /// A re-key adopted (`ldap sync --rekey`), if this plan is one.
    public func rekeyAudit(actor: String) -> AuditDraft? {
        guard rekey, stableIDChanges > 0 else { return nil }
        return AuditDraft(
            actor: actor, action: "directory.rekey", subject: "ldap",
            details: ["people": .int(Int64(stableIDChanges)), "directory_people": .int(Int64(directoryPeople))])
    }

    /// The sync itself, with its counts.
    public func syncAudit(actor: String) -> AuditDraft {
        AuditDraft(
            actor: actor, action: "directory.sync", subject: "ldap",
            details: [
                "added": .int(Int64(added.count)), "updated": .int(Int64(updated.count)), "left": .int(Int64(left.count)),
                "memberships_changed": .int(Int64(memberships.count)), "people": .int(Int64(directoryPeople)),
                "groups": .int(Int64(directoryGroups)), "rekeyed": .int(Int64(rekey ? stableIDChanges : 0)),
            ])
    }
}

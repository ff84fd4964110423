import Foundation
import GatehouseDomain
import GatehouseStorage

/// A change an identity needs before deciding: rare (renames, first sight of a stable id,
/// a username taken over by another account), written outside the memory lock.
enum IdentityUpdate: Sendable {
    /// Same stable id, new username; a different identity squatting on the new name is moved aside.
    case rename(IdentityRecord, to: IdentityRef, externalID: String, squatter: IdentityRecord?)
    /// The stable id is seen for the first time.
    case setExternalID(IdentityRecord, String)
    /// The username now belongs to another account (another stable id).
    case moveAside(IdentityRecord)
}

/// Everything a decision needs from memory, gathered in one read.
struct DecisionInputs: Sendable {
    var identity: IdentityRecord?
    var update: IdentityUpdate?
    /// The existing person a new identity joins (by email or template).
    var linkTo: String?
    var facts: PersonFacts?
    var verdict: Verdict
    var role: Role
    /// Whether the request's org/team claims differ from those stored for the identity.
    var claimsChanged: Bool
    /// Whether the person's last-seen time is stale enough to be worth writing.
    var noteSeen: Bool = false
}

/// Last-seen times feed idle-seat release, counted in days: a time is written only when the
/// stored one is older than this, so busy instances do not rewrite every row every few seconds.
let lastSeenResolution: TimeInterval = 3600

extension PeopleIndex {
    /// Finds an identity: by the provider's stable id first (a rename keeps the identity and
    /// its seat), then by username; says what must be written first, if anything.
    func lookup(_ ref: IdentityRef, externalID: String?) -> (IdentityRecord?, IdentityUpdate?) {
        if let externalID, let found = identity(provider: ref.provider, externalID: externalID) {
            // Usernames compare case-insensitively: only a real rename is written.
            guard found.ref.key != ref.key else { return (found, nil) }
            let squatter = identity(ref).flatMap { $0.id == found.id ? nil : $0 }
            let renamed = IdentityRecord(id: found.id, ref: ref, externalID: externalID, email: found.email, personID: found.personID)
            return (renamed, .rename(found, to: ref, externalID: externalID, squatter: squatter))
        }
        guard let found = identity(ref) else { return (nil, nil) }
        switch (found.externalID, externalID) {
        case (let stored?, let given?) where stored != given:
            return (nil, .moveAside(found))
        case (nil, let given?):
            let updated = IdentityRecord(id: found.id, ref: found.ref, externalID: given, email: found.email, personID: found.personID)
            return (updated, .setExternalID(found, given))
        default:
            return (found, nil)
        }
    }

    /// The person a new identity belongs to under `policies/identity.yml`: same email, or the
    /// directory person named by the provider's username template.
    func linkCandidate(_ ref: IdentityRef, email: String?, policy: IdentityPolicy) -> String? {
        if policy.linkBy.contains(.email), let email, let personID = personID(email: email) { return personID }
        if let uid = policy.directoryUID(for: ref),
            let directory = identity(IdentityRef(provider: .ldap, username: uid)) ?? identity(IdentityRef(provider: .scim, username: uid))
        {
            return directory.personID
        }
        return nil
    }
}

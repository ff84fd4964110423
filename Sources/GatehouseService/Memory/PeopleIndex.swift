import Foundation
import GatehouseDomain
import GatehouseStorage

/// People, identities and memberships indexed for decisions, held in memory: a login decision
/// reads only this, and the database is touched only to change state.
public struct PeopleIndex: Sendable {
    private(set) var persons: [String: PersonRecord] = [:]
    private(set) var identityByKey: [String: IdentityRecord] = [:]
    /// Stable id → identity key, per provider (no string building on lookup).
    private(set) var identityByExternal: [Provider: [String: String]] = [:]
    private(set) var identityKeyByID: [Int64: String] = [:]
    private(set) var identityKeysByPerson: [String: Set<String>] = [:]
    private(set) var memberships: [Int64: Set<MembershipRecord>] = [:]
    private(set) var personByEmail: [String: String] = [:]
    /// Live gate sessions by the hash of their secret, and that hash by session id.
    private(set) var sessions: [String: GateSession] = [:]
    private(set) var sessionHashByID: [String: String] = [:]
    public private(set) var auditSeq: Int64 = 0
    /// Counts changes to people, identities and memberships (not last-seen times or sessions):
    /// what is derived from them (the console's name order) is remade when it moves.
    /// Starts at random, so that an index rebuilt from the database never repeats an old one's.
    public private(set) var peopleVersion = UInt64.random(in: 0...UInt64.max)

    public init() {}

    public init(_ snapshot: PeopleSnapshot) {
        for person in snapshot.persons { upsert(person) }
        for identity in snapshot.identities { upsert(identity) }
        for m in snapshot.memberships { memberships[m.identityID, default: []].insert(m) }
        for session in snapshot.sessions { insert(session) }
        auditSeq = snapshot.auditSeq
    }

    /// Takes the stored state of some people (from `peopleChanges`): each person, all their
    /// identities and all those identities' memberships replace what memory held for them.
    public mutating func apply(_ changes: PeopleSnapshot) {
        peopleVersion &+= 1
        for person in changes.persons { upsert(person) }
        var byIdentity: [Int64: Set<MembershipRecord>] = [:]
        for m in changes.memberships { byIdentity[m.identityID, default: []].insert(m) }
        for identity in changes.identities {
            upsert(identity)
            memberships[identity.id] = byIdentity[identity.id]
        }
        for session in changes.sessions { insert(session) }
        for id in changes.endedSessions { removeSession(id: id) }
        advance(to: changes.auditSeq)
    }

    // MARK: gate sessions

    public func session(hash: String) -> GateSession? { sessions[hash] }
    public func session(id: String) -> GateSession? { sessionHashByID[id].flatMap { sessions[$0] } }
    public var sessionCount: Int { sessions.count }

    public mutating func insert(_ session: GateSession) {
        sessions[session.tokenHash] = session
        sessionHashByID[session.id] = session.tokenHash
    }

    public mutating func removeSession(id: String) {
        guard let hash = sessionHashByID.removeValue(forKey: id) else { return }
        sessions[hash] = nil
    }

    /// Moves a session's last-seen time forward (never back).
    public mutating func touchSession(hash: String, at time: Date) {
        guard let current = sessions[hash]?.lastSeenAt, current < time else { return }
        sessions[hash]?.lastSeenAt = time
    }

    public func person(_ id: String) -> PersonRecord? { persons[id] }
    public var allPersons: Dictionary<String, PersonRecord>.Values { persons.values }
    public func identity(_ ref: IdentityRef) -> IdentityRecord? { identityByKey[ref.key] }
    public func identity(provider: Provider, externalID: String) -> IdentityRecord? {
        identityByExternal[provider]?[externalID].flatMap { identityByKey[$0] }
    }
    public func personID(email: String) -> String? { personByEmail[email.lowercased()] }
    public func identities(of personID: String) -> [IdentityRecord] {
        (identityKeysByPerson[personID] ?? []).compactMap { identityByKey[$0] }.sorted { $0.ref.key < $1.ref.key }
    }
    public func memberships(of identityID: Int64) -> Set<MembershipRecord> { memberships[identityID] ?? [] }

    /// The orgs and teams an identity counts as belonging to: `orgs`/`teams` (a request's
    /// claims), plus memberships learned from webhooks and the directory; a removal reported
    /// by a webhook outranks any claim. Claims stored from earlier requests may be stale and
    /// count only when `includeStoredClaims`.
    public func effectiveMemberships(
        of identityID: Int64?, orgs: Set<String> = [], teams: Set<String> = [], includeStoredClaims: Bool
    ) -> (orgs: Set<String>, teams: Set<String>) {
        var orgs = orgs, teams = teams
        let all = identityID.map { memberships(of: $0) } ?? []
        for m in all where m.present && (includeStoredClaims || m.source != .request) {
            if m.kind == .team { teams.insert(m.name) } else { orgs.insert(m.name) }
        }
        for m in all where !m.present {
            if m.kind == .team { teams.remove(m.name) } else { orgs.remove(m.name) }
        }
        return (orgs, teams)
    }

    /// The orgs and teams of a sign-in that just read them from the provider: the fresh,
    /// verified `orgs`/`teams`, plus what the directory and webhooks say. Memberships stored by
    /// earlier sign-ins (stale now) and request claims (unverified) do not count, and an older
    /// webhook removal does not outweigh what the provider has just said.
    public func verifiedMemberships(of identityID: Int64?, orgs: Set<String>, teams: Set<String>) -> (orgs: Set<String>, teams: Set<String>)
    {
        var orgs = orgs, teams = teams
        for m in identityID.map({ memberships(of: $0) }) ?? [] where m.present && (m.source == .ldap || m.source == .webhook) {
            if m.kind == .team { teams.insert(m.name) } else { orgs.insert(m.name) }
        }
        return (orgs, teams)
    }

    /// Whether the gate's sign-in has recorded memberships read from the provider for this identity.
    public func hasVerifiedMemberships(_ identityID: Int64?) -> Bool {
        identityID.map { memberships(of: $0).contains { $0.source == .signin } } ?? false
    }

    /// What the deciders need to know about a person.
    public func facts(_ personID: String) -> PersonFacts? {
        guard let person = persons[personID] else { return nil }
        var inLDAP = false, inSCIM = false
        var groups = Set<String>(), scimGroups = Set<String>()
        for key in identityKeysByPerson[personID] ?? [] {
            if key.hasPrefix("ldap:"), let identity = identityByKey[key] {
                inLDAP = true
                for m in memberships[identity.id] ?? [] where m.kind == .group && m.present { groups.insert(m.name) }
            } else if key.hasPrefix("scim:"), let identity = identityByKey[key] {
                inSCIM = true
                for m in memberships[identity.id] ?? [] where m.kind == .group && m.present { scimGroups.insert(m.name) }
            }
        }
        return PersonFacts(
            id: person.id, status: person.status, seat: person.seat, role: person.role, inLDAP: inLDAP, directoryGroups: groups,
            inSCIM: inSCIM, scimGroups: scimGroups)
    }

    // MARK: changes made by this process, applied as they commit

    /// Follows a committed plan of the people rules, step by step, as storage carried it out:
    /// the one way a seat, status or identity change of this process reaches memory.
    public mutating func apply(_ committed: CommittedPeoplePlan) {
        peopleVersion &+= 1
        // Stored times have millisecond precision; memory holds what a reload would read.
        let at = UTC.parseTimestamp(UTC.format(committed.at, milliseconds: true)) ?? committed.at
        var created = committed.created.makeIterator()
        // Whose sessions end: gathered, then one pass over the sessions (a dormant sweep ends
        // the sessions of many people at once).
        var signedOut = Set<String>()
        defer {
            if !signedOut.isEmpty {
                for session in sessions.values where signedOut.contains(session.personID) { removeSession(id: session.id) }
            }
        }
        for step in committed.plan.steps {
            switch step {
            case .createPerson(let id, let name, let email):
                upsert(
                    PersonRecord(
                        id: id, name: name, email: email, role: .user, status: .active, seat: .none, lastSeenAt: nil, createdAt: at))
            case .createIdentity:
                if let identity = created.next() { upsert(identity) }
            case .moveIdentity(let id, let personID):
                if let key = identityKeyByID[id], var identity = identityByKey[key] {
                    identity.personID = personID
                    upsert(identity)
                }
            case .renameIdentity(let id, let username, let externalID):
                if let key = identityKeyByID[id], let old = identityByKey[key] {
                    upsert(
                        IdentityRecord(
                            id: id, ref: IdentityRef(provider: old.ref.provider, username: username), externalID: externalID,
                            email: old.email,
                            personID: old.personID))
                }
            case .deleteIdentity(let id):
                remove(identityID: id)
                memberships[id] = nil
            case .setSeat(let personID, let active, _, _, _):
                setSeat(personID, active ? .active : .none)
            case .setStatus(let personID, let status):
                setStatus(personID, status)
            case .replaceMemberships(let identityID, let source, let set):
                setMemberships(identityID, source: source, set)
            case .endSessions(let personID, _, _):
                signedOut.insert(personID)
            case .audit, .fileSeatRequest, .removeSeatRequest:
                break
            }
        }
    }

    public mutating func upsert(_ person: PersonRecord) {
        peopleVersion &+= 1
        if let old = persons[person.id]?.email?.lowercased(), personByEmail[old] == person.id { personByEmail[old] = nil }
        persons[person.id] = person
        if let email = person.email?.lowercased(), !email.isEmpty { personByEmail[email] = person.id }
    }

    public mutating func upsert(_ identity: IdentityRecord) {
        peopleVersion &+= 1
        remove(identityID: identity.id)
        identityByKey[identity.ref.key] = identity
        identityKeyByID[identity.id] = identity.ref.key
        identityKeysByPerson[identity.personID, default: []].insert(identity.ref.key)
        if let external = identity.externalID { identityByExternal[identity.ref.provider, default: [:]][external] = identity.ref.key }
        if let email = identity.email?.lowercased(), !email.isEmpty, personByEmail[email] == nil {
            personByEmail[email] = identity.personID
        }
    }

    public mutating func remove(identityID: Int64) {
        peopleVersion &+= 1
        guard let key = identityKeyByID.removeValue(forKey: identityID), let old = identityByKey[key] else { return }
        identityByKey[old.ref.key] = nil
        identityKeysByPerson[old.personID]?.remove(old.ref.key)
        if let external = old.externalID { identityByExternal[old.ref.provider]?[external] = nil }
    }

    /// Records one membership, replacing the one from the same source.
    public mutating func setMembership(_ m: MembershipRecord) {
        peopleVersion &+= 1
        var set = (memberships[m.identityID] ?? []).filter { !($0.kind == m.kind && $0.name == m.name && $0.source == m.source) }
        set.insert(m)
        memberships[m.identityID] = set
    }

    public mutating func setMemberships(_ identityID: Int64, source: MembershipSource, _ set: Set<MembershipRecord>) {
        peopleVersion &+= 1
        memberships[identityID] = (memberships[identityID] ?? []).filter { $0.source != source }.union(set)
    }

    /// Marks the state version memory reflects.
    public mutating func advance(to seq: Int64) { auditSeq = max(auditSeq, seq) }

    public mutating func setLastSeen(_ personID: String, _ time: Date) {
        if let current = persons[personID]?.lastSeenAt, current >= time { return }
        persons[personID]?.lastSeenAt = time
    }

    public mutating func setSeat(_ personID: String, _ seat: SeatState) {
        peopleVersion &+= 1
        persons[personID]?.seat = seat
    }
    public mutating func setStatus(_ personID: String, _ status: PersonStatus) {
        peopleVersion &+= 1
        persons[personID]?.status = status
        if status != .active { persons[personID]?.seat = .none }
    }
}

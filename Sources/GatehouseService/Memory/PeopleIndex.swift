import Foundation
import GatehouseDomain
import GatehouseStorage

/// One membership as memory holds it: a `MembershipRecord` without its identity, so that the
/// many identities with the same memberships share one set (see `MembershipSets`).
public struct HeldMembership: Sendable, Hashable {
    public var kind: MembershipKind
    public var name: String
    public var source: MembershipSource
    public var present: Bool

    init(_ m: MembershipRecord) {
        kind = m.kind
        name = m.name
        source = m.source
        present = m.present
    }

    func record(of identityID: Int64) -> MembershipRecord {
        MembershipRecord(identityID: identityID, kind: kind, name: name, source: source, present: present)
    }
}

/// The distinct membership sets of all identities, each held once and counted: a million
/// people of the same orgs and teams share one set rather than a million copies.
struct MembershipSets: Sendable {
    private var sets: ContiguousArray<Set<HeldMembership>> = []
    private var references: ContiguousArray<Int32> = []
    private var idBySet: [Set<HeldMembership>: Int32] = [:]
    private var vacant: [Int32] = []

    /// The set `id` stands for (`-1`: none).
    subscript(id: Int32) -> Set<HeldMembership> { id < 0 ? [] : sets[Int(id)] }

    /// One more holder of `set`: its id (`-1` for the empty set).
    mutating func retain(_ set: Set<HeldMembership>) -> Int32 {
        guard !set.isEmpty else { return -1 }
        if let id = idBySet[set] { return retain(id: id) }
        let id: Int32
        if let reused = vacant.popLast() {
            id = reused
            sets[Int(id)] = set
            references[Int(id)] = 1
        } else {
            id = Int32(sets.count)
            sets.append(set)
            references.append(1)
        }
        idBySet[set] = id
        return id
    }

    /// One more holder of the set `id` (which has one already).
    mutating func retain(id: Int32) -> Int32 {
        references[Int(id)] += 1
        return id
    }

    /// One holder fewer of set `id`; forgotten with its last.
    mutating func release(_ id: Int32) {
        guard id >= 0 else { return }
        references[Int(id)] -= 1
        guard references[Int(id)] == 0 else { return }
        idBySet[sets[Int(id)]] = nil
        sets[Int(id)] = []
        vacant.append(id)
    }

    /// Distinct sets held.
    var count: Int { idBySet.count }
}

/// People, identities and memberships indexed for decisions, held in memory: a login decision
/// reads only this, and the database is touched only to change state.
///
/// Compact for a million people (issue 20): people and identities are rows in flat arrays,
/// found through dictionaries of row numbers; an identity names its person's row (and shares
/// its id string) rather than holding a copy; a person's identities are a chain through their
/// rows; memberships are shared sets (`MembershipSets`).
public struct PeopleIndex: Sendable {
    struct PersonRow: Sendable {
        var record: PersonRecord
        /// First of the person's identities (a chain through `IdentityRow.nextOfPerson`); -1: none.
        var firstIdentity: Int32 = -1
        /// `false`: only an identity has named this person so far (its record has not arrived).
        var known: Bool
    }

    struct IdentityRow: Sendable {
        var record: IdentityRecord
        /// The person's row; -1: this row is vacant (the identity was removed).
        var person: Int32
        var nextOfPerson: Int32
        /// The identity's memberships (`MembershipSets`); -1: none.
        var memberships: Int32
    }

    /// People are never removed (one who leaves keeps a record with status `left`).
    private var personRows: ContiguousArray<PersonRow> = []
    private var personRowByID: [String: Int32] = [:]
    private var knownPersons = 0
    private var identityRows: ContiguousArray<IdentityRow> = []
    private var vacantIdentityRows: [Int32] = []
    private var identityRowByKey: [String: Int32] = [:]
    private var identityRowByID: [Int64: Int32] = [:]
    /// Stable id → identity row, per provider (`providerSlot`).
    private var identityRowByExternal: [[String: Int32]] = Array(repeating: [:], count: Provider.allCases.count)
    private var personRowByEmail: [String: Int32] = [:]
    private(set) var membershipSets = MembershipSets()
    /// Memberships recorded for an identity memory does not hold (yet).
    private var membershipsOfUnknown: [Int64: Set<HeldMembership>] = [:]
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
        load(.sizes(persons: snapshot.persons.count, identities: snapshot.identities.count, memberships: snapshot.memberships.count))
        load(.persons(snapshot.persons))
        load(.identities(snapshot.identities))
        load(.memberships(snapshot.memberships))
        load(.sessions(snapshot.sessions))
        auditSeq = snapshot.auditSeq
    }

    /// Takes one part of a whole load (`PeopleStore.loadPeople`), in the order they come.
    public mutating func load(_ part: PeopleLoadPart) {
        switch part {
        case .sizes(let persons, let identities, _):
            personRows.reserveCapacity(persons)
            personRowByID.reserveCapacity(persons)
            identityRows.reserveCapacity(identities)
            identityRowByKey.reserveCapacity(identities)
            identityRowByID.reserveCapacity(identities)
        case .persons(let persons):
            for person in persons { upsert(person) }
        case .identities(let identities):
            for identity in identities { upsert(identity) }
        case .memberships(let memberships):
            // Rows come grouped by identity as they were written; each run is merged into what
            // the identity holds, so a run split between parts, or an interleaved order, gives
            // the same sets (only slower).
            var start = memberships.startIndex
            while start < memberships.endIndex {
                var end = start + 1
                while end < memberships.endIndex, memberships[end].identityID == memberships[start].identityID { end += 1 }
                addMemberships(memberships[start..<end])
                start = end
            }
        case .sessions(let sessions):
            for session in sessions { insert(session) }
        }
    }

    /// The person row of the identity stored last (see `upsert(_:IdentityRecord)`).
    private var lastIdentityPerson: Int32 = -1
    /// The set the last run of a load went to: most identities hold the same as the one before.
    private var lastLoadedSet: Int32 = -1

    private mutating func addMemberships(_ run: ArraySlice<MembershipRecord>) {
        guard let identityID = run.first?.identityID else { return }
        if let row = identityRowByID[identityID], identityRows[Int(row)].memberships < 0 {
            let last = membershipSets[lastLoadedSet]
            if last.count == run.count, run.allSatisfy({ last.contains(HeldMembership($0)) }) {
                identityRows[Int(row)].memberships = membershipSets.retain(id: lastLoadedSet)
                return
            }
        }
        var held = heldMemberships(of: identityID)
        for m in run { held.insert(HeldMembership(m)) }
        replaceMemberships(of: identityID, with: held)
        if let row = identityRowByID[identityID] { lastLoadedSet = identityRows[Int(row)].memberships }
    }

    /// Takes the stored state of some people (from `peopleChanges`): each person, all their
    /// identities and all those identities' memberships replace what memory held for them.
    public mutating func apply(_ changes: PeopleSnapshot) {
        peopleVersion &+= 1
        for person in changes.persons { upsert(person) }
        var byIdentity: [Int64: Set<HeldMembership>] = [:]
        for m in changes.memberships { byIdentity[m.identityID, default: []].insert(HeldMembership(m)) }
        for identity in changes.identities {
            upsert(identity)
            replaceMemberships(of: identity.id, with: byIdentity[identity.id] ?? [])
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

    public func person(_ id: String) -> PersonRecord? {
        guard let row = personRowByID[id], personRows[Int(row)].known else { return nil }
        return personRows[Int(row)].record
    }
    /// Every person memory holds, in the order they were learned.
    public var allPersons: some Sequence<PersonRecord> { personRows.lazy.filter(\.known).map(\.record) }
    public var personCount: Int { knownPersons }
    public func identity(_ ref: IdentityRef) -> IdentityRecord? { identityRowByKey[ref.key].map { identityRows[Int($0)].record } }
    public func identity(provider: Provider, externalID: String) -> IdentityRecord? {
        identityRowByExternal[Self.providerSlot(provider)][externalID].map { identityRows[Int($0)].record }
    }
    public func personID(email: String) -> String? { personRowByEmail[email.lowercased()].map { personRows[Int($0)].record.id } }
    public func identities(of personID: String) -> [IdentityRecord] {
        guard let row = personRowByID[personID] else { return [] }
        var out: [IdentityRecord] = []
        forEachIdentity(ofPersonRow: row) { out.append(identityRows[Int($0)].record) }
        return out.sorted { $0.ref.key < $1.ref.key }
    }
    public func memberships(of identityID: Int64) -> Set<MembershipRecord> {
        Set(heldMemberships(of: identityID).map { $0.record(of: identityID) })
    }
    /// An identity's memberships as held (shared, nothing copied): what decisions read.
    public func heldMemberships(of identityID: Int64) -> Set<HeldMembership> {
        guard let row = identityRowByID[identityID] else { return membershipsOfUnknown[identityID] ?? [] }
        return membershipSets[identityRows[Int(row)].memberships]
    }

    private func forEachIdentity(ofPersonRow row: Int32, _ body: (Int32) -> Void) {
        var next = personRows[Int(row)].firstIdentity
        while next >= 0 {
            body(next)
            next = identityRows[Int(next)].nextOfPerson
        }
    }

    static func providerSlot(_ provider: Provider) -> Int {
        switch provider {
        case .github: 0
        case .githubEnterprise: 1
        case .gitlab: 2
        case .gitlabEnterprise: 3
        case .bitbucket: 4
        case .bitbucketServer: 5
        case .ldap: 6
        case .oidc: 7
        case .scim: 8
        }
    }

    /// The orgs and teams an identity counts as belonging to: `orgs`/`teams` (a request's
    /// claims), plus memberships learned from webhooks and the directory; a removal reported
    /// by a webhook outranks any claim. Claims stored from earlier requests may be stale and
    /// count only when `includeStoredClaims`.
    public func effectiveMemberships(
        of identityID: Int64?, orgs: Set<String> = [], teams: Set<String> = [], includeStoredClaims: Bool
    ) -> (orgs: Set<String>, teams: Set<String>) {
        var orgs = orgs, teams = teams
        let all = identityID.map { heldMemberships(of: $0) } ?? []
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
        for m in identityID.map({ heldMemberships(of: $0) }) ?? [] where m.present && (m.source == .ldap || m.source == .webhook) {
            if m.kind == .team { teams.insert(m.name) } else { orgs.insert(m.name) }
        }
        return (orgs, teams)
    }

    /// Whether the gate's sign-in has recorded memberships read from the provider for this identity.
    public func hasVerifiedMemberships(_ identityID: Int64?) -> Bool {
        identityID.map { heldMemberships(of: $0).contains { $0.source == .signin } } ?? false
    }

    /// What the deciders need to know about a person.
    public func facts(_ personID: String) -> PersonFacts? {
        guard let row = personRowByID[personID], personRows[Int(row)].known else { return nil }
        let person = personRows[Int(row)].record
        var inLDAP = false, inSCIM = false
        var groups = Set<String>(), scimGroups = Set<String>()
        forEachIdentity(ofPersonRow: row) { slot in
            let identity = identityRows[Int(slot)]
            switch identity.record.ref.provider {
            case .ldap:
                inLDAP = true
                for m in membershipSets[identity.memberships] where m.kind == .group && m.present { groups.insert(m.name) }
            case .scim:
                inSCIM = true
                for m in membershipSets[identity.memberships] where m.kind == .group && m.present { scimGroups.insert(m.name) }
            default:
                break
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
        let at = UTC.asStored(committed.at)
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
                if var identity = identityRowByID[id].map({ identityRows[Int($0)].record }) {
                    identity.personID = personID
                    upsert(identity)
                }
            case .renameIdentity(let id, let username, let externalID):
                if let old = identityRowByID[id].map({ identityRows[Int($0)].record }) {
                    upsert(
                        IdentityRecord(
                            id: id, ref: IdentityRef(provider: old.ref.provider, username: username), externalID: externalID,
                            email: old.email,
                            personID: old.personID))
                }
            case .deleteIdentity(let id):
                remove(identityID: id)
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

    /// The row of person `id`: a new one, not yet `known`, when no record has named them.
    private mutating func personRow(_ id: String) -> Int32 {
        let next = Int32(personRows.count)
        let row = Self.valueInserting(&personRowByID[id, default: next])
        if row == next {
            personRows.append(
                PersonRow(
                    record: PersonRecord(
                        id: id, name: "", email: nil, role: .user, status: .active, seat: .none, lastSeenAt: nil, createdAt: .distantPast),
                    known: false))
        }
        return row
    }

    /// The value of a `dictionary[key, default: new]` access, which stores `new` when the key
    /// is absent: a look-up and an insertion for one hash of the key (a load does millions).
    @inline(__always) private static func valueInserting(_ value: inout Int32) -> Int32 { value }

    public mutating func upsert(_ person: PersonRecord) {
        peopleVersion &+= 1
        let next = Int32(personRows.count)
        let row = Self.valueInserting(&personRowByID[person.id, default: next])
        if row == next {
            // Someone new (a whole load is all of these).
            personRows.append(PersonRow(record: person, known: true))
            knownPersons += 1
        } else {
            let old = personRows[Int(row)]
            if old.known, let email = old.record.email?.lowercased(), personRowByEmail[email] == row { personRowByEmail[email] = nil }
            if !old.known { knownPersons += 1 }
            var person = person
            person.id = old.record.id  // one string for the person's id, shared by their identities
            personRows[Int(row)].record = person
            personRows[Int(row)].known = true
        }
        if let email = person.email?.lowercased(), !email.isEmpty { personRowByEmail[email] = row }
    }

    public mutating func upsert(_ identity: IdentityRecord) {
        peopleVersion &+= 1
        // Identities are mostly stored in the order of their people (created together): the
        // next one's person is usually the row after the last one's, checked before hashing.
        let guess = Int(lastIdentityPerson) + 1
        let person =
            guess < personRows.count && personRows[guess].record.id == identity.personID ? Int32(guess) : personRow(identity.personID)
        lastIdentityPerson = person
        var identity = identity
        identity.personID = personRows[Int(person)].record.id
        let free = vacantIdentityRows.last ?? Int32(identityRows.count)
        let row = Self.valueInserting(&identityRowByID[identity.id, default: free])
        if row != free {
            unlinkKeys(row)
            if identityRows[Int(row)].person != person {
                unlinkFromPerson(row)
                identityRows[Int(row)].person = person
                identityRows[Int(row)].nextOfPerson = personRows[Int(person)].firstIdentity
                personRows[Int(person)].firstIdentity = row
            }
            identityRows[Int(row)].record = identity
        } else {
            let memberships = membershipSets.retain(membershipsOfUnknown.removeValue(forKey: identity.id) ?? [])
            let new = IdentityRow(
                record: identity, person: person, nextOfPerson: personRows[Int(person)].firstIdentity, memberships: memberships)
            if row == vacantIdentityRows.last {
                vacantIdentityRows.removeLast()
                identityRows[Int(row)] = new
            } else {
                identityRows.append(new)
            }
            personRows[Int(person)].firstIdentity = row
        }
        identityRowByKey[identity.ref.key] = row
        if let external = identity.externalID { identityRowByExternal[Self.providerSlot(identity.ref.provider)][external] = row }
        if let email = identity.email?.lowercased(), !email.isEmpty, personRowByEmail[email] == nil {
            personRowByEmail[email] = person
        }
    }

    /// Forgets an identity and its memberships.
    public mutating func remove(identityID: Int64) {
        peopleVersion &+= 1
        membershipsOfUnknown[identityID] = nil
        guard let row = identityRowByID.removeValue(forKey: identityID) else { return }
        unlinkKeys(row)
        unlinkFromPerson(row)
        membershipSets.release(identityRows[Int(row)].memberships)
        identityRows[Int(row)] = IdentityRow(record: Self.vacantIdentity, person: -1, nextOfPerson: -1, memberships: -1)
        vacantIdentityRows.append(row)
    }

    private static let vacantIdentity = IdentityRecord(
        id: 0, ref: IdentityRef(provider: .github, username: ""), externalID: nil, email: nil, personID: "")

    /// Removes the row's username and stable id from the look-ups (where they still lead to it).
    private mutating func unlinkKeys(_ row: Int32) {
        let old = identityRows[Int(row)].record
        if identityRowByKey[old.ref.key] == row { identityRowByKey[old.ref.key] = nil }
        let provider = Self.providerSlot(old.ref.provider)
        if let external = old.externalID, identityRowByExternal[provider][external] == row {
            identityRowByExternal[provider][external] = nil
        }
    }

    private mutating func unlinkFromPerson(_ row: Int32) {
        let person = identityRows[Int(row)].person
        guard person >= 0 else { return }
        let next = identityRows[Int(row)].nextOfPerson
        if personRows[Int(person)].firstIdentity == row {
            personRows[Int(person)].firstIdentity = next
            return
        }
        var previous = personRows[Int(person)].firstIdentity
        while previous >= 0 {
            if identityRows[Int(previous)].nextOfPerson == row {
                identityRows[Int(previous)].nextOfPerson = next
                return
            }
            previous = identityRows[Int(previous)].nextOfPerson
        }
    }

    private mutating func replaceMemberships(of identityID: Int64, with set: Set<HeldMembership>) {
        guard let row = identityRowByID[identityID] else {
            membershipsOfUnknown[identityID] = set.isEmpty ? nil : set
            return
        }
        let id = membershipSets.retain(set)
        membershipSets.release(identityRows[Int(row)].memberships)
        identityRows[Int(row)].memberships = id
    }

    /// Records one membership, replacing the one from the same source.
    public mutating func setMembership(_ m: MembershipRecord) {
        peopleVersion &+= 1
        var set = heldMemberships(of: m.identityID).filter { !($0.kind == m.kind && $0.name == m.name && $0.source == m.source) }
        set.insert(HeldMembership(m))
        replaceMemberships(of: m.identityID, with: set)
    }

    public mutating func setMemberships(_ identityID: Int64, source: MembershipSource, _ set: Set<MembershipRecord>) {
        peopleVersion &+= 1
        var held = heldMemberships(of: identityID).filter { $0.source != source }
        for m in set { held.insert(HeldMembership(m)) }
        replaceMemberships(of: identityID, with: held)
    }

    /// Marks the state version memory reflects.
    public mutating func advance(to seq: Int64) { auditSeq = max(auditSeq, seq) }

    public mutating func setLastSeen(_ personID: String, _ time: Date) {
        guard let row = personRowByID[personID], personRows[Int(row)].known else { return }
        if let current = personRows[Int(row)].record.lastSeenAt, current >= time { return }
        personRows[Int(row)].record.lastSeenAt = time
    }

    public mutating func setSeat(_ personID: String, _ seat: SeatState) {
        peopleVersion &+= 1
        guard let row = personRowByID[personID], personRows[Int(row)].known else { return }
        personRows[Int(row)].record.seat = seat
    }
    public mutating func setStatus(_ personID: String, _ status: PersonStatus) {
        peopleVersion &+= 1
        guard let row = personRowByID[personID], personRows[Int(row)].known else { return }
        personRows[Int(row)].record.status = status
        if status != .active { personRows[Int(row)].record.seat = .none }
    }

    // MARK: what the divergence check compares

    /// People by id (those whose record memory holds).
    var personsByID: [String: PersonRecord] {
        Dictionary(personRows.lazy.filter(\.known).map { ($0.record.id, $0.record) }, uniquingKeysWith: { a, _ in a })
    }
    /// Identities by `provider:username` key, as the look-up finds them.
    var identitiesByKey: [String: IdentityRecord] { identityRowByKey.mapValues { identityRows[Int($0)].record } }
    /// Each person's identity keys, as their chain holds them.
    var identityKeysByPerson: [String: Set<String>] {
        var out: [String: Set<String>] = [:]
        for (id, row) in personRowByID {
            var keys = Set<String>()
            forEachIdentity(ofPersonRow: row) { keys.insert(identityRows[Int($0)].record.ref.key) }
            if !keys.isEmpty { out[id] = keys }
        }
        return out
    }
    /// Stable id → identity key, per provider.
    var identityKeysByExternal: [Provider: [String: String]] {
        var out: [Provider: [String: String]] = [:]
        for provider in Provider.allCases where !identityRowByExternal[Self.providerSlot(provider)].isEmpty {
            out[provider] = identityRowByExternal[Self.providerSlot(provider)].mapValues { identityRows[Int($0)].record.ref.key }
        }
        return out
    }
    /// Lowercased email → person id.
    var personIDsByEmail: [String: String] { personRowByEmail.mapValues { personRows[Int($0)].record.id } }
    /// Memberships by identity id (identities without any left out).
    var membershipsByIdentity: [Int64: Set<MembershipRecord>] {
        var out: [Int64: Set<MembershipRecord>] = [:]
        for (id, row) in identityRowByID where identityRows[Int(row)].memberships >= 0 { out[id] = memberships(of: id) }
        for (id, set) in membershipsOfUnknown { out[id] = Set(set.map { $0.record(of: id) }) }
        return out
    }
}

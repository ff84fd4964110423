import Foundation
import GatehouseDomain
import Testing

@testable import GatehouseService

/// The compact people index (flat rows, chains of identities, shared membership sets) against
/// a plain model of dictionaries, through random sequences of the changes memory follows.
@Suite("The people index")
struct PeopleIndexTests {
    /// What the index must answer, kept the plainest way.
    struct Model {
        var persons: [String: PersonRecord] = [:]
        var identities: [Int64: IdentityRecord] = [:]
        var memberships: [Int64: Set<MembershipRecord>] = [:]
        var emails: [String: String] = [:]

        mutating func upsert(_ person: PersonRecord) {
            if let old = persons[person.id]?.email?.lowercased(), emails[old] == person.id { emails[old] = nil }
            persons[person.id] = person
            if let email = person.email?.lowercased(), !email.isEmpty { emails[email] = person.id }
        }

        mutating func upsert(_ identity: IdentityRecord) {
            identities[identity.id] = identity
            if let email = identity.email?.lowercased(), !email.isEmpty, emails[email] == nil { emails[email] = identity.personID }
        }

        func facts(_ id: String) -> PersonFacts? {
            guard let person = persons[id] else { return nil }
            let mine = identities.values.filter { $0.personID == id }
            func groups(_ provider: Provider) -> Set<String> {
                Set(
                    mine.filter { $0.ref.provider == provider }.flatMap { memberships[$0.id] ?? [] }.filter {
                        $0.kind == .group && $0.present
                    }
                    .map(\.name))
            }
            return PersonFacts(
                id: id, status: person.status, seat: person.seat, role: person.role, inLDAP: mine.contains { $0.ref.provider == .ldap },
                directoryGroups: groups(.ldap), inSCIM: mine.contains { $0.ref.provider == .scim }, scimGroups: groups(.scim))
        }
    }

    static let personIDs = (0..<12).map { "p_\($0)" }
    static let emails: [String?] = [nil, "a@acme.test", "B@acme.test", "c@acme.test"]

    static func randomMembership(_ identityID: Int64, using rng: inout some RandomNumberGenerator) -> MembershipRecord {
        MembershipRecord(
            identityID: identityID, kind: [.org, .team, .group].randomElement(using: &rng)!,
            name: ["acme", "acme/eng", "staff", "ops"].randomElement(using: &rng)!,
            source: [.request, .webhook, .ldap, .scim, .signin].randomElement(using: &rng)!, present: Int.random(in: 0..<5, using: &rng) > 0
        )
    }

    @Test("answers as a plain model does, through random changes", arguments: 0..<20)
    func followsTheModel(seed: Int) throws {
        var rng = SeededGenerator(seed: UInt64(seed))
        var index = PeopleIndex()
        var model = Model()
        var renames = 0
        for _ in 0..<400 {
            let identityID = Int64.random(in: 1...30, using: &rng)
            switch Int.random(in: 0..<7, using: &rng) {
            case 0:
                let person = PersonRecord(
                    id: Self.personIDs.randomElement(using: &rng)!, name: "n\(Int.random(in: 0..<9, using: &rng))",
                    email: Self.emails.randomElement(using: &rng)!, role: .user, status: [.active, .blocked].randomElement(using: &rng)!,
                    seat: [.active, .none].randomElement(using: &rng)!, lastSeenAt: nil, createdAt: Date(timeIntervalSince1970: 0))
                index.upsert(person)
                model.upsert(person)
            case 1, 2:
                // Usernames are one identity's own (renamed to fresh ones), as storage keeps them unique.
                var username = model.identities[identityID]?.ref.username ?? "u\(identityID)"
                if Int.random(in: 0..<4, using: &rng) == 0 {
                    renames += 1
                    username = "r\(identityID)x\(renames)"
                }
                let provider = model.identities[identityID]?.ref.provider ?? [.github, .ldap, .scim].randomElement(using: &rng)!
                let identity = IdentityRecord(
                    id: identityID, ref: IdentityRef(provider: provider, username: username),
                    externalID: Bool.random(using: &rng) ? "x\(identityID)" : nil, email: Self.emails.randomElement(using: &rng)!,
                    personID: Self.personIDs.randomElement(using: &rng)!)
                index.upsert(identity)
                model.upsert(identity)
            case 3:
                index.remove(identityID: identityID)
                model.identities[identityID] = nil
                model.memberships[identityID] = nil
            case 4:
                let source = [MembershipSource.request, .ldap, .scim, .signin].randomElement(using: &rng)!
                let set = Set(
                    (0..<Int.random(in: 0...3, using: &rng)).map { _ in
                        var m = Self.randomMembership(identityID, using: &rng)
                        m.source = source
                        return m
                    })
                index.setMemberships(identityID, source: source, set)
                model.memberships[identityID] = (model.memberships[identityID] ?? []).filter { $0.source != source }.union(set)
            case 5:
                let m = Self.randomMembership(identityID, using: &rng)
                index.setMembership(m)
                var set = (model.memberships[identityID] ?? []).filter {
                    !($0.kind == m.kind && $0.name == m.name && $0.source == m.source)
                }
                set.insert(m)
                model.memberships[identityID] = set
            default:
                let id = Self.personIDs.randomElement(using: &rng)!
                let seat: SeatState = Bool.random(using: &rng) ? .active : .none
                index.setSeat(id, seat)
                model.persons[id]?.seat = seat
            }
            try expectSame(index, model)
        }
        // Rebuilt from what it holds (as a fresh load is), the index answers the same; which
        // person an email shared by several leads to depends on the order they were learned.
        let snapshot = PeopleSnapshot(
            persons: Array(model.persons.values), identities: Array(model.identities.values),
            memberships: model.memberships.values.flatMap { $0 }, auditSeq: 0)
        let rebuilt = PeopleIndex(snapshot)
        #expect(rebuilt.divergence(from: index) == [])
        var loaded = Model()
        for person in snapshot.persons { loaded.upsert(person) }
        for identity in snapshot.identities { loaded.upsert(identity) }
        loaded.memberships = model.memberships.filter { !$0.value.isEmpty }
        try expectSame(rebuilt, loaded)
    }

    func expectSame(_ index: PeopleIndex, _ model: Model) throws {
        #expect(index.personCount == model.persons.count)
        #expect(Set(index.allPersons.map(\.id)) == Set(model.persons.keys))
        for id in Self.personIDs {
            #expect(index.person(id) == model.persons[id])
            #expect(index.facts(id) == model.facts(id))
            #expect(index.identities(of: id) == model.identities.values.filter { $0.personID == id }.sorted { $0.ref.key < $1.ref.key })
        }
        for id in Int64(1)...30 {
            #expect(index.memberships(of: id) == model.memberships[id] ?? [])
            guard let identity = model.identities[id] else { continue }
            #expect(index.identity(identity.ref) == identity)
            if let external = identity.externalID {
                #expect(index.identity(provider: identity.ref.provider, externalID: external) == identity)
            }
        }
        #expect(index.identity(provider: .github, externalID: "x31") == nil)
        for email in Self.emails.compactMap({ $0 }) { #expect(index.personID(email: email) == model.emails[email.lowercased()]) }
    }

    @Test(
        "a load handed over in parts of any size, runs of memberships split between them, indexes the same", arguments: [1, 2, 3, 7, 1000])
    func loadInParts(size: Int) {
        var persons: [PersonRecord] = [], identities: [IdentityRecord] = [], memberships: [MembershipRecord] = []
        for i in 0..<40 {
            persons.append(
                PersonRecord(
                    id: "p\(i)", name: "u\(i)", email: i % 5 == 0 ? "u\(i)@acme.test" : nil, role: .user, status: .active, seat: .active,
                    lastSeenAt: nil, createdAt: Date(timeIntervalSince1970: 0)))
            identities.append(
                IdentityRecord(
                    id: Int64(i), ref: IdentityRef(provider: i % 4 == 0 ? .ldap : .github, username: "u\(i)"), externalID: "\(i)",
                    email: nil, personID: "p\(i % 30)"))
            // Most hold the same two; some more, some fewer, some none.
            memberships += MembershipClaims(identityID: nil, orgs: ["acme"], teams: i % 3 == 0 ? [] : ["acme/eng"]).records(for: Int64(i))
            if i % 4 == 0 { memberships.append(MembershipRecord(identityID: Int64(i), kind: .group, name: "staff", source: .ldap)) }
        }
        let whole = PeopleSnapshot(persons: persons, identities: identities, memberships: memberships, auditSeq: 9)
        let loader = PeopleLoader()
        loader.take(.sizes(persons: persons.count, identities: identities.count, memberships: memberships.count))
        func parts<T>(_ rows: [T]) -> [[T]] {
            stride(from: 0, to: rows.count, by: size).map { Array(rows[$0..<min($0 + size, rows.count)]) }
        }
        for part in parts(persons) { loader.take(.persons(part)) }
        for part in parts(identities) { loader.take(.identities(part)) }
        for part in parts(memberships) { loader.take(.memberships(part)) }
        loader.take(.sessions([]))
        let loaded = loader.finish(auditSeq: 9)
        let reference = PeopleIndex(whole)
        #expect(loaded.divergence(from: reference) == [])
        #expect(loaded.auditSeq == 9 && loaded.personCount == 40)
        #expect(loaded.membershipSets.count == reference.membershipSets.count)
        #expect(loaded.facts("p4")?.directoryGroups == ["staff"])
        #expect(loaded.memberships(of: 5) == MembershipClaims(identityID: nil, orgs: ["acme"], teams: ["acme/eng"]).records(for: 5))
        #expect(loaded.identities(of: "p1").map(\.id) == [1, 31])
    }

    @Test("identities of the same memberships share one set; the last holder's change frees it")
    func membershipSetsAreShared() {
        var index = PeopleIndex()
        let claims = MembershipClaims(identityID: nil, orgs: ["acme"], teams: ["acme/eng"])
        for i in 0..<1000 {
            index.upsert(
                PersonRecord(
                    id: "p\(i)", name: "u\(i)", email: nil, role: .user, status: .active, seat: .active, lastSeenAt: nil,
                    createdAt: Date(timeIntervalSince1970: 0)))
            index.upsert(
                IdentityRecord(
                    id: Int64(i), ref: IdentityRef(provider: .github, username: "u\(i)"), externalID: "\(i)", email: nil, personID: "p\(i)")
            )
            index.setMemberships(Int64(i), source: .request, claims.records(for: Int64(i)))
        }
        #expect(index.membershipSets.count == 1)
        index.setMemberships(7, source: .request, [MembershipRecord(identityID: 7, kind: .org, name: "other", source: .request)])
        #expect(index.membershipSets.count == 2)
        #expect(index.memberships(of: 7).map(\.name) == ["other"])
        #expect(index.memberships(of: 8) == claims.records(for: 8))
        index.remove(identityID: 7)
        #expect(index.membershipSets.count == 1)
        for i in 0..<1000 where i != 7 { index.remove(identityID: Int64(i)) }
        #expect(index.membershipSets.count == 0)
        #expect(index.personCount == 1000 && index.identities(of: "p3").isEmpty)
    }

    @Test("an identity may arrive before its person, and memberships before their identity")
    func orderOfArrival() {
        var index = PeopleIndex()
        index.setMemberships(5, source: .ldap, [MembershipRecord(identityID: 5, kind: .group, name: "staff", source: .ldap)])
        index.upsert(
            IdentityRecord(id: 5, ref: IdentityRef(provider: .ldap, username: "ann"), externalID: nil, email: nil, personID: "p_ann"))
        #expect(index.person("p_ann") == nil && index.facts("p_ann") == nil && index.personCount == 0)
        #expect(index.identities(of: "p_ann").map(\.id) == [5])
        index.upsert(
            PersonRecord(
                id: "p_ann", name: "Ann", email: nil, role: .user, status: .active, seat: .none, lastSeenAt: nil,
                createdAt: Date(timeIntervalSince1970: 0)))
        #expect(index.personCount == 1)
        #expect(index.facts("p_ann")?.directoryGroups == ["staff"])
        #expect(index.facts("p_ann")?.inLDAP == true)
    }
}

/// SplitMix64: the same sequence for the same seed, so a failing run can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

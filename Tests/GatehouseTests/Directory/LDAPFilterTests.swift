import GatehouseDomain
import Testing

@Suite("LDAP filters, DNs and the sync planner")
struct LDAPFilterTests {
    @Test("Filter values are escaped per RFC 4515", arguments: [
        ("*", #"\2a"#), ("(", #"\28"#), (")", #"\29"#), (#"\"#, #"\5c"#), ("\u{0}", #"\00"#),
        (#"a*)(uid=*))(|(uid=*"#, #"a\2a\29\28uid=\2a\29\29\28|\28uid=\2a"#), ("émile", "émile"), ("plain", "plain"),
    ])
    func escaping(value: String, expected: String) {
        #expect(LDAPFilter.escape(value) == expected)
    }

    @Test("A configured filter must be parenthesised and balanced")
    func filterCheck() {
        #expect(LDAPFilter.problem(in: "(objectClass=person)") == nil)
        #expect(LDAPFilter.problem(in: #"(cn=a\29b)"#) == nil)
        #expect(LDAPFilter.problem(in: "objectClass=person") != nil)
        #expect(LDAPFilter.problem(in: "(&(a=b)") != nil)
        #expect(LDAPFilter.problem(in: "(a=b))(") != nil)
    }

    @Test("DNs compare without case or spaces around separators; uniqueMember's optional uid is dropped")
    func distinguishedNames() {
        #expect(DistinguishedName.normalise("UID=Alice, OU=People,dc=Acme") == "uid=alice,ou=people,dc=acme")
        let group = DirectoryGroup(dn: "cn=x,dc=acme", name: "X", memberDNs: ["uid=eve,dc=acme#'0101'B"], memberUIDs: ["Dave"])
        #expect(group.memberDNs == ["uid=eve,dc=acme"] && group.memberUIDs == ["dave"] && group.name == "x")
    }

    @Test(
        "Group membership resolved by index equals the plain definition on 200 random directories (nesting, cycles, uids, shared DNs, bases)"
    )
    func membershipMatchesTheDefinition() {
        var rng = SeededGenerator(seed: 20)
        // People under one base or two (the listing keys them by what their DNs share).
        func ou(_ rng: inout SeededGenerator) -> String { Int.random(in: 0...3, using: &rng) == 0 ? "ou=a," : "" }
        for round in 0..<200 {
            let peopleCount = Int.random(in: 0...12, using: &rng), groupCount = Int.random(in: 0...10, using: &rng)
            let people = (0..<peopleCount).map { i in
                // Some uids collide (the second is skipped); a few people come with groups already.
                DirectoryPerson(
                    dn: "uid=p\(i),\(ou(&rng))dc=x", uid: "p\(Int.random(in: 0...(peopleCount + 2), using: &rng))", email: nil, name: "P",
                    externalID: nil, groups: Int.random(in: 0...5, using: &rng) == 0 ? ["preset"] : [])
            }
            let groups = (0..<groupCount).map { g in
                // Members: people by DN (some absent), other groups (nesting, cycles, itself), posix uids;
                // now and then a group's DN is a person's, or another group's; names repeat.
                let dn =
                    Int.random(in: 0...8, using: &rng) == 0
                    ? "uid=p\(g),dc=x" : "cn=g\(Int.random(in: 0...groupCount, using: &rng)),dc=x"
                let members = (0..<Int.random(in: 0...6, using: &rng)).map { _ in
                    Bool.random(using: &rng)
                        ? "uid=p\(Int.random(in: 0...(peopleCount + 1), using: &rng)),\(ou(&rng))dc=\(Int.random(in: 0...5, using: &rng) == 0 ? "y" : "x")"
                        : "cn=g\(Int.random(in: 0...groupCount, using: &rng)),dc=x"
                }
                let uids = (0..<Int.random(in: 0...2, using: &rng)).map { _ in "P\(Int.random(in: 0...(peopleCount + 1), using: &rng))" }
                return DirectoryGroup(dn: dn, name: "Team\(Int.random(in: 0...6, using: &rng))", memberDNs: members, memberUIDs: uids)
            }
            let listing = DirectoryListing(people: people, groups: groups)
            let expected = Self.definition(people: people, groups: groups)
            #expect(listing.people.map(\.uid) == expected.map(\.uid), "round \(round)")
            #expect(listing.people.map(\.groups) == expected.map(\.groups), "round \(round)")
        }
    }

    @Test("DNs that end alike inside a character (é and ĩ share their last byte) are still told apart")
    func sharedEndingsStopAtACharacter() {
        let listing = DirectoryListing(
            people: [
                DirectoryPerson(dn: "cn=é,dc=x", uid: "a", email: nil, name: "A", externalID: nil),
                DirectoryPerson(dn: "cn=ĩ,dc=x", uid: "b", email: nil, name: "B", externalID: nil),
            ],
            groups: [DirectoryGroup(dn: "cn=g,dc=x", name: "G", memberDNs: ["cn=é,dc=x"], memberUIDs: [])])
        #expect(listing.people.map(\.groups) == [["g"], []])
    }

    /// Membership as the words define it, with no care for speed: a person is in a group if
    /// the group, or any group reachable from it through member DNs, lists them (by DN, or by
    /// uid); a DN that is a kept person's is that person; of two groups with one DN, the later.
    static func definition(people raw: [DirectoryPerson], groups: [DirectoryGroup]) -> [DirectoryPerson] {
        var people: [DirectoryPerson] = []
        for person in raw where !people.contains(where: { $0.uid.lowercased() == person.uid.lowercased() }) { people.append(person) }
        func group(_ dn: String) -> Int? {
            people.contains(where: { $0.dn == dn }) ? nil : groups.indices.last(where: { groups[$0].dn == dn })
        }
        for g in groups.indices {
            var reached: Set<Int> = [g], frontier = [g]
            while let h = frontier.popLast() {
                for dn in groups[h].memberDNs { if let n = group(dn), reached.insert(n).inserted { frontier.append(n) } }
            }
            for p in people.indices
            where reached.contains(where: {
                groups[$0].memberDNs.contains(people[p].dn) || groups[$0].memberUIDs.contains(people[p].uid.lowercased())
            }) {
                people[p].groups.insert(groups[g].name)
            }
        }
        return people
    }

    @Test("Duplicate and unusable uids are skipped with a warning")
    func listingWarnings() {
        let listing = DirectoryListing(
            people: [
                DirectoryPerson(dn: "uid=a,dc=x", uid: "a", email: nil, name: "A", externalID: nil),
                DirectoryPerson(dn: "uid=A2,dc=x", uid: "A", email: nil, name: "A", externalID: nil),
                DirectoryPerson(dn: "cn=b c,dc=x", uid: "b c", email: nil, name: "B", externalID: nil),
            ], groups: [])
        #expect(listing.people.map(\.uid) == ["a"])
        #expect(listing.warnings.count == 2)
    }

    @Test("The removal guard counts only people still present, and allows exactly the limit")
    func removalGuard() {
        var plan = DirectoryPlan()
        plan.previouslyPresent = 100
        plan.left = Array(repeating: StoredDirectoryPerson(
            identityID: 1, uid: "x", externalID: nil, email: nil, personID: "p", personName: "x", personEmail: nil, status: .active, groups: []), count: 10)
        #expect(plan.removalRefusal(maxPercent: 10) == nil)
        plan.left.append(plan.left[0])
        #expect(plan.removalRefusal(maxPercent: 10)?.contains("11 of 100") == true)
        #expect(plan.removalRefusal(maxPercent: 100) == nil)
    }
}

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

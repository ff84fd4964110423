/// A person as the company directory describes them.
public struct DirectoryPerson: Sendable, Equatable {
    /// Normalised distinguished name.
    public var dn: String
    /// The username (`uid` by default): the person's `ldap:<uid>` identity.
    public var uid: String
    public var email: String?
    public var name: String
    /// The directory's stable id (`entryUUID`) when it has one: a renamed uid keeps the person.
    public var externalID: String?
    /// Groups (lowercased cn) the person belongs to, directly or through nested groups.
    public var groups: Set<String>

    public init(dn: String, uid: String, email: String?, name: String, externalID: String?, groups: Set<String> = []) {
        self.dn = DistinguishedName.normalise(dn)
        self.uid = uid
        self.email = email
        self.name = name
        self.externalID = externalID
        self.groups = groups
    }
}

/// A group entry: `groupOfNames`/`groupOfUniqueNames` list member DNs (people or other
/// groups), `posixGroup` lists member uids.
public struct DirectoryGroup: Sendable, Equatable {
    public var dn: String
    /// The cn, lowercased: what policies name.
    public var name: String
    public var memberDNs: [String]
    public var memberUIDs: [String]

    public init(dn: String, name: String, memberDNs: [String], memberUIDs: [String]) {
        self.dn = DistinguishedName.normalise(dn)
        self.name = name.lowercased()
        // groupOfUniqueNames may append an optional `#'0101'B` uid to a member's DN.
        self.memberDNs = memberDNs.map { member in
            // Checked on the bytes: thousands of member values per sync.
            if member.utf8.last == UInt8(ascii: "B"), member.utf8.contains(UInt8(ascii: "#")),
                let hash = member.lastIndex(of: "#"), member[hash...].hasPrefix("#'"), member.hasSuffix("'B")
            {
                return DistinguishedName.normalise(String(member[..<hash]))
            }
            return DistinguishedName.normalise(member)
        }
        self.memberUIDs = memberUIDs.map { $0.lowercased() }
    }
}

/// Everything read from the directory in one sync: people with their groups resolved.
public struct DirectoryListing: Sendable {
    public var people: [DirectoryPerson]
    public var groupCount: Int
    /// Entries skipped, and why (a missing uid, a duplicate).
    public var warnings: [String]

    /// Resolves group membership, nested groups included (a cycle of groups is tolerated: its
    /// groups simply share their members), and drops entries that cannot be people.
    public init(people raw: [DirectoryPerson], groups: [DirectoryGroup], warnings: [String] = []) {
        var warnings = warnings
        var people: [DirectoryPerson] = []
        var byUID: [String: Int] = [:]
        var byDN: [String: Int] = [:]
        // Sized up front: growing them was a sixth of this at 100,000 people.
        people.reserveCapacity(raw.count)
        byUID.reserveCapacity(raw.count)
        byDN.reserveCapacity(raw.count)
        for person in raw {
            if let problem = IdentityRef.usernameProblem(person.uid, provider: .ldap) {
                warnings.append("\(person.dn): uid \"\(person.uid)\" is not a usable username (it \(problem)); skipped")
                continue
            }
            let key = person.uid.lowercased()
            if let first = byUID[key] {
                warnings.append("duplicate uid \"\(person.uid)\" at \(person.dn) ignored (first seen at \(people[first].dn))")
                continue
            }
            byUID[key] = people.count
            byDN[person.dn] = people.count
            people.append(person)
        }
        var groupByDN: [String: Int] = [:]
        groupByDN.reserveCapacity(groups.count)
        for (i, group) in groups.enumerated() { groupByDN[group.dn] = i }
        // For each group: every group reachable through nesting (itself included), then the
        // people listed directly in any of them.
        for (i, group) in groups.enumerated() {
            var seen: Set<Int> = [i]
            var stack = [i]
            var members = Set<Int>()
            while let g = stack.popLast() {
                for dn in groups[g].memberDNs {
                    if let person = byDN[dn] {
                        members.insert(person)
                    } else if let nested = groupByDN[dn], seen.insert(nested).inserted {
                        stack.append(nested)
                    }
                }
                for uid in groups[g].memberUIDs {
                    if let person = byUID[uid] { members.insert(person) }
                }
            }
            for person in members { people[person].groups.insert(group.name) }
        }
        self.people = people
        self.groupCount = groups.count
        self.warnings = warnings
    }
}

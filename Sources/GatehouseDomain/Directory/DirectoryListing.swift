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
    ///
    /// Shaped by the 100,000-person resync's profile: each member value is looked up once (a
    /// nested group's members are not looked up again for every group above it), members are
    /// gathered by index with a stamp per person and per group instead of a set per group, and
    /// each person's set of group names is built once at its final size.
    public init(people raw: [DirectoryPerson], groups: [DirectoryGroup], warnings: [String] = []) {
        var warnings = warnings
        var people: [DirectoryPerson] = []
        var byUID: [String: Int] = [:]
        // People by their DN less the part every person's DN ends with (see `PersonDNKeys`).
        let keys = PersonDNKeys(raw)
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
            if let key = keys.key(person.dn) { byDN[key] = people.count }
            people.append(person)
        }
        // A DN that is a person's stays the person's; of two groups with one DN, the later.
        var groupByDN: [String: Int] = [:]
        groupByDN.reserveCapacity(groups.count)
        for (g, group) in groups.enumerated() { groupByDN[group.dn] = g }
        func person(_ dn: String) -> Int? { keys.key(dn).flatMap { byDN[$0] } }

        // Each group's own members: people (by DN or by uid) and nested groups, as indices.
        var direct = [[Int32]](repeating: [], count: groups.count)
        var nested = [[Int32]](repeating: [], count: groups.count)
        for (g, group) in groups.enumerated() {
            for dn in group.memberDNs {
                if let found = person(dn) {
                    direct[g].append(Int32(found))
                } else if let inner = groupByDN[dn] {
                    nested[g].append(Int32(inner))
                }
            }
            for uid in group.memberUIDs {
                if let person = byUID[uid] { direct[g].append(Int32(person)) }
            }
        }

        // For each group: every group reachable through nesting (itself included), and the
        // people listed in any of them, each once (the stamps say "already taken for group g").
        var personStamp = [Int32](repeating: -1, count: people.count)
        var groupStamp = [Int32](repeating: -1, count: groups.count)
        var groupsOfPerson = [Int32](repeating: 0, count: people.count)
        var pairs: [(person: Int32, group: Int32)] = []
        pairs.reserveCapacity(direct.reduce(0) { $0 + $1.count })
        var stack: [Int32] = []
        for g in groups.indices {
            let g32 = Int32(g)
            groupStamp[g] = g32
            stack.append(g32)
            while let h = stack.popLast() {
                for person in direct[Int(h)] where personStamp[Int(person)] != g32 {
                    personStamp[Int(person)] = g32
                    groupsOfPerson[Int(person)] += 1
                    pairs.append((person, g32))
                }
                for inner in nested[Int(h)] where groupStamp[Int(inner)] != g32 {
                    groupStamp[Int(inner)] = g32
                    stack.append(inner)
                }
            }
        }

        // Each person's group names, in a set made once at its size. Built apart and then handed
        // to the person: inserting into `people[p].groups` directly read the whole record for
        // every name, and took the listing ~10% longer (perf samples, taking turns).
        var names = [Set<String>](repeating: [], count: people.count)
        for (p, count) in groupsOfPerson.enumerated() where count > 0 { names[p].reserveCapacity(Int(count)) }
        for (person, group) in pairs { names[Int(person)].insert(groups[Int(group)].name) }
        for p in people.indices where !names[p].isEmpty {
            if people[p].groups.isEmpty { people[p].groups = names[p] } else { people[p].groups.formUnion(names[p]) }
        }
        self.people = people
        self.groupCount = groups.count
        self.warnings = warnings
    }
}

/// Keys for person DNs: the DN less the longest ending that every person's DN shares, cut at
/// a comma (the directory's user base, in practice). `uid=jdoe,ou=people,dc=acme,dc=com`
/// becomes `uid=jdoe`, short enough for a string's inline storage: looking a member up then
/// hashes and compares a few bytes in place instead of reading a heap buffer per candidate,
/// a cache miss each at 100,000 people (the member look-ups were half of the listing's time).
/// Two DNs with that ending are equal exactly when their keys are; a DN without it is no
/// person's, and has no key.
struct PersonDNKeys {
    /// The shared ending, from a comma (empty when the DNs share none).
    let ending: [UInt8]

    init(_ people: [DirectoryPerson]) {
        guard var shared = people.first.map({ Array($0.dn.utf8) }) else {
            ending = []
            return
        }
        for person in people.dropFirst() where !shared.isEmpty {
            var dn = person.dn
            let common = dn.withUTF8 { bytes in
                var n = 0
                while n < shared.count, n < bytes.count, shared[shared.count - 1 - n] == bytes[bytes.count - 1 - n] { n += 1 }
                return n
            }
            if common < shared.count { shared.removeFirst(shared.count - common) }
        }
        // From the first comma: the key then ends where a character ends.
        ending = shared.firstIndex(of: UInt8(ascii: ",")).map { Array(shared[$0...]) } ?? []
    }

    func key(_ dn: String) -> String? {
        if ending.isEmpty { return dn }
        var dn = dn
        return dn.withUTF8 { bytes in
            guard bytes.count > ending.count, bytes.suffix(ending.count).elementsEqual(ending) else { return nil }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes.dropLast(ending.count)), as: UTF8.self)
        }
    }
}

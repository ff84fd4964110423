import Foundation

/// A directory person as Gatehouse holds them: an `ldap:` identity and its person.
public struct StoredDirectoryPerson: Sendable, Equatable {
    public var identityID: Int64
    public var uid: String
    public var externalID: String?
    public var email: String?
    public var personID: String
    public var personName: String
    public var personEmail: String?
    public var status: PersonStatus
    /// Groups held from the directory (membership source `ldap`).
    public var groups: Set<String>

    public init(
        identityID: Int64, uid: String, externalID: String?, email: String?, personID: String, personName: String, personEmail: String?,
        status: PersonStatus, groups: Set<String>
    ) {
        self.identityID = identityID
        self.uid = uid
        self.externalID = externalID
        self.email = email
        self.personID = personID
        self.personName = personName
        self.personEmail = personEmail
        self.status = status
        self.groups = groups
    }
}

/// What one sync changes: computed from the directory and what is stored, applied in one
/// transaction (or only printed, for `--dry-run`).
public struct DirectoryPlan: Sendable {
    /// A person new to Gatehouse's view of the directory.
    public struct Addition: Sendable {
        public var person: DirectoryPerson
        /// Join the person with this email, if any (identity policy `link_by: email`).
        public var linkEmail: String?
        /// Or the person holding one of these identities (`link_by: template`).
        public var linkIdentities: [IdentityRef]
        /// The id a new person gets (assigned by the caller: the planner draws no randomness).
        public var newPersonID: String = ""
        /// A stored identity holding this uid for someone else (a recycled uid): moved aside first.
        public var recycles: StoredDirectoryPerson?
    }

    public struct Update: Sendable {
        public var stored: StoredDirectoryPerson
        public var person: DirectoryPerson
        /// What changed: `uid`, `email`, `name`, `rejoined`.
        public var changes: [String]

        public init(stored: StoredDirectoryPerson, person: DirectoryPerson, changes: [String]) {
            self.stored = stored
            self.person = person
            self.changes = changes
        }
    }

    public struct MembershipChange: Sendable {
        public var identityID: Int64
        public var personID: String
        public var uid: String
        public var groups: Set<String>
        public var added: Set<String>
        public var removed: Set<String>

        public init(identityID: Int64, personID: String, uid: String, groups: Set<String>, added: Set<String>, removed: Set<String>) {
            self.identityID = identityID
            self.personID = personID
            self.uid = uid
            self.groups = groups
            self.added = added
            self.removed = removed
        }
    }

    public var added: [Addition] = []
    public var updated: [Update] = []
    /// People no longer in the directory: they become `left_directory` and lose their seat.
    public var left: [StoredDirectoryPerson] = []
    public var memberships: [MembershipChange] = []
    public var warnings: [String] = []
    /// People in the directory now.
    public var directoryPeople = 0
    public var directoryGroups = 0
    /// Directory people Gatehouse held before this sync (not counting those already gone).
    public var previouslyPresent = 0
    /// Set when the plan must not be applied (see `removalRefusal`): the store then writes nothing.
    public var refusal: String?
    /// Directory people whose uid Gatehouse holds for someone present, under another stable
    /// id (`entryUUID`). One is a recycled uid; most of the directory at once is a re-key (the
    /// directory restored or moved into a new server): see `rekey`.
    public var stableIDChanges = 0
    /// Whether those people were taken as the same people under new ids (`ldap sync --rekey`)
    /// rather than as departures and arrivals.
    public var rekey = false
    /// Whose people these are: the LDAP directory's (`ldap:` identities) or SCIM's (`scim:`).
    public var source = Provider.ldap

    public init() {}

    public var isEmpty: Bool { added.isEmpty && updated.isEmpty && left.isEmpty && memberships.isEmpty }

    /// The share of present directory people this plan would remove, in percent.
    public var removalPercent: Double {
        previouslyPresent == 0 ? 0 : Double(left.count) * 100 / Double(previouslyPresent)
    }

    /// Why the plan must not be applied without `--force`: it removes more than `maxPercent`
    /// of the directory's people, which is more often a broken filter or a half-answering
    /// server than a mass departure.
    ///
    /// When most of those departures are people whose uid came back under a new stable id, the
    /// directory was re-keyed, not emptied: the refusal says so and points at `--rekey`.
    public func removalRefusal(maxPercent: Int) -> String? {
        guard !left.isEmpty, Double(left.count) * 100 > Double(maxPercent) * Double(previouslyPresent) else { return nil }
        if !rekey, stableIDChanges * 2 >= left.count {
            let others = left.count - stableIDChanges
            return "\(stableIDChanges) of \(previouslyPresent) directory people are in the directory under the same uid but a new stable id "
                + "(entryUUID): this looks like the directory restored or moved into a new server, not people leaving"
                + (others > 0 ? " (\(others) more would leave)" : "") + ". Nothing was changed. "
                + "Check the plan with `gatehouse ldap sync --rekey --dry-run`, then run `gatehouse ldap sync --rekey` to adopt the new ids "
                + "and keep their people, seats and history (--force would instead release every one of those seats)"
        }
        return "the sync would remove \(left.count) of \(previouslyPresent) directory people "
            + "(\(String(format: "%.1f", removalPercent))%, more than max_removal_percent \(maxPercent)%); "
            + "nothing was changed. Check the directory and the user filter, then run `gatehouse ldap sync --force` if this is right"
    }
}

/// Compares the directory with what is stored. Pure: no I/O, no clock, no randomness.
public enum DirectoryPlanner {
    /// With `rekey`, a uid held by someone present under another stable id is that same person
    /// under a new id (a directory restored into a new server), not a recycled uid.
    public static func plan(_ listing: DirectoryListing, stored: [StoredDirectoryPerson], identity: IdentityPolicy, rekey: Bool = false)
        -> DirectoryPlan
    {
        var plan = DirectoryPlan()
        plan.rekey = rekey
        plan.warnings = listing.warnings
        plan.directoryPeople = listing.people.count
        plan.directoryGroups = listing.groupCount
        plan.previouslyPresent = stored.reduce(0) { $0 + ($1.status != .leftDirectory ? 1 : 0) }

        // Sized up front: at 100,000 people, growing these was a fifth of the plan's time. The
        // stored people are read in place (stored[i].field), not copied whole: a copy retains
        // every string of the record, a cache miss each at this size.
        var byExternal: [String: Int] = [:]
        var byUID: [String: Int] = [:]
        var matched = [Bool](repeating: false, count: stored.count)
        byExternal.reserveCapacity(stored.count)
        byUID.reserveCapacity(stored.count)
        for i in stored.indices {
            if let external = stored[i].externalID { byExternal[external] = i }
            byUID[stored[i].uid.lowercased()] = i
        }
        for person in listing.people {
            // The stable id first: a renamed uid is the same person.
            var index = person.externalID.flatMap { byExternal[$0] }
            // The same uid is the same person unless both stable ids are known and differ
            // (a recycled uid: the old holder leaves, the new one is added).
            var newStableID = false
            if index == nil, let i = byUID[person.uid.lowercased()], !matched[i] {
                if stored[i].externalID == nil || person.externalID == nil {
                    index = i
                } else if stored[i].status != .leftDirectory {
                    plan.stableIDChanges += 1
                    if rekey {
                        index = i
                        newStableID = true
                    }
                }
            }
            guard let i = index, !matched[i] else {
                plan.added.append(addition(person, identity))
                continue
            }
            matched[i] = true
            var changes: [String] = []
            if stored[i].uid != person.uid { changes.append("uid") }
            if !sameEmail(stored[i].email, person.email) || !sameEmail(stored[i].personEmail, person.email) { changes.append("email") }
            if stored[i].personName != person.name { changes.append("name") }
            if stored[i].externalID == nil && person.externalID != nil || newStableID { changes.append("external_id") }
            if stored[i].status == .leftDirectory { changes.append("rejoined") }
            if !changes.isEmpty { plan.updated.append(.init(stored: stored[i], person: person, changes: changes)) }
            if stored[i].groups != person.groups {
                let s = stored[i]
                plan.memberships.append(
                    .init(
                        identityID: s.identityID, personID: s.personID, uid: person.uid, groups: person.groups,
                        added: person.groups.subtracting(s.groups), removed: s.groups.subtracting(person.groups)))
            }
        }
        for i in stored.indices where !matched[i] && stored[i].status != .leftDirectory {
            plan.left.append(stored[i])
        }
        for i in plan.added.indices {
            if let j = byUID[plan.added[i].person.uid.lowercased()], !matched[j] { plan.added[i].recycles = stored[j] }
        }
        return plan
    }

    public static func addition(_ person: DirectoryPerson, _ policy: IdentityPolicy) -> DirectoryPlan.Addition {
        var refs: [IdentityRef] = []
        if policy.linkBy.contains(.template) {
            for (provider, template) in policy.templates.sorted(by: { $0.key.rawValue < $1.key.rawValue }) where template.contains("{uid}") {
                refs.append(IdentityRef(provider: provider, username: template.replacingOccurrences(of: "{uid}", with: person.uid)))
            }
        }
        let email = policy.linkBy.contains(.email) ? person.email.flatMap { $0.isEmpty ? nil : $0 } : nil
        return .init(person: person, linkEmail: email, linkIdentities: refs)
    }

    public static func sameEmail(_ a: String?, _ b: String?) -> Bool {
        // Equal as they are (nearly always, on a resync) before equal in any case.
        (a ?? "") == (b ?? "") || (a?.lowercased() ?? "") == (b?.lowercased() ?? "")
    }
}

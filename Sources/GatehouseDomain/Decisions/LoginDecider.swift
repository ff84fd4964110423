/// What is known about a person when deciding.
public struct PersonFacts: Sendable, Equatable {
    public var id: String
    public var status: PersonStatus
    public var seat: SeatState
    public var role: Role
    /// Has an `ldap:` identity: a person of the LDAP directory.
    public var inLDAP: Bool
    /// LDAP groups (lowercased cn) the person belongs to.
    public var directoryGroups: Set<String>
    /// Has a `scim:` identity: provisioned by the identity provider over SCIM.
    public var inSCIM: Bool
    /// Groups (lowercased displayName) the identity provider pushed over SCIM.
    public var scimGroups: Set<String>

    /// A person of the company directory, LDAP's or SCIM's.
    public var inDirectory: Bool { inLDAP || inSCIM }

    public init(
        id: String, status: PersonStatus, seat: SeatState, role: Role, inLDAP: Bool, directoryGroups: Set<String> = [],
        inSCIM: Bool = false, scimGroups: Set<String> = []
    ) {
        self.id = id
        self.status = status
        self.seat = seat
        self.role = role
        self.inLDAP = inLDAP
        self.directoryGroups = directoryGroups
        self.inSCIM = inSCIM
        self.scimGroups = scimGroups
    }
}

/// Everything a login decision depends on, gathered from memory.
public struct LoginFacts: Sendable {
    public var identity: IdentityRef
    /// `nil` for someone never seen before.
    public var person: PersonFacts?
    /// Orgs (and GitLab/Bitbucket groups) the identity belongs to: request claims and stored
    /// memberships, lowercased.
    public var orgs: Set<String>
    /// `org/team`, lowercased.
    public var teams: Set<String>
    public var licenseState: LicenseState

    public init(identity: IdentityRef, person: PersonFacts?, orgs: Set<String>, teams: Set<String>, licenseState: LicenseState) {
        self.identity = identity
        self.person = person
        // Names compare case-insensitively.
        self.orgs = orgs.lowercasedNames
        self.teams = teams.lowercasedNames
        self.licenseState = licenseState
    }
}

/// The login rules of SPEC section 3, in their order: license state (policy admins may still
/// log in, to repair) → deny list → blocked or left the directory → membership restrictions
/// for the provider (and, for a person of the directory, `login.ldap.allowed_groups` whatever
/// the provider) → seat (held; or auto-activated if policy allows and one is free).
public enum LoginDecider {
    public static func decide(_ facts: LoginFacts, policy: PolicySet) -> Verdict {
        let isPolicyAdmin = policy.login.admins.contains(facts.identity)
        if let reason = DecisionReason.forLicense(facts.licenseState) {
            return isPolicyAdmin ? .allow(.ok) : .deny(reason)
        }
        if policy.login.deny.contains(facts.identity) { return .deny(.deniedByPolicy) }
        if let person = facts.person {
            switch person.status {
            case .blocked: return .deny(.userBlocked)
            case .leftDirectory: return .deny(.notInDirectory)
            case .active: break
            }
        }
        if policy.identity.requireDirectoryPerson, facts.identity.provider != .ldap, facts.identity.provider != .scim,
            facts.person?.inDirectory != true
        {
            return .deny(.notInDirectory)
        }
        if let restriction = policy.login.restrictions[facts.identity.provider] {
            if let reason = membershipRefusal(facts, restriction) { return .deny(reason) }
        }
        // The directory's groups bind a directory person whichever account they log in with
        // (LDAP's and SCIM's, each by its own restriction).
        if facts.identity.provider != .ldap, let person = facts.person, person.inLDAP,
            let groups = policy.login.restrictions[.ldap]?.allowedGroups, !groups.isEmpty, groups.isDisjoint(with: person.directoryGroups)
        {
            return .deny(.notInAllowedGroup)
        }
        if facts.identity.provider != .scim, let person = facts.person, person.inSCIM,
            let groups = policy.login.restrictions[.scim]?.allowedGroups, !groups.isEmpty, groups.isDisjoint(with: person.scimGroups)
        {
            return .deny(.notInAllowedGroup)
        }
        if facts.person?.seat == .active || !policy.seats.requireSeatForLogin { return .allow(.ok) }
        if policy.seats.autoActivate, facts.licenseState.allowsNewSeats { return .activateSeat(elseDeny: .noSeatAvailable) }
        return .deny(.noSeatAvailable)
    }

    /// Why these memberships fail a provider's restriction, if they do.
    public static func membershipRefusal(_ facts: LoginFacts, _ restriction: MembershipRestriction) -> DecisionReason? {
        if facts.identity.provider == .ldap || facts.identity.provider == .scim {
            let groups = (facts.identity.provider == .ldap ? facts.person?.directoryGroups : facts.person?.scimGroups) ?? []
            if !restriction.allowedGroups.isEmpty, restriction.allowedGroups.isDisjoint(with: groups) { return .notInAllowedGroup }
            return nil
        }
        if !restriction.allowedOrgs.isEmpty, restriction.allowedOrgs.isDisjoint(with: facts.orgs) { return .notInAllowedOrg }
        if !restriction.allowedTeams.isEmpty, restriction.allowedTeams.isDisjoint(with: facts.teams) { return .notInAllowedTeam }
        // GitLab groups and Bitbucket workspaces arrive as `orgs`.
        if !restriction.allowedGroups.isEmpty, restriction.allowedGroups.isDisjoint(with: facts.orgs) { return .notInAllowedGroup }
        return nil
    }
}

/// Upload rules: a public repository needs no seat; a private one needs the PR author's seat,
/// auto-activated as for logins.
public enum UploadDecider {
    public static func decide(
        isPrivate: Bool, author: IdentityRef, person: PersonFacts?, licenseState: LicenseState, policy: PolicySet
    ) -> Verdict {
        guard isPrivate else { return .allow(.ok) }
        if let reason = DecisionReason.forLicense(licenseState) { return .deny(reason) }
        guard policy.seats.countPRAuthors else { return .allow(.ok) }
        if policy.login.deny.contains(author) { return .deny(.deniedByPolicy) }
        switch person?.status {
        case .blocked?: return .deny(.userBlocked)
        case .leftDirectory?: return .deny(.notInDirectory)
        default: break
        }
        if person?.seat == .active { return .allow(.ok) }
        if policy.seats.autoActivate, licenseState.allowsNewSeats { return .activateSeat(elseDeny: .authorHasNoSeat) }
        return .deny(.authorHasNoSeat)
    }
}

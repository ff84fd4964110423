import Foundation

extension Set<String> {
    /// The names lowercased; no copy when they already are (the usual case on the decision path).
    public var lowercasedNames: Set<String> {
        allSatisfy { name in name.utf8.allSatisfy { $0 < 0x80 && !($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z")) } }
            ? self : Set(map { $0.lowercased() })
    }
}

/// Who may log in (`policies/login.yml`).
public struct LoginPolicy: Sendable, Equatable {
    /// May log in even when the license is not in force, to repair it.
    public var admins: Set<IdentityRef> = []
    /// Never allowed in.
    public var deny: Set<IdentityRef> = []
    /// Membership restrictions per provider; a provider without an entry is unrestricted.
    public var restrictions: [Provider: MembershipRestriction] = [:]

    public init() {}
}

/// Orgs, teams (`org/team`) or groups one must belong to. Empty lists restrict nothing.
/// Names are compared case-insensitively.
public struct MembershipRestriction: Sendable, Equatable {
    public var allowedOrgs: Set<String> = []
    public var allowedTeams: Set<String> = []
    public var allowedGroups: Set<String> = []

    public init(allowedOrgs: Set<String> = [], allowedTeams: Set<String> = [], allowedGroups: Set<String> = []) {
        self.allowedOrgs = allowedOrgs.lowercasedNames
        self.allowedTeams = allowedTeams.lowercasedNames
        self.allowedGroups = allowedGroups.lowercasedNames
    }
}

/// How seats are handed out (`policies/seats.yml`).
public struct SeatPolicy: Sendable, Equatable {
    public var autoActivate = true
    public var requireSeatForLogin = true
    public var countPRAuthors = true
    public var overagePercent: Int64 = 0
    /// 0 disables releasing idle seats.
    public var deactivateInactiveAfterDays: Int64 = 90
    /// What a login or private upload meets when every seat is taken (SPEC 12).
    public enum WhenFull: String, Sendable, Equatable { case deny, request }
    public var whenFull = WhenFull.deny
    /// With `when_full: request`: grant pending requests, oldest first, as seats free up.
    public var autoGrant = true

    /// How freed seats go to pending requests: `nil` when they do not (no requests, or
    /// `auto_grant: false`).
    public func grant(licensed: Int64) -> SeatGrant? {
        whenFull == .request && autoGrant ? SeatGrant(limit: limit(licensed: licensed)) : nil
    }

    public init() {}

    /// Seats that may be active at once: licensed plus the overage allowance, rounded down.
    public func limit(licensed: Int64) -> Int64 { licensed + licensed * overagePercent / 100 }
}

/// How logins are linked to people (`policies/identity.yml`).
public struct IdentityPolicy: Sendable, Equatable {
    public enum LinkRule: String, Sendable, CaseIterable { case email, template }

    public var linkBy: [LinkRule] = [.email]
    /// Username templates per provider, e.g. GitHub EMU `{uid}_acme` from the LDAP uid.
    public var templates: [Provider: String] = [:]
    /// Refuse OAuth users who are not people of the directory.
    public var requireDirectoryPerson = false

    public init() {}

    /// The LDAP uid a username stands for under the provider's template, if it matches.
    public func directoryUID(for identity: IdentityRef) -> String? {
        guard linkBy.contains(.template), let template = templates[identity.provider],
            let range = template.range(of: "{uid}")
        else { return nil }
        let prefix = template[..<range.lowerBound].lowercased(), suffix = template[range.upperBound...].lowercased()
        let name = identity.username.lowercased()
        guard name.count > prefix.count + suffix.count, name.hasPrefix(prefix), name.hasSuffix(suffix) else { return nil }
        return String(name.dropFirst(prefix.count).dropLast(suffix.count))
    }
}

/// The policies in force, applied together as one versioned set.
public struct PolicySet: Sendable, Equatable {
    public var login = LoginPolicy()
    public var seats = SeatPolicy()
    public var identity = IdentityPolicy()
    public var egress = EgressPolicy.shipped
    /// How the gate classes routes (`policies/gate.yml`).
    public var gate = GatePolicy.shipped

    public init() {}
}

import GatehouseDomain
import GatehouseService
import Testing

/// The login rules as a table: providers × orgs × teams × deny list × admins × license state.
@Suite("Login decisions")
struct LoginDecisionTests {
    static let policy: PolicySet = {
        let result = PolicyLoader.parse(files: [
            "login.yml": """
            login:
              admins: ["github:root"]
              deny: ["github:mallory", "gitlab:Mallory"]
              github: {allowed_orgs: [Acme], allowed_teams: [acme/backend, acme/infra]}
              gitlab: {allowed_groups: [acme]}
              ldap: {allowed_groups: [codecov-users]}
            """
        ])
        return result.policy!
    }()

    static func person(_ seat: SeatState = .none, status: PersonStatus = .active, groups: Set<String> = [], directory: Bool = false) -> PersonFacts {
        PersonFacts(id: "p_x", status: status, seat: seat, role: .user, inLDAP: directory || !groups.isEmpty, directoryGroups: groups)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var identity: String
        var orgs: Set<String> = []
        var teams: Set<String> = []
        var person: PersonFacts?
        var license: LicenseState = .valid
        var expected: Verdict
        var testDescription: String { "\(identity) orgs=\(orgs.sorted()) teams=\(teams.sorted()) license=\(license.rawValue)" }
    }

    static let member: Set<String> = ["acme"], backend: Set<String> = ["acme/backend"]
    static let cases: [Case] = [
        // GitHub: org and team both required.
        Case(identity: "github:alice", orgs: member, teams: backend, person: person(.active), expected: .allow(.ok)),
        Case(identity: "github:alice", orgs: ["ACME"], teams: ["Acme/Infra"], person: person(.active), expected: .allow(.ok)),
        Case(identity: "github:alice", orgs: member, teams: backend, person: nil, expected: .activateSeat(elseDeny: .noSeatAvailable)),
        Case(identity: "github:alice", orgs: member, teams: backend, person: person(.none), expected: .activateSeat(elseDeny: .noSeatAvailable)),
        Case(identity: "github:alice", orgs: ["other"], teams: backend, person: person(.active), expected: .deny(.notInAllowedOrg)),
        Case(identity: "github:alice", orgs: [], teams: [], person: person(.active), expected: .deny(.notInAllowedOrg)),
        Case(identity: "github:alice", orgs: member, teams: ["acme/frontend"], person: person(.active), expected: .deny(.notInAllowedTeam)),
        Case(identity: "github:alice", orgs: member, teams: [], person: nil, expected: .deny(.notInAllowedTeam)),
        // Deny list before membership and seat; case-insensitive.
        Case(identity: "github:mallory", orgs: member, teams: backend, person: person(.active), expected: .deny(.deniedByPolicy)),
        Case(identity: "github:MALLORY", orgs: member, teams: backend, person: nil, expected: .deny(.deniedByPolicy)),
        Case(identity: "gitlab:mallory", orgs: member, person: nil, expected: .deny(.deniedByPolicy)),
        // Blocked or gone before membership.
        Case(identity: "github:bob", orgs: member, teams: backend, person: person(.active, status: .blocked), expected: .deny(.userBlocked)),
        Case(identity: "github:bob", orgs: [], person: person(.none, status: .blocked), expected: .deny(.userBlocked)),
        Case(identity: "github:bob", orgs: member, teams: backend, person: person(.active, status: .leftDirectory), expected: .deny(.notInDirectory)),
        // GitLab groups arrive as orgs; teams do not matter there.
        Case(identity: "gitlab:carol", orgs: member, person: person(.active), expected: .allow(.ok)),
        Case(identity: "gitlab:carol", orgs: ["acme-contractors"], person: person(.active), expected: .deny(.notInAllowedGroup)),
        Case(identity: "gitlab:carol", orgs: member, teams: ["x/y"], person: nil, expected: .activateSeat(elseDeny: .noSeatAvailable)),
        // LDAP: the directory's groups, not request claims.
        Case(identity: "ldap:dave", orgs: ["codecov-users"], person: person(.active, directory: true), expected: .deny(.notInAllowedGroup)),
        Case(identity: "ldap:dave", person: person(.active, groups: ["codecov-users"]), expected: .allow(.ok)),
        // A directory person's groups bind their OAuth logins too; people outside the directory
        // are left to the provider's own rules (and identity.require_directory_person).
        Case(identity: "bitbucket:dave", person: person(.active, groups: ["ops"]), expected: .deny(.notInAllowedGroup)),
        Case(identity: "bitbucket:dave", person: person(.active, groups: ["codecov-users"]), expected: .allow(.ok)),
        Case(identity: "gitlab:dave", orgs: member, person: person(.active, directory: true), expected: .deny(.notInAllowedGroup)),
        // A provider without restrictions.
        Case(identity: "bitbucket:erin", person: person(.active), expected: .allow(.ok)),
        Case(identity: "github_enterprise:erin", person: nil, expected: .activateSeat(elseDeny: .noSeatAvailable)),
        // License states: existing seats work in grace; nothing works expired; admins can repair.
        Case(identity: "github:alice", orgs: member, teams: backend, person: person(.active), license: .expiring, expected: .allow(.ok)),
        Case(identity: "github:alice", orgs: member, teams: backend, person: person(.active), license: .grace, expected: .allow(.ok)),
        Case(identity: "github:alice", orgs: member, teams: backend, person: person(.none), license: .grace, expected: .deny(.noSeatAvailable)),
        Case(identity: "github:alice", orgs: member, teams: backend, person: person(.active), license: .expired, expected: .deny(.licenseExpired)),
        Case(identity: "github:alice", orgs: member, teams: backend, person: person(.active), license: .missing, expected: .deny(.licenseMissing)),
        Case(identity: "github:alice", orgs: member, teams: backend, person: person(.active), license: .invalid, expected: .deny(.licenseInvalid)),
        Case(identity: "github:alice", orgs: member, teams: backend, person: person(.active), license: .notYetValid, expected: .deny(.licenseNotYetValid)),
        Case(identity: "github:alice", orgs: member, teams: backend, person: person(.active), license: .clockTampered, expected: .deny(.clockTampered)),
        Case(identity: "github:root", orgs: [], person: nil, license: .expired, expected: .allow(.ok)),
        Case(identity: "github:ROOT", orgs: [], person: nil, license: .missing, expected: .allow(.ok)),
        Case(identity: "github:root", orgs: [], person: nil, license: .clockTampered, expected: .allow(.ok)),
        // With a license in force, admins follow the ordinary rules.
        Case(identity: "github:root", orgs: [], person: person(.active), license: .valid, expected: .deny(.notInAllowedOrg)),
    ]

    @Test(arguments: cases)
    func decide(_ c: Case) {
        let facts = LoginFacts(identity: IdentityRef.parse(c.identity)!, person: c.person, orgs: c.orgs, teams: c.teams, licenseState: c.license)
        #expect(LoginDecider.decide(facts, policy: Self.policy) == c.expected)
    }

    @Test func seatPolicySwitches() {
        var policy = PolicySet()
        let facts = LoginFacts(identity: IdentityRef.parse("github:a")!, person: nil, orgs: [], teams: [], licenseState: .valid)
        policy.seats.autoActivate = false
        #expect(LoginDecider.decide(facts, policy: policy) == .deny(.noSeatAvailable))
        policy.seats.requireSeatForLogin = false
        #expect(LoginDecider.decide(facts, policy: policy) == .allow(.ok))
        policy.identity.requireDirectoryPerson = true
        #expect(LoginDecider.decide(facts, policy: policy) == .deny(.notInDirectory))
        #expect(policy.seats.limit(licensed: 100) == 100)
        policy.seats.overagePercent = 5
        #expect(policy.seats.limit(licensed: 100) == 105)
        #expect(policy.seats.limit(licensed: 30) == 31)  // 1.5 rounds down
    }

    @Test func uploads() {
        let policy = Self.policy
        let author = IdentityRef.parse("github:alice")!
        #expect(UploadDecider.decide(isPrivate: false, author: author, person: nil, licenseState: .expired, policy: policy) == .allow(.ok))
        #expect(UploadDecider.decide(isPrivate: true, author: author, person: Self.person(.active), licenseState: .valid, policy: policy) == .allow(.ok))
        #expect(UploadDecider.decide(isPrivate: true, author: author, person: nil, licenseState: .valid, policy: policy) == .activateSeat(elseDeny: .authorHasNoSeat))
        #expect(UploadDecider.decide(isPrivate: true, author: author, person: Self.person(.none), licenseState: .grace, policy: policy) == .deny(.authorHasNoSeat))
        #expect(UploadDecider.decide(isPrivate: true, author: author, person: Self.person(.active), licenseState: .expired, policy: policy) == .deny(.licenseExpired))
        var noCount = policy
        noCount.seats.countPRAuthors = false
        #expect(UploadDecider.decide(isPrivate: true, author: author, person: nil, licenseState: .valid, policy: noCount) == .allow(.ok))
    }

    @Test func templates() {
        var identity = IdentityPolicy()
        identity.linkBy = [.template]
        identity.templates = [.github: "{uid}_acme"]
        #expect(identity.directoryUID(for: IdentityRef.parse("github:alice_acme")!) == "alice")
        #expect(identity.directoryUID(for: IdentityRef.parse("github:Alice_ACME")!) == "alice")
        // An empty uid: not a GitHub username at all (EMU names are handle_shortcode).
        #expect(IdentityRef.parse("github:_acme") == nil)
        #expect(identity.directoryUID(for: IdentityRef(provider: .github, username: "_acme")) == nil)
        #expect(identity.directoryUID(for: IdentityRef.parse("github:alice")!) == nil)
        #expect(identity.directoryUID(for: IdentityRef.parse("gitlab:alice_acme")!) == nil)
    }
}

@Suite("Decision responses")
struct DecisionResultTests {
    @Test(arguments: [
        DecisionResult(allow: true, reason: .ok, personID: "p_01ABC", seat: .active, role: .admin),
        DecisionResult(allow: false, reason: .noSeatAvailable, personID: nil, seat: .none, role: .user),
    ])
    func fastTextIsTheCanonicalJSON(_ result: DecisionResult) {
        #expect(result.jsonText == result.json.canonicalText)
    }
}

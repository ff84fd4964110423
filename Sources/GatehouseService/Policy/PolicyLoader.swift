import Foundation
import GatehouseDomain
import Yams

/// Reads a policy directory: `login.yml`, `seats.yml`, `identity.yml`, `egress.yml`, `gate.yml`. Every problem is reported with file and line.
public struct PolicyLoader {
    /// A parsed set, or the problems that stop it from being applied.
    public struct Result: Sendable {
        public var policy: PolicySet?
        public var files: [String: String]
        public var problems: [String]
        /// Files present but not read (not YAML, or unknown names).
        public var ignored: [String]

        /// SHA-256 over the canonical JSON of file name → text: the set's identity.
        public var sha256: String { PolicyLoader.hash(files) }
    }

    static let knownFiles = ["login.yml", "seats.yml", "identity.yml", "egress.yml", "gate.yml"]

    public static func hash(_ files: [String: String]) -> String {
        sha256Hex(JSONValue.object(files.mapValues(JSONValue.string)).canonicalText)
    }

    /// Loads every `*.yml`/`*.yaml` file of `directory`.
    public static func load(directory: String) -> Result {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            return Result(policy: nil, files: [:], problems: ["\(directory): not a directory"], ignored: [])
        }
        var files: [String: String] = [:]
        var ignored: [String] = []
        var problems: [String] = []
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted() {
            guard name.hasSuffix(".yml") || name.hasSuffix(".yaml") else {
                ignored.append(name)
                continue
            }
            guard let data = FileManager.default.contents(atPath: directory + "/" + name), let text = String(data: data, encoding: .utf8)
            else {
                problems.append("\(name): not readable UTF-8 text")
                continue
            }
            files[name] = text
        }
        var result = parse(files: files)
        result.problems = problems + result.problems
        result.ignored += ignored
        if !result.problems.isEmpty { result.policy = nil }
        return result
    }

    /// Parses policy files given as name → text.
    public static func parse(files: [String: String]) -> Result {
        var policy = PolicySet()
        var problems: [String] = []
        var ignored: [String] = []
        var sections: [String: String] = [:]
        for (name, text) in files.sorted(by: { $0.key < $1.key }) {
            var reader = YAMLReader(file: name)
            guard let root = reader.root(text) else {
                problems += reader.problems
                continue
            }
            let top = reader.mapping(root, "", allowed: ["login", "seats", "identity", "egress", "gate"])
            if top.isEmpty, reader.problems.isEmpty, !knownFiles.contains(name) { ignored.append(name) }
            for section in top.keys.sorted() {
                if let other = sections[section] {
                    reader.problem(top[section], section, "already defined in \(other)")
                }
                sections[section] = name
            }
            if let node = top["login"] { policy.login = parseLogin(node, &reader) }
            if let node = top["seats"] { policy.seats = parseSeats(node, &reader) }
            if let node = top["identity"] { policy.identity = parseIdentity(node, &reader) }
            if let node = top["egress"] { policy.egress = parseEgress(node, &reader) }
            if let node = top["gate"] { policy.gate = parseGate(node, &reader) }
            problems += reader.problems
        }
        return Result(policy: problems.isEmpty ? policy : nil, files: files, problems: problems, ignored: ignored)
    }

    static func identities(_ node: Node?, _ path: String, _ reader: inout YAMLReader) -> Set<IdentityRef> {
        var result = Set<IdentityRef>()
        for item in reader.sequence(node, path) {
            guard let text = reader.string(item, path) else { continue }
            guard let ref = IdentityRef.parse(text) else {
                reader.problem(item, path, "\"\(text)\" is not provider:username (providers: \(Provider.names))")
                continue
            }
            result.insert(ref)
        }
        return result
    }

    /// Org names; `org/team` when `team`; group names, which may be GitLab full paths of
    /// nested groups (`acme/platform`), when `group`.
    static func names(_ node: Node?, _ path: String, _ reader: inout YAMLReader, team: Bool = false, group: Bool = false) -> Set<String> {
        var result = Set<String>()
        for item in reader.sequence(node, path) {
            guard let text = reader.string(item, path) else { continue }
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            let shapeOK = team ? parts.count == 2 : group ? true : parts.count == 1
            if text.isEmpty || text.contains(where: \.isWhitespace) || !shapeOK || parts.contains(where: \.isEmpty) {
                reader.problem(item, path, team ? "\"\(text)\" is not org/team" : "\"\(text)\" is not a name")
                continue
            }
            result.insert(text.lowercased())
        }
        return result
    }

    static func parseLogin(_ node: Node, _ reader: inout YAMLReader) -> LoginPolicy {
        var login = LoginPolicy()
        let fields = reader.mapping(node, "login", allowed: Set(["admins", "deny"] + Provider.allCases.map(\.rawValue)))
        login.admins = identities(fields["admins"], "login.admins", &reader)
        login.deny = identities(fields["deny"], "login.deny", &reader)
        for provider in Provider.allCases {
            guard let section = fields[provider.rawValue] else { continue }
            let path = "login.\(provider.rawValue)"
            let allowed: Set<String> = provider == .ldap || provider == .scim ? ["allowed_groups"] : ["allowed_orgs", "allowed_teams", "allowed_groups"]
            let keys = reader.mapping(section, path, allowed: allowed)
            login.restrictions[provider] = MembershipRestriction(
                allowedOrgs: names(keys["allowed_orgs"], "\(path).allowed_orgs", &reader),
                allowedTeams: names(keys["allowed_teams"], "\(path).allowed_teams", &reader, team: true),
                allowedGroups: names(keys["allowed_groups"], "\(path).allowed_groups", &reader, group: true))
        }
        return login
    }

    static func parseSeats(_ node: Node, _ reader: inout YAMLReader) -> SeatPolicy {
        var seats = SeatPolicy()
        let fields = reader.mapping(
            node, "seats",
            allowed: [
                "auto_activate", "require_seat_for_login", "count_pr_authors", "overage_percent", "deactivate_inactive_after_days", "when_full",
                "auto_grant",
            ])
        if let v = reader.bool(fields["auto_activate"], "seats.auto_activate") { seats.autoActivate = v }
        if let v = reader.bool(fields["require_seat_for_login"], "seats.require_seat_for_login") { seats.requireSeatForLogin = v }
        if let v = reader.bool(fields["count_pr_authors"], "seats.count_pr_authors") { seats.countPRAuthors = v }
        if let v = reader.integer(fields["overage_percent"], "seats.overage_percent", in: 0...100) { seats.overagePercent = Int64(v) }
        if let v = reader.integer(fields["deactivate_inactive_after_days"], "seats.deactivate_inactive_after_days", in: 0...3650) {
            seats.deactivateInactiveAfterDays = Int64(v)
        }
        if let v = reader.string(fields["when_full"], "seats.when_full") {
            if let whenFull = SeatPolicy.WhenFull(rawValue: v) {
                seats.whenFull = whenFull
            } else {
                reader.problem(fields["when_full"], "seats.when_full", "expected deny or request, got \"\(v)\"")
            }
        }
        if let v = reader.bool(fields["auto_grant"], "seats.auto_grant") { seats.autoGrant = v }
        return seats
    }

    static func parseIdentity(_ node: Node, _ reader: inout YAMLReader) -> IdentityPolicy {
        var identity = IdentityPolicy()
        let fields = reader.mapping(node, "identity", allowed: ["link_by", "templates", "require_directory_person"])
        if fields["link_by"] != nil {
            identity.linkBy = []
            for item in reader.sequence(fields["link_by"], "identity.link_by") {
                guard let text = reader.string(item, "identity.link_by") else { continue }
                guard let rule = IdentityPolicy.LinkRule(rawValue: text) else {
                    reader.problem(item, "identity.link_by", "\"\(text)\" is not one of email, template")
                    continue
                }
                identity.linkBy.append(rule)
            }
        }
        let templates = reader.mapping(
            fields["templates"], "identity.templates", allowed: Set(Provider.allCases.filter { $0 != .ldap }.map(\.rawValue)))
        for (name, node) in templates {
            guard let provider = Provider(rawValue: name), let template = reader.string(node, "identity.templates.\(name)") else {
                continue
            }
            guard template.components(separatedBy: "{uid}").count == 2 else {
                reader.problem(node, "identity.templates.\(name)", "a template contains {uid} exactly once, e.g. \"{uid}_acme\"")
                continue
            }
            identity.templates[provider] = template
        }
        if let v = reader.bool(fields["require_directory_person"], "identity.require_directory_person") {
            identity.requireDirectoryPerson = v
        }
        return identity
    }
}

extension PolicySet {
    /// The policy in force as JSON, for `policy show` and `GET /v1/policy`.
    public var json: JSONValue {
        func refs(_ set: Set<IdentityRef>) -> JSONValue { .array(set.map(\.description).sorted().map(JSONValue.string)) }
        func names(_ set: Set<String>) -> JSONValue { .array(set.sorted().map(JSONValue.string)) }
        var restrictions: [String: JSONValue] = [:]
        for (provider, r) in login.restrictions {
            restrictions[provider.rawValue] = [
                "allowed_orgs": names(r.allowedOrgs), "allowed_teams": names(r.allowedTeams), "allowed_groups": names(r.allowedGroups),
            ]
        }
        return [
            "login": ["admins": refs(login.admins), "deny": refs(login.deny), "restrictions": .object(restrictions)],
            "seats": [
                "auto_activate": .bool(seats.autoActivate), "require_seat_for_login": .bool(seats.requireSeatForLogin),
                "count_pr_authors": .bool(seats.countPRAuthors), "overage_percent": .int(seats.overagePercent),
                "deactivate_inactive_after_days": .int(seats.deactivateInactiveAfterDays), "when_full": .string(seats.whenFull.rawValue),
                "auto_grant": .bool(seats.autoGrant),
            ],
            "identity": [
                "link_by": .array(identity.linkBy.map { .string($0.rawValue) }),
                "templates": .object(
                    Dictionary(uniqueKeysWithValues: identity.templates.map { ($0.key.rawValue, JSONValue.string($0.value)) })),
                "require_directory_person": .bool(identity.requireDirectoryPerson),
            ],
            "gate": gate.json,
        ]
    }
}

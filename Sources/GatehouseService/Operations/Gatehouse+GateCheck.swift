import Foundation
import GatehouseDomain
import GatehouseSignIn
import Yams

/// One finding of `gatehouse gate check`.
public struct GateFinding: Sendable, Equatable {
    public enum Level: String, Sendable { case ok, note, warning, problem }
    public var level: Level
    public var message: String

    public var json: JSONValue { ["level": .string(level.rawValue), "message": .string(message)] }
    public var line: String {
        let mark =
            switch level {
            case .ok: "ok     "
            case .note: "note   "
            case .warning: "warning"
            case .problem: "PROBLEM"
            }
        return "\(mark)  \(message)"
    }
}

extension Gatehouse {
    /// The deployment doctor (SPEC section 10): the mistakes administrators hit most when
    /// putting a sign-in in front of Codecov — callback URLs, cookies over http, redirect loops,
    /// trusted proxies, route policy — and whether each provider answers. `codecovConfig`:
    /// Codecov's own `codecov.yml`, to check it agrees (its URL and its login restriction).
    public func gateCheck(codecovConfig: String? = nil) async -> [GateFinding] {
        var findings: [GateFinding] = []
        func add(_ level: GateFinding.Level, _ message: String) { findings.append(GateFinding(level: level, message: message)) }
        guard let gate else {
            add(
                .problem,
                "no gate: section in the configuration: the reverse proxy has nothing to ask (see README, \"Put Gatehouse in front of Codecov\")"
            )
            return findings
        }
        let origin = gate.origin
        add(.ok, "public URL \(origin); reverse proxy: \(gate.proxy.rawValue) (deploy/\(gate.proxy.rawValue))")
        if origin.isSecure {
            add(.ok, "over https the session cookie is \(gate.cookies.session): Secure, HttpOnly, SameSite=Lax, bound to \(origin.host)")
        } else if ["localhost", "127.0.0.1", "[::1]"].contains(origin.host) {
            add(.note, "public URL is http on this machine: fine for trying it out; use https anywhere else")
        } else {
            add(.warning, "public URL is http: session cookies cross the network unencrypted and without the __Host- prefix; use https")
        }
        if let instance = instanceHost, instance != origin.host {
            add(
                .warning,
                "instance_url names \(instance) but gate.public_url names \(origin.host): licenses are issued for the instance people reach"
            )
        }
        // Trusted proxies.
        if gate.trustedProxies.isEmpty {
            add(.problem, "gate.trusted_proxies is empty: every /gate/auth question will be refused")
        } else if gate.trustedProxies.contains(where: { $0.bits == 0 }) {
            add(
                .problem,
                "gate.trusted_proxies contains \(gate.trustedProxies.first { $0.bits == 0 }!): any client could describe its own request")
        } else {
            add(.ok, "only \(gate.trustedProxies.map(\.description).joined(separator: ", ")) may ask /gate/auth")
        }
        // Route policy: the gate's own pages must stay public, Codecov's login must not.
        let policy = (try? await policyInEffect()) ?? PolicySet()
        for path in ["/gate/sign-in", "/gate/callback/x", "/gate/sign-out", "/gate/static/gate.css"] {
            let routeClass = policy.gate.classify(GatePath(requestTarget: path))
            if routeClass != .public {
                add(
                    .problem,
                    "gate.yml classes \(path) as \(routeClass.rawValue): signing in would need a session first (a redirect loop); class /gate/** public"
                )
                break
            }
        }
        for path in ["/login/gh", "/login/github", "/login/gl"] where policy.gate.classify(GatePath(requestTarget: path)) == .public {
            add(.problem, "gate.yml classes \(path) as public: Codecov's own login would be reachable without signing in to Gatehouse")
        }
        if gate.session.idleTimeout > gate.session.maxAge {
            add(
                .note,
                "session idle_timeout (\(Int(gate.session.idleTimeout))s) is longer than max_age (\(Int(gate.session.maxAge))s): only max_age applies"
            )
        }
        add(
            .note,
            gate.publicAccess
                ? "public_access is on: pages reachable without a session stay visible to anyone who reaches the proxy"
                : "public_access is off: every app page needs a session")
        // Providers.
        if gate.signIn.isEmpty { add(.problem, "no sign-in provider (gate.signin): nobody can sign in") }
        for settings in gate.signIn {
            add(.note, "register this callback URL with \(settings.displayName) (\(settings.name)): \(gate.callbackURL(settings.name))")
            let problems = await signInProviders[settings.name]?.diagnose() ?? []
            if problems.isEmpty {
                add(
                    .ok,
                    "\(settings.name): \(settings.kind == .oidc ? "discovery and keys answer at \(settings.webURL)" : "\(settings.apiURL) answers")"
                )
            }
            for problem in problems { add(.problem, problem) }
        }
        let namespaces = Set(gate.signIn.map(\.provider))
        for provider in policy.login.restrictions.keys.sorted(by: { $0.rawValue < $1.rawValue })
        where !namespaces.contains(provider) && provider != .ldap {
            add(.note, "login.yml restricts \(provider.rawValue) logins, but no sign-in provider signs people in as \(provider.rawValue)")
        }
        if let codecovConfig { findings += checkCodecovConfig(codecovConfig, origin: origin, policy: policy) }
        return findings
    }

    /// Codecov's own codecov.yml against the gate: its URL (else Codecov's OAuth callback and
    /// the gate disagree, and sign-in loops), and its login restriction (else it contradicts
    /// login.yml).
    func checkCodecovConfig(_ path: String, origin: PublicOrigin, policy: PolicySet) -> [GateFinding] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8),
            let root = (try? Yams.load(yaml: text)) as? [String: Any]
        else { return [GateFinding(level: .problem, message: "cannot read Codecov's configuration \(path) as YAML")] }
        var findings: [GateFinding] = []
        let setup = root["setup"] as? [String: Any]
        if let url = setup?["codecov_url"] as? String {
            if PublicOrigin(url) == origin {
                findings.append(GateFinding(level: .ok, message: "Codecov's setup.codecov_url is \(url), the gate's public URL"))
            } else {
                findings.append(
                    GateFinding(
                        level: .problem,
                        message:
                            "Codecov's setup.codecov_url is \(url) but people reach it at \(origin): its OAuth callback (\(url)/login/…) would bypass or loop through the gate"
                    ))
            }
        } else {
            findings.append(GateFinding(level: .warning, message: "Codecov's configuration has no setup.codecov_url; set it to \(origin)"))
        }
        let expected = CodecovConfigExport.fragment(policy: policy, publicURL: nil)
        for service in Provider.allCases.map(\.rawValue) {
            let section = root[service] as? [String: Any]
            let orgs = Set((section?["organizations"] as? [Any])?.compactMap { "\($0)".lowercased() } ?? [])
            let want = Set(expected.organizations[service] ?? [])
            if !want.isEmpty || !orgs.isEmpty, orgs != want {
                findings.append(
                    GateFinding(
                        level: .warning,
                        message:
                            "Codecov's \(service).organizations \(orgs.sorted()) differ from login.yml's \(want.sorted()) (`gatehouse export codecov-config` prints the agreeing fragment)"
                    ))
            }
        }
        return findings
    }
}

/// The fragment of Codecov's own `codecov.yml` that agrees with `login.yml`: `setup.admins`
/// and `<service>.organizations` / `teams`, so Codecov's own restriction and Gatehouse's say
/// the same (`gatehouse export codecov-config`).
public struct CodecovConfigExport: Sendable {
    public var publicURL: String?
    public var admins: [(service: String, username: String)]
    public var organizations: [String: [String]]
    public var teams: [String: [String]]

    public static func fragment(policy: PolicySet, publicURL: String?) -> CodecovConfigExport {
        var organizations: [String: [String]] = [:], teams: [String: [String]] = [:]
        for (provider, restriction) in policy.login.restrictions where provider != .ldap && provider != .oidc && provider != .scim {
            // GitLab groups and GitHub orgs are both Codecov "organizations".
            let orgs = restriction.allowedOrgs.union(restriction.allowedGroups)
            if !orgs.isEmpty { organizations[provider.rawValue] = orgs.sorted() }
            // Codecov names a team by its slug; login.yml by org/team.
            let slugs = Set(restriction.allowedTeams.compactMap { $0.split(separator: "/").last.map(String.init) })
            if !slugs.isEmpty { teams[provider.rawValue] = slugs.sorted() }
        }
        let admins = policy.login.admins.filter { ![.ldap, .oidc, .scim].contains($0.provider) }
            .map { (service: $0.provider.rawValue, username: $0.username) }.sorted { ($0.service, $0.username) < ($1.service, $1.username) }
        return CodecovConfigExport(publicURL: publicURL, admins: admins, organizations: organizations, teams: teams)
    }

    /// YAML to merge into Codecov's codecov.yml.
    public var yaml: String {
        var lines = ["# Generated by `gatehouse export codecov-config` from the policy set in force.", "setup:"]
        if let publicURL { lines.append("  codecov_url: \(Self.quote(publicURL))") }
        if admins.isEmpty {
            lines.append("  admins: []")
        } else {
            lines.append("  admins:")
            for admin in admins { lines.append("    - {service: \(admin.service), username: \(Self.quote(admin.username))}") }
        }
        for service in Set(organizations.keys).union(teams.keys).sorted() {
            lines.append("\(service):")
            if let orgs = organizations[service] { lines.append("  organizations: [\(orgs.map(Self.quote).joined(separator: ", "))]") }
            if let names = teams[service] { lines.append("  teams: [\(names.map(Self.quote).joined(separator: ", "))]") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func quote(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    public var json: JSONValue {
        [
            "codecov_url": .optional(publicURL),
            "admins": .array(admins.map { ["service": .string($0.service), "username": .string($0.username)] }),
            "organizations": .object(organizations.mapValues { .array($0.map(JSONValue.string)) }),
            "teams": .object(teams.mapValues { .array($0.map(JSONValue.string)) }),
        ]
    }
}

extension Gatehouse {
    public func codecovConfig() async throws -> CodecovConfigExport {
        CodecovConfigExport.fragment(policy: try await policyInEffect(), publicURL: gate?.origin.description)
    }
}

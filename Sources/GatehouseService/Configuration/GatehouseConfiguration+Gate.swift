import Foundation
import GatehouseDomain
import GatehouseSignIn
import Yams

/// The gate (`gate:` in gatehouse.yml, SPEC section 10): where people reach Codecov, which
/// proxy asks and from where, session lifetimes, and the sign-in providers.
public struct GateConfiguration: Sendable {
    /// `gate.public_url`: the origin people reach Codecov at; `/gate/*` there is Gatehouse's.
    public var origin: PublicOrigin
    public var proxy: ProxyKind = .nginx
    /// Only these peers may describe the original request (`X-Forwarded-*`, `X-Original-*`).
    public var trustedProxies: [CIDR] = [CIDR.parse("127.0.0.1/32")!, CIDR.parse("::1/128")!]
    public var session = SessionLifetime()
    /// Requests with no session (of Gatehouse or of Codecov) pass on `app` routes.
    public var publicAccess = true
    /// Whom a refused person should ask (shown on the refusal page); the admins of
    /// `login.yml` when not set.
    public var help: String?
    public var signIn: [SignInSettings] = []

    public init(origin: PublicOrigin) { self.origin = origin }

    /// Where a provider sends the browser back.
    public func callbackURL(_ provider: String) -> String { "\(origin)/gate/callback/\(provider)" }

    public var cookies: GateCookies { GateCookies(secure: origin.isSecure) }

    static let keys: Set<String> = ["public_url", "proxy", "trusted_proxies", "session", "public_access", "help", "signin"]
    static let providerKeys: Set<String> = [
        "name", "kind", "display_name", "client_id", "client_secret_file", "web_url", "api_url", "url", "issuer", "username_claim",
        "groups_claim", "provider", "scopes", "ca_file", "clock_skew",
    ]
}

extension GatehouseConfiguration {
    mutating func applyGate(_ node: Node?, reader: inout YAMLReader, file: String, environment: [String: String]) {
        guard node != nil else { return }
        let fields = reader.mapping(node, "gate", allowed: GateConfiguration.keys)
        guard let url = reader.string(fields["public_url"], "gate.public_url") else {
            reader.problem(node, "gate", "public_url is required (where people reach Codecov, e.g. https://codecov.acme.internal)")
            return
        }
        guard let origin = PublicOrigin(url) else {
            reader.problem(fields["public_url"], "gate.public_url", "expected http(s)://host[:port] with no path, got \"\(url)\"")
            return
        }
        var gate = GateConfiguration(origin: origin)
        if let text = reader.string(fields["proxy"], "gate.proxy") {
            if let kind = ProxyKind(rawValue: text) {
                gate.proxy = kind
            } else {
                reader.problem(
                    fields["proxy"], "gate.proxy", "\"\(text)\" is not one of \(ProxyKind.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
        }
        if fields["trusted_proxies"] != nil {
            gate.trustedProxies = []
            for item in reader.sequence(fields["trusted_proxies"], "gate.trusted_proxies") {
                guard let text = reader.string(item, "gate.trusted_proxies") else { continue }
                if let cidr = CIDR.parse(text) {
                    gate.trustedProxies.append(cidr)
                } else {
                    reader.problem(item, "gate.trusted_proxies", "\"\(text)\" is not an address or network (e.g. 10.0.0.0/8)")
                }
            }
        }
        let session = reader.mapping(fields["session"], "gate.session", allowed: ["max_age", "idle_timeout"])
        if let seconds = Self.duration(session["max_age"], "gate.session.max_age", reader: &reader) {
            if (60...(90 * 86_400)).contains(seconds) {
                gate.session.maxAge = seconds
            } else {
                reader.problem(session["max_age"], "gate.session.max_age", "must be from 1m to 90d")
            }
        }
        if let seconds = Self.duration(session["idle_timeout"], "gate.session.idle_timeout", reader: &reader) {
            if (60...(90 * 86_400)).contains(seconds) {
                gate.session.idleTimeout = seconds
            } else {
                reader.problem(session["idle_timeout"], "gate.session.idle_timeout", "must be from 1m to 90d")
            }
        }
        if let value = reader.bool(fields["public_access"], "gate.public_access") { gate.publicAccess = value }
        gate.help = reader.string(fields["help"], "gate.help")
        var names = Set<String>()
        for (i, entry) in reader.sequence(fields["signin"], "gate.signin").enumerated() {
            guard let settings = Self.signIn(entry, index: i, reader: &reader, file: file, environment: environment) else { continue }
            if !names.insert(settings.name).inserted {
                reader.problem(entry, "gate.signin[\(i)].name", "\"\(settings.name)\" is used twice")
                continue
            }
            gate.signIn.append(settings)
        }
        self.gate = gate
    }

    /// One `gate.signin[]` entry.
    static func signIn(_ entry: Node, index i: Int, reader: inout YAMLReader, file: String, environment: [String: String])
        -> SignInSettings?
    {
        let path = "gate.signin[\(i)]"
        let f = reader.mapping(entry, path, allowed: GateConfiguration.providerKeys)
        guard let name = reader.string(f["name"], "\(path).name"), !name.isEmpty, name.count <= 40,
            name.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == "_") })
        else {
            reader.problem(entry, "\(path).name", "a name is required: 1-40 characters from a-z 0-9 - _ (it appears in the callback URL)")
            return nil
        }
        let p = "gate.signin.\(name)"
        guard let kindText = reader.string(f["kind"], "\(p).kind"), let kind = SignInSettings.Kind(rawValue: kindText) else {
            reader.problem(entry, "\(p).kind", "kind is required: github, gitlab or oidc")
            return nil
        }
        guard let clientID = reader.string(f["client_id"], "\(p).client_id"), !clientID.isEmpty else {
            reader.problem(entry, "\(p).client_id", "client_id is required")
            return nil
        }
        // The secret: from a file, or GATEHOUSE_SIGNIN_<NAME>_CLIENT_SECRET; never inline.
        let variable = "GATEHOUSE_SIGNIN_" + name.uppercased().replacingOccurrences(of: "-", with: "_") + "_CLIENT_SECRET"
        var secret = environment[variable].flatMap { $0.isEmpty ? nil : $0 }
        if secret == nil, let secretFile = reader.string(f["client_secret_file"], "\(p).client_secret_file") {
            let resolved = resolve(secretFile, relativeTo: file)
            if let data = FileManager.default.contents(atPath: resolved), let text = String(data: data, encoding: .utf8),
                !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            {
                secret = text.trimmingCharacters(in: .whitespacesAndNewlines)
            } else {
                reader.problem(f["client_secret_file"], "\(p).client_secret_file", "cannot read a secret from \(resolved)")
                return nil
            }
        }
        guard let secret else {
            reader.problem(entry, p, "the client secret is missing: set client_secret_file or \(variable)")
            return nil
        }
        func url(_ key: String) -> String? {
            guard let text = reader.string(f[key], "\(p).\(key)") else { return nil }
            guard text.hasPrefix("https://") || text.hasPrefix("http://"), URL(string: text)?.host != nil else {
                reader.problem(f[key], "\(p).\(key)", "expected an http(s) URL, got \"\(text)\"")
                return nil
            }
            return text
        }
        var settings: SignInSettings
        switch kind {
        case .github:
            let web = url("web_url") ?? "https://github.com"
            let isCom = URL(string: web)?.host?.lowercased() == "github.com"
            let api = url("api_url") ?? (isCom ? "https://api.github.com" : web.trimmingSuffix("/") + "/api/v3")
            settings = SignInSettings(
                name: name, kind: kind, displayName: isCom ? "GitHub" : "GitHub Enterprise", clientID: clientID, clientSecret: secret,
                webURL: web, apiURL: api, provider: isCom ? .github : .githubEnterprise)
        case .gitlab:
            let base = url("url") ?? "https://gitlab.com"
            let isCom = URL(string: base)?.host?.lowercased() == "gitlab.com"
            settings = SignInSettings(
                name: name, kind: kind, displayName: "GitLab", clientID: clientID, clientSecret: secret, webURL: base, apiURL: base,
                provider: isCom ? .gitlab : .gitlabEnterprise)
        case .oidc:
            guard let issuer = url("issuer") else {
                reader.problem(entry, "\(p).issuer", "issuer is required for an OpenID Connect provider")
                return nil
            }
            settings = SignInSettings(
                name: name, kind: kind, displayName: name, clientID: clientID, clientSecret: secret, webURL: issuer, apiURL: issuer,
                provider: .oidc)
            if let claim = reader.string(f["username_claim"], "\(p).username_claim") { settings.usernameClaim = claim }
            if let claim = reader.string(f["groups_claim"], "\(p).groups_claim") { settings.groupsClaim = claim }
        }
        if let text = reader.string(f["provider"], "\(p).provider") {
            let allowed: [Provider] =
                switch kind {
                case .github: [.github, .githubEnterprise]
                case .gitlab: [.gitlab, .gitlabEnterprise]
                case .oidc: [.oidc, .ldap]
                }
            if let provider = Provider(rawValue: text), allowed.contains(provider) {
                settings.provider = provider
            } else {
                reader.problem(
                    f["provider"], "\(p).provider",
                    "must be one of \(allowed.map(\.rawValue).joined(separator: ", ")) for kind \(kind.rawValue)")
            }
        }
        if let display = reader.string(f["display_name"], "\(p).display_name") { settings.displayName = display }
        if f["scopes"] != nil {
            settings.scopes = reader.sequence(f["scopes"], "\(p).scopes").compactMap { reader.string($0, "\(p).scopes") }
        }
        if let caFile = reader.string(f["ca_file"], "\(p).ca_file") {
            let resolved = resolve(caFile, relativeTo: file)
            if FileManager.default.isReadableFile(atPath: resolved) {
                settings.caFile = resolved
            } else {
                reader.problem(f["ca_file"], "\(p).ca_file", "cannot read \(resolved)")
            }
        }
        if let skew = duration(f["clock_skew"], "\(p).clock_skew", reader: &reader) {
            if skew <= 600 { settings.clockSkew = skew } else { reader.problem(f["clock_skew"], "\(p).clock_skew", "must be at most 10m") }
        }
        return settings
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        var s = self
        while s.hasSuffix(suffix) { s.removeLast(suffix.count) }
        return s
    }
}

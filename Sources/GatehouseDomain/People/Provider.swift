/// Where an identity comes from (SPEC section 2).
public enum Provider: String, Sendable, CaseIterable, Codable {
    case github
    case githubEnterprise = "github_enterprise"
    case gitlab
    case gitlabEnterprise = "gitlab_enterprise"
    case bitbucket
    case bitbucketServer = "bitbucket_server"
    /// The company directory: the truth about who works here.
    case ldap
    /// An OpenID Connect provider signed in through the gate (Okta, Entra ID, Keycloak, Dex…).
    case oidc
    /// People provisioned by an identity provider over SCIM.
    case scim

    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// `provider:username`, with the username compared case-insensitively.
public struct IdentityRef: Sendable, Hashable, CustomStringConvertible {
    public let provider: Provider
    /// As written (kept for display).
    public let username: String
    /// The comparison key: provider and lowercased username (computed once: identities are
    /// hashed and compared on every decision).
    public let key: String

    public init(provider: Provider, username: String) {
        self.provider = provider
        self.username = username
        self.key = provider.rawValue + ":" + username.lowercased()
    }

    public var description: String { provider.rawValue + ":" + username }

    /// A recycled username: the account that held it has gone (its stable id differs from the
    /// newcomer's), so its identity is renamed out of the way, keeping its person and history.
    /// The one spelling of that rename, for logins and directory syncs alike: `name~<old id>`.
    public static func movedAsideUsername(_ username: String, externalID: String?) -> String {
        username + "~" + (externalID ?? "old")
    }

    public static func == (a: IdentityRef, b: IdentityRef) -> Bool { a.key == b.key }
    public func hash(into hasher: inout Hasher) { hasher.combine(key) }

    /// Parses `provider:username`; `nil` if the provider is unknown or the username is not
    /// one that provider hands out (see `usernameProblem`).
    public static func parse(_ text: String) -> IdentityRef? {
        guard let colon = text.firstIndex(of: ":"), let provider = Provider(rawValue: String(text[..<colon])) else { return nil }
        let username = String(text[text.index(after: colon)...])
        guard isValidUsername(username, provider: provider) else { return nil }
        return IdentityRef(provider: provider, username: username)
    }

    public static func isValidUsername(_ s: String, provider: Provider) -> Bool { usernameProblem(s, provider: provider) == nil }

    /// Why `s` is not a username `provider` hands out, or `nil` if it is one. Everywhere: 1–255
    /// characters, no whitespace, control or invisible formatting characters (a zero-width
    /// space, a soft hyphen, a bidirectional override: `mallory` + U+200B must not be a person
    /// apart from `mallory`, nor slip past the deny list), no slash (a username is a path
    /// segment of the API). Then each provider's own rules: GitHub letters, digits and
    /// inner hyphens (and Enterprise Managed Users' `_shortcode`); GitLab letters, digits, `_`,
    /// `.` and `-`, not starting with `-` or `.` nor ending with `.`; Bitbucket letters, digits,
    /// `_`, `.`, `@`, `+` and `-`; the directory, OIDC and SCIM anything else printable, but not
    /// starting with `-`.
    public static func usernameProblem(_ s: String, provider: Provider) -> String? {
        // Printable ASCII (nearly every username) is one character per byte and has no space,
        // control or invisible character: the Unicode checks below are for the rest.
        let plain = s.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") }
        guard (1...255).contains(plain ? s.utf8.count : s.count), s.utf8.count <= 1024 else { return "must be 1-255 characters" }
        if !plain {
            for scalar in s.unicodeScalars {
                if scalar.value <= 0x20 || scalar.value == 0x7F || scalar.properties.isWhitespace {
                    return "must not contain spaces or control characters"
                }
                if scalar.properties.generalCategory == .format || scalar.properties.isDefaultIgnorableCodePoint {
                    return "must not contain invisible characters (U+\(String(scalar.value, radix: 16, uppercase: true)))"
                }
                if scalar == "/" { return "must not contain /" }
            }
        }
        func only(_ allowed: (UInt8) -> Bool) -> Bool { s.utf8.allSatisfy(allowed) }
        let alnum: (UInt8) -> Bool = { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) }
        let first = s.utf8.first!, last = s.utf8.last!
        switch provider {
        case .github, .githubEnterprise:
            guard s.utf8.count <= 100, only({ alnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }), alnum(first), alnum(last)
            else {
                return "is not a GitHub username (letters, digits and inner hyphens)"
            }
        case .gitlab, .gitlabEnterprise:
            guard only({ alnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }),
                alnum(first) || first == UInt8(ascii: "_"), last != UInt8(ascii: "."), !s.lowercased().hasSuffix(".git"),
                !s.lowercased().hasSuffix(".atom")
            else { return "is not a GitLab username (letters, digits, _ . -)" }
        case .bitbucket, .bitbucketServer:
            guard only({ alnum($0) || "_.@+-".utf8.contains($0) }), alnum(first) || first == UInt8(ascii: "_") else {
                return "is not a Bitbucket username (letters, digits, _ . @ + -)"
            }
        case .ldap, .oidc, .scim:
            guard first != UInt8(ascii: "-") else { return "must not start with -" }
        }
        return nil
    }
}

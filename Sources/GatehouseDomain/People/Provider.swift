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

    public static func == (a: IdentityRef, b: IdentityRef) -> Bool { a.key == b.key }
    public func hash(into hasher: inout Hasher) { hasher.combine(key) }

    /// Parses `provider:username`; `nil` if the provider is unknown or the username is not
    /// acceptable (1–255 printable characters without spaces or control characters).
    public static func parse(_ text: String) -> IdentityRef? {
        guard let colon = text.firstIndex(of: ":"), let provider = Provider(rawValue: String(text[..<colon])) else { return nil }
        let username = String(text[text.index(after: colon)...])
        guard isValidUsername(username) else { return nil }
        return IdentityRef(provider: provider, username: username)
    }

    public static func isValidUsername(_ s: String) -> Bool {
        (1...255).contains(s.count) && s.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value != 0x7F }
    }
}

import Foundation
import GatehouseDomain

/// A sign-in provider of the gate (`gate.signin[]` in gatehouse.yml): GitHub (github.com or
/// GitHub Enterprise Server), GitLab (gitlab.com or self-managed), or any OpenID Connect
/// provider. Each one runs the OAuth 2.0 authorization-code flow with PKCE (S256) and reads
/// who the person is, and the orgs, teams or groups they belong to, with the person's own
/// token — never from anything the browser says.
public protocol SignInProvider: Sendable {
    var settings: SignInSettings { get }
    /// Where to send the browser: the provider's authorization endpoint with this sign-in's
    /// `state`, PKCE challenge and (OIDC) nonce.
    func authorizationURL(redirectURI: String, state: String, codeChallenge: String, nonce: String) async throws(SignInError) -> String
    /// Exchanges the code (with the PKCE verifier) and reads the person and their memberships.
    func complete(code: String, redirectURI: String, codeVerifier: String, nonce: String, now: Date) async throws(SignInError)
        -> VerifiedIdentity
    /// What `gatehouse gate check` reports: the provider reachable and configured as expected
    /// (OIDC discovery and keys; the API answering). Empty when all is well.
    func diagnose() async -> [String]
}

/// Who signed in, as the provider told Gatehouse over its own API or in a signed ID token.
public struct VerifiedIdentity: Sendable, Equatable {
    public var identity: IdentityRef
    /// The provider's stable id (GitHub/GitLab numeric id, OIDC `sub`): a rename keeps the person.
    public var externalID: String
    public var email: String?
    public var name: String?
    /// Orgs (GitHub), groups (GitLab: full paths), lowercased.
    public var orgs: Set<String>
    /// `org/team` (GitHub), lowercased.
    public var teams: Set<String>
    /// Groups from the OIDC groups claim, lowercased.
    public var groups: Set<String>

    public init(
        identity: IdentityRef, externalID: String, email: String?, name: String?, orgs: Set<String> = [], teams: Set<String> = [],
        groups: Set<String> = []
    ) {
        self.identity = identity
        self.externalID = externalID
        self.email = email
        self.name = name
        self.orgs = orgs.lowercasedNames
        self.teams = teams.lowercasedNames
        self.groups = groups.lowercasedNames
    }
}

/// A sign-in failure: a stable code and one sentence for the person and the log (never a
/// secret, a token or a code).
public struct SignInError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The provider could not be reached or answered something unexpected.
        case providerUnavailable = "provider_unavailable"
        /// The provider refused the code (expired, used, or for another client).
        case codeRefused = "code_refused"
        /// The provider refused the person's token (revoked, or missing a scope).
        case tokenRefused = "token_refused"
        /// The ID token is not acceptable: signature, issuer, audience, expiry, nonce, algorithm.
        case invalidIDToken = "invalid_id_token"
        /// The provider's answer lacks what Gatehouse needs (a username claim, an id).
        case incompleteIdentity = "incomplete_identity"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// One configured sign-in provider (`gate.signin[]`).
public struct SignInSettings: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable { case github, gitlab, oidc }

    /// The name in URLs (`/gate/callback/NAME`, `?with=NAME`) and the chooser.
    public var name: String
    public var kind: Kind
    /// What the chooser shows ("GitHub", "Okta"…).
    public var displayName: String
    public var clientID: String
    /// From `client_secret_file` or the environment; never printed.
    public var clientSecret: String
    /// GitHub: `web_url` (authorize and token) and `api_url`; GitLab: `url`; OIDC: `issuer`.
    public var webURL: String
    public var apiURL: String
    /// The identity namespace: `github`/`github_enterprise`, `gitlab`/`gitlab_enterprise`,
    /// `oidc` by default for OIDC (or `ldap` to make them the directory's people).
    public var provider: Provider
    /// OIDC: the claims holding the username and the groups.
    public var usernameClaim: String
    public var groupsClaim: String
    /// Scopes asked for; the kind's default when empty.
    public var scopes: [String]
    /// A CA bundle (PEM) for a provider whose certificate an internal CA signed.
    public var caFile: String?
    /// Accepted difference between the provider's clock and ours for ID-token times.
    public var clockSkew: TimeInterval

    public init(
        name: String, kind: Kind, displayName: String? = nil, clientID: String, clientSecret: String, webURL: String, apiURL: String,
        provider: Provider, usernameClaim: String = "preferred_username", groupsClaim: String = "groups", scopes: [String] = [],
        caFile: String? = nil, clockSkew: TimeInterval = 60
    ) {
        self.name = name
        self.kind = kind
        self.displayName = displayName ?? name
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.webURL = webURL
        self.apiURL = apiURL
        self.provider = provider
        self.usernameClaim = usernameClaim
        self.groupsClaim = groupsClaim
        self.scopes = scopes
        self.caFile = caFile
        self.clockSkew = clockSkew
    }

    /// The provider client for these settings.
    public func makeProvider() -> any SignInProvider {
        switch kind {
        case .github: GitHubSignIn(self)
        case .gitlab: GitLabSignIn(self)
        case .oidc: OIDCSignIn(self)
        }
    }
}

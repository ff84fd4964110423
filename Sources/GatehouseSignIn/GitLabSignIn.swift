import Foundation
import GatehouseDomain

/// GitLab.com or self-managed GitLab (by `url`): the authorization-code flow with PKCE, then
/// `/api/v4/user` and `/api/v4/groups` (every page, at least Guest access) read with the
/// person's token. Group full paths (`acme/backend`) are the names `allowed_groups` meets.
struct GitLabSignIn: SignInProvider {
    let settings: SignInSettings
    let http: ProviderHTTP

    init(_ settings: SignInSettings) {
        self.settings = settings
        http = ProviderHTTP(providerName: settings.displayName, caFile: settings.caFile)
    }

    var base: String { trimmed(settings.webURL) }
    var scopes: [String] { settings.scopes.isEmpty ? ["read_user", "read_api"] : settings.scopes }

    func authorizationURL(redirectURI: String, state: String, codeChallenge: String, nonce: String) async throws(SignInError) -> String {
        ProviderHTTP.url(
            base + "/oauth/authorize",
            [
                ("client_id", settings.clientID), ("redirect_uri", redirectURI), ("response_type", "code"),
                ("scope", scopes.joined(separator: " ")), ("state", state), ("code_challenge", codeChallenge),
                ("code_challenge_method", "S256"),
            ])
    }

    func complete(code: String, redirectURI: String, codeVerifier: String, nonce: String, now: Date) async throws(SignInError)
        -> VerifiedIdentity
    {
        let token = try await http.exchange(
            tokenURL: base + "/oauth/token", code: code, redirectURI: redirectURI, codeVerifier: codeVerifier, clientID: settings.clientID,
            clientSecret: settings.clientSecret, basicAuth: false
        ).accessToken
        let userAnswer = try await http.get(base + "/api/v4/user", bearer: token)
        guard userAnswer.status == 200, let user = userAnswer.json else { throw http.refusal(userAnswer, reading: base + "/api/v4/user") }
        guard let username = user["username"]?.stringValue, let id = user["id"]?.idText,
            IdentityRef.isValidUsername(username, provider: settings.provider)
        else {
            throw SignInError(.incompleteIdentity, "\(settings.displayName): /api/v4/user has no username or id")
        }
        let groups = try await http.pages(base + "/api/v4/groups?min_access_level=10&per_page=100", bearer: token)
            .compactMap { $0["full_path"]?.stringValue }
        return VerifiedIdentity(
            identity: IdentityRef(provider: settings.provider, username: username), externalID: id,
            email: user["email"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }, name: user["name"]?.stringValue, orgs: Set(groups))
    }

    func diagnose() async -> [String] {
        do {
            let answer = try await http.get(base + "/api/v4/version")
            // Without a token GitLab answers 401 here: reachable and GitLab-shaped.
            if ![200, 401].contains(answer.status) {
                return ["\(settings.name): \(base)/api/v4/version answered HTTP \(answer.status); is url right?"]
            }
        } catch {
            return ["\(settings.name): \(error.message)"]
        }
        return []
    }
}

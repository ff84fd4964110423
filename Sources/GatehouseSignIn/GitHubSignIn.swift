import Foundation
import GatehouseDomain

/// GitHub.com or GitHub Enterprise Server (by `web_url` and `api_url`): an OAuth app's
/// authorization-code flow with PKCE, then `/user`, `/user/orgs` and `/user/teams` read with
/// the person's token (every page), so org and team restrictions rest on what GitHub says.
struct GitHubSignIn: SignInProvider {
    let settings: SignInSettings
    let http: ProviderHTTP

    init(_ settings: SignInSettings) {
        self.settings = settings
        http = ProviderHTTP(providerName: settings.displayName, caFile: settings.caFile)
    }

    static let apiHeaders = [("X-GitHub-Api-Version", "2022-11-28")]
    var scopes: [String] { settings.scopes.isEmpty ? ["read:org", "user:email"] : settings.scopes }
    var web: String { trimmed(settings.webURL) }
    var api: String { trimmed(settings.apiURL) }

    func authorizationURL(redirectURI: String, state: String, codeChallenge: String, nonce: String) async throws(SignInError) -> String {
        ProviderHTTP.url(
            web + "/login/oauth/authorize",
            [
                ("client_id", settings.clientID), ("redirect_uri", redirectURI), ("scope", scopes.joined(separator: " ")), ("state", state),
                ("code_challenge", codeChallenge), ("code_challenge_method", "S256"), ("allow_signup", "false"),
            ])
    }

    func complete(code: String, redirectURI: String, codeVerifier: String, nonce: String, now: Date) async throws(SignInError)
        -> VerifiedIdentity
    {
        let token = try await http.exchange(
            tokenURL: web + "/login/oauth/access_token", code: code, redirectURI: redirectURI, codeVerifier: codeVerifier,
            clientID: settings.clientID, clientSecret: settings.clientSecret, basicAuth: false
        ).accessToken
        let userAnswer = try await http.get(
            api + "/user", bearer: token, accept: "application/vnd.github+json", extraHeaders: Self.apiHeaders)
        guard userAnswer.status == 200, let user = userAnswer.json else { throw http.refusal(userAnswer, reading: api + "/user") }
        guard let login = user["login"]?.stringValue, let id = user["id"]?.idText,
            IdentityRef.isValidUsername(login, provider: settings.provider)
        else {
            throw SignInError(.incompleteIdentity, "\(settings.displayName): /user has no login or id")
        }
        var email = user["email"]?.stringValue
        if email == nil {
            // Private e-mail addresses need `user:email`; without it, no e-mail (not a failure).
            let emails = try? await http.pages(api + "/user/emails?per_page=100", bearer: token, extraHeaders: Self.apiHeaders, maxPages: 3)
            email = emails?.first(where: { $0["primary"] == .bool(true) && $0["verified"] == .bool(true) })?["email"]?.stringValue
        }
        let orgs = try await http.pages(api + "/user/orgs?per_page=100", bearer: token, extraHeaders: Self.apiHeaders)
            .compactMap { $0["login"]?.stringValue }
        let teams = try await http.pages(api + "/user/teams?per_page=100", bearer: token, extraHeaders: Self.apiHeaders)
            .compactMap { team -> String? in
                guard let slug = team["slug"]?.stringValue, let org = team["organization"]?["login"]?.stringValue else { return nil }
                return org + "/" + slug
            }
        return VerifiedIdentity(
            identity: IdentityRef(provider: settings.provider, username: login), externalID: id, email: email,
            name: user["name"]?.stringValue, orgs: Set(orgs), teams: Set(teams))
    }

    func diagnose() async -> [String] {
        do {
            // Unauthenticated, the API answers its root (GitHub.com: 200; GHES: 200 or 401).
            let answer = try await http.get(api + "/", accept: "application/vnd.github+json")
            if ![200, 401].contains(answer.status) {
                return ["\(settings.name): \(api)/ answered HTTP \(answer.status); is api_url right?"]
            }
        } catch {
            return ["\(settings.name): \(error.message)"]
        }
        return []
    }
}

func trimmed(_ url: String) -> String {
    var url = url
    while url.hasSuffix("/") { url.removeLast() }
    return url
}

import Crypto
import Foundation
import GatehouseDomain
import HTTPTypes
import Hummingbird

/// The authorization step of an OAuth provider, shared by the stand-ins: checks the client and
/// the redirect URI, remembers the PKCE challenge (and nonce) with a one-time code, and sends
/// the browser back as the provider would (it has already "signed in" whoever the test chose).
final class AuthorizationDesk: Sendable {
    struct Grant: Sendable {
        var user: String
        var challenge: String
        var nonce: String?
        var redirectURI: String
    }

    let clientID: String
    let clientSecret: String
    let grants = TestBox<[String: Grant]>([:])
    /// Who signs in next.
    let nextUser = TestBox("")

    init(clientID: String, clientSecret: String) {
        self.clientID = clientID
        self.clientSecret = clientSecret
    }

    func authorize(_ request: Request) -> Response {
        let q = request.uri.queryParameters
        guard q["client_id"].map(String.init) == clientID, let redirect = q["redirect_uri"].map(String.init), let state = q["state"],
            let challenge = q["code_challenge"].map(String.init), q["code_challenge_method"] == "S256"
        else { return Response(status: .badRequest) }
        let code = UUID().uuidString
        grants.withLock {
            $0[code] = Grant(
                user: nextUser.withLock { $0 }, challenge: challenge, nonce: q["nonce"].map(String.init), redirectURI: redirect)
        }
        let location = redirect + "?code=\(code)&state=\(state)"
        return Response(status: .found, headers: [.location: location])
    }

    /// Redeems a code once; `nil` unless client, secret, redirect URI and PKCE verifier match.
    func redeem(_ form: [String: String], basic: String?) -> Grant? {
        var id = form["client_id"], secret = form["client_secret"]
        if let basic,
            let decoded = Data(base64Encoded: String(basic.dropFirst("Basic ".count))).map({ String(decoding: $0, as: UTF8.self) }),
            let colon = decoded.firstIndex(of: ":")
        {
            id = String(decoded[..<colon]).removingPercentEncoding
            secret = String(decoded[decoded.index(after: colon)...]).removingPercentEncoding
        }
        guard id == clientID, secret == clientSecret, let code = form["code"], let verifier = form["code_verifier"],
            let grant = grants.withLock({ $0.removeValue(forKey: code) }), grant.redirectURI == form["redirect_uri"],
            SignInSecrets.codeChallenge(verifier) == grant.challenge
        else { return nil }
        return grant
    }

    static func form(_ request: Request) async throws -> [String: String] {
        let body = try await request.body.collect(upTo: 1 << 16)
        var fields: [String: String] = [:]
        for pair in String(buffer: body).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        return fields
    }
}

func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
    var fields = headers
    fields[.contentType] = "application/json"
    return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: value.canonicalText)))
}

/// A stand-in for GitHub (github.com or Enterprise Server). GitHub cannot run here; this follows
/// its published shapes: the OAuth app's authorize and access_token endpoints (an error is a
/// 200 with `error`), `/user`, `/user/emails`, `/user/orgs` and `/user/teams` paginated with
/// `Link: <…>; rel="next"` at `per_page` ≤ 100, and 401 "Bad credentials" for a revoked token.
final class GitHubStandIn: Sendable {
    struct Account: Sendable {
        var login: String
        var id: Int64
        var email: String?
        var orgs: [String]
        var teams: [(org: String, slug: String)]
    }

    let desk = AuthorizationDesk(clientID: "Iv1.gatehouse", clientSecret: "github-secret")
    let accounts = TestBox<[String: Account]>([:])
    let tokens = TestBox<[String: String]>([:])
    /// People who revoked the app: their tokens get 401 "Bad credentials".
    let revoked = TestBox<Set<String>>([])
    /// API requests seen (path and query), to check pagination was followed.
    let apiCalls = TestBox<[String]>([])
    let server: LiveServer
    var base: String { server.base }

    init() async throws {
        let desk = self.desk, accounts = self.accounts, tokens = self.tokens, apiCalls = self.apiCalls, revoked = self.revoked
        let router = Router()
        let box = TestBox("")
        router.get("/login/oauth/authorize") { request, _ in desk.authorize(request) }
        router.post("/login/oauth/access_token") { request, _ in
            let form = try await AuthorizationDesk.form(request)
            guard let grant = desk.redeem(form, basic: request.headers[.authorization]) else {
                return json(["error": "bad_verification_code", "error_description": "The code passed is incorrect or expired."])
            }
            let token = "gho_" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
            tokens.withLock { $0[token] = grant.user }
            return json(["access_token": .string(token), "token_type": "bearer", "scope": "read:org,user:email"])
        }
        @Sendable func account(_ request: Request) -> Account? {
            guard let auth = request.headers[.authorization], auth.hasPrefix("Bearer ") else { return nil }
            guard let user = tokens.withLock({ $0[String(auth.dropFirst(7))] }), !revoked.withLock({ $0.contains(user) }) else {
                return nil
            }
            apiCalls.withLock { $0.append(request.uri.description) }
            return accounts.withLock { $0[user] }
        }
        let badCredentials = json(
            ["message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"], status: .unauthorized)
        router.get("/api/v3/user") { request, _ in
            guard let a = account(request) else { return badCredentials }
            return json([
                "login": .string(a.login), "id": .int(a.id), "email": a.email.map(JSONValue.string) ?? .null,
                "name": .string(a.login.capitalized),
            ])
        }
        router.get("/api/v3/user/emails") { request, _ in
            guard let a = account(request) else { return badCredentials }
            return json(.array([["email": .string(a.login + "@users.example"), "primary": true, "verified": true]]))
        }
        @Sendable func page(_ request: Request, _ items: [JSONValue], path: String) -> Response {
            let perPage = min(100, Int(request.uri.queryParameters["per_page"] ?? "30") ?? 30)
            let number = max(1, Int(request.uri.queryParameters["page"] ?? "1") ?? 1)
            let slice = Array(items.dropFirst((number - 1) * perPage).prefix(perPage))
            var headers: HTTPFields = [:]
            let last = max(1, (items.count + perPage - 1) / perPage)
            if number < last {
                headers[HTTPField.Name("Link")!] =
                    "<\(box.withLock { $0 })\(path)?per_page=\(perPage)&page=\(number + 1)>; rel=\"next\", <\(box.withLock { $0 })\(path)?per_page=\(perPage)&page=\(last)>; rel=\"last\""
            }
            return json(.array(slice), headers: headers)
        }
        router.get("/api/v3/user/orgs") { request, _ in
            guard let a = account(request) else { return badCredentials }
            return page(
                request, a.orgs.enumerated().map { ["login": .string($0.element), "id": .int(Int64($0.offset))] }, path: "/api/v3/user/orgs"
            )
        }
        router.get("/api/v3/user/teams") { request, _ in
            guard let a = account(request) else { return badCredentials }
            return page(
                request, a.teams.map { ["slug": .string($0.slug), "name": .string($0.slug), "organization": ["login": .string($0.org)]] },
                path: "/api/v3/user/teams")
        }
        router.get("/api/v3") { _, _ in json(["current_user_url": "…"]) }
        server = try await LiveServer.start(router)
        box.withLock { $0 = server.base }
    }

    func settings(name: String = "github") -> SignInSettingsForTests {
        SignInSettingsForTests(
            name: name, kind: "github", lines: "web_url: \"\(base)\", api_url: \"\(base)/api/v3\", client_id: \(desk.clientID)",
            secret: desk.clientSecret)
    }
}

/// A stand-in for GitLab (gitlab.com or self-managed), after its published shapes:
/// `/oauth/authorize`, `/oauth/token` (400 `invalid_grant`), `/api/v4/user`, and
/// `/api/v4/groups?min_access_level=10` paginated with `X-Next-Page` and `Link`.
final class GitLabStandIn: Sendable {
    let desk = AuthorizationDesk(clientID: "gitlab-app-id", clientSecret: "gitlab-secret")
    let groups = TestBox<[String: (id: Int64, groups: [String])]>([:])
    let tokens = TestBox<[String: String]>([:])
    let server: LiveServer
    var base: String { server.base }

    init() async throws {
        let desk = self.desk, groups = self.groups, tokens = self.tokens
        let router = Router()
        router.get("/oauth/authorize") { request, _ in desk.authorize(request) }
        router.post("/oauth/token") { request, _ in
            let form = try await AuthorizationDesk.form(request)
            guard form["grant_type"] == "authorization_code", let grant = desk.redeem(form, basic: request.headers[.authorization]) else {
                return json(
                    ["error": "invalid_grant", "error_description": "The provided authorization grant is invalid."], status: .badRequest)
            }
            let token = UUID().uuidString
            tokens.withLock { $0[token] = grant.user }
            return json(["access_token": .string(token), "token_type": "Bearer", "expires_in": 7200, "scope": "read_user read_api"])
        }
        @Sendable func user(_ request: Request) -> String? {
            guard let auth = request.headers[.authorization], auth.hasPrefix("Bearer ") else { return nil }
            return tokens.withLock { $0[String(auth.dropFirst(7))] }
        }
        let unauthorized = json(["message": "401 Unauthorized"], status: .unauthorized)
        router.get("/api/v4/user") { request, _ in
            guard let name = user(request), let entry = groups.withLock({ $0[name] }) else { return unauthorized }
            return json([
                "id": .int(entry.id), "username": .string(name), "name": .string(name), "state": "active",
                "email": .string("\(name)@acme.com"),
            ])
        }
        router.get("/api/v4/groups") { request, _ in
            guard let name = user(request), let entry = groups.withLock({ $0[name] }) else { return unauthorized }
            guard request.uri.queryParameters["min_access_level"] == "10" else { return json(.array([])) }
            let perPage = Int(request.uri.queryParameters["per_page"] ?? "20") ?? 20
            let number = Int(request.uri.queryParameters["page"] ?? "1") ?? 1
            let slice = entry.groups.dropFirst((number - 1) * perPage).prefix(perPage)
            let more = entry.groups.count > number * perPage
            var headers: HTTPFields = [
                HTTPField.Name("X-Page")!: String(number), HTTPField.Name("X-Next-Page")!: more ? String(number + 1) : "",
            ]
            headers[HTTPField.Name("X-Per-Page")!] = String(perPage)
            return json(
                .array(slice.enumerated().map { ["id": .int(Int64($0.offset)), "full_path": .string($0.element)] }), headers: headers)
        }
        router.get("/api/v4/version") { _, _ in unauthorized }
        server = try await LiveServer.start(router)
    }

    func settings() -> SignInSettingsForTests {
        SignInSettingsForTests(
            name: "gitlab", kind: "gitlab", lines: "url: \"\(base)\", client_id: \(desk.clientID)", secret: desk.clientSecret)
    }
}

/// A hostile OpenID Connect provider: discovery, keys and a token endpoint whose ID token the
/// test shapes — signed with another key, `alg: none`, an HMAC over the public key, the wrong
/// audience, issuer or nonce, expired — to check that none of them signs anyone in. (A real
/// provider, oidc-provider-mock, covers the honest path.)
final class HostileOIDC: Sendable {
    let desk = AuthorizationDesk(clientID: "gatehouse", clientSecret: "oidc-secret")
    /// Published keys: kid → key.
    let published = TestBox<[String: P256.Signing.PrivateKey]>([:])
    /// Builds the ID token for a grant.
    let mint = TestBox<@Sendable (HostileOIDC, AuthorizationDesk.Grant) -> String>({ oidc, grant in oidc.token(for: grant) })
    let jwksFetches = TestBox(0)
    let server: LiveServer
    var issuer: String { server.base }

    init() async throws {
        let desk = self.desk, published = self.published, jwksFetches = self.jwksFetches
        let router = Router()
        let box = TestBox<HostileOIDC?>(nil)
        router.get("/.well-known/openid-configuration") { _, _ in
            let base = box.withLock { $0!.issuer }
            return json([
                "issuer": .string(base), "authorization_endpoint": .string(base + "/authorize"), "token_endpoint": .string(base + "/token"),
                "jwks_uri": .string(base + "/jwks"), "id_token_signing_alg_values_supported": ["ES256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            ])
        }
        router.get("/jwks") { _, _ in
            jwksFetches.withLock { $0 += 1 }
            return json([
                "keys": .array(published.withLock { $0 }.sorted { $0.key < $1.key }.map { HostileOIDC.jwk($0.value, kid: $0.key) })
            ])
        }
        router.get("/authorize") { request, _ in desk.authorize(request) }
        router.post("/token") { request, _ in
            let form = try await AuthorizationDesk.form(request)
            guard let grant = desk.redeem(form, basic: request.headers[.authorization]), let oidc = box.withLock({ $0 }) else {
                return json(["error": "invalid_grant"], status: .badRequest)
            }
            let idToken = oidc.mint.withLock { $0 }(oidc, grant)
            return json(["access_token": "at", "token_type": "Bearer", "id_token": .string(idToken)])
        }
        server = try await LiveServer.start(router)
        box.withLock { $0 = self }
        published.withLock { $0["k1"] = P256.Signing.PrivateKey() }
    }

    static func jwk(_ key: P256.Signing.PrivateKey, kid: String) -> JSONValue {
        let raw = Array(key.publicKey.x963Representation.dropFirst())
        return [
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": .string(kid), "x": .string(Base64.urlEncode(raw[0..<32])),
            "y": .string(Base64.urlEncode(raw[32..<64])),
        ]
    }

    /// The honest token for a grant: claims the test may change.
    func claims(for grant: AuthorizationDesk.Grant, now: Date = Date()) -> [String: JSONValue] {
        [
            "iss": .string(issuer), "sub": .string("sub-" + grant.user), "aud": .string(desk.clientID),
            "exp": .int(Int64(now.timeIntervalSince1970) + 300),
            "iat": .int(Int64(now.timeIntervalSince1970)), "nonce": grant.nonce.map(JSONValue.string) ?? .null,
            "preferred_username": .string(grant.user), "groups": ["codecov-users"],
        ]
    }

    func token(for grant: AuthorizationDesk.Grant) -> String { sign(claims(for: grant)) }

    /// An ES256 JWT signed with `key` (a published one by default) under `kid`.
    func sign(_ claims: [String: JSONValue], kid: String = "k1", key: P256.Signing.PrivateKey? = nil, header: [String: JSONValue]? = nil)
        -> String
    {
        let signer = key ?? published.withLock { $0[kid]! }
        let head = Base64.urlEncode(
            Array(JSONValue.object(header ?? ["alg": "ES256", "typ": "JWT", "kid": .string(kid)]).canonicalText.utf8))
        let body = Base64.urlEncode(Array(JSONValue.object(claims).canonicalText.utf8))
        let signature = try! signer.signature(for: Array((head + "." + body).utf8)).rawRepresentation
        return head + "." + body + "." + Base64.urlEncode(signature)
    }

    func settings() -> SignInSettingsForTests {
        SignInSettingsForTests(
            name: "hostile", kind: "oidc", lines: "issuer: \"\(issuer)\", client_id: \(desk.clientID)", secret: desk.clientSecret)
    }
}

/// A `gate.signin` entry for a stand-in, as gatehouse.yml writes it.
struct SignInSettingsForTests: Sendable {
    var name: String
    var kind: String
    var lines: String
    var secret: String
}

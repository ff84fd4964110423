import Foundation
import GatehouseDomain
import JWTKit

/// Any OpenID Connect provider, found by issuer discovery (Okta, Entra ID, Keycloak, Dex…):
/// the authorization-code flow with PKCE and a nonce, and an ID token checked before anything
/// in it is believed — signature against the provider's published keys (fetched again when a
/// token names a key not seen yet: rotation), algorithm, `iss`, `aud` (and `azp`), `exp`,
/// `iat`, `nonce`. The username and groups come from the configured claims of the ID token,
/// or of the userinfo answer when the ID token leaves them out.
final class OIDCSignIn: SignInProvider {
    let settings: SignInSettings
    let http: ProviderHTTP
    private let state = OIDCProviderState()

    init(_ settings: SignInSettings) {
        self.settings = settings
        http = ProviderHTTP(providerName: settings.displayName, caFile: settings.caFile)
    }

    var issuer: String { trimmed(settings.webURL) }
    var scopes: [String] { settings.scopes.isEmpty ? ["openid", "profile", "email"] : settings.scopes }

    /// Algorithms an ID token may be signed with: asymmetric only. `none` and the HMAC family
    /// (whose "key" would be public) are never accepted, whatever the provider advertises.
    static let acceptedAlgorithms: Set<String> = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]

    func authorizationURL(redirectURI: String, state: String, codeChallenge: String, nonce: String) async throws(SignInError) -> String {
        let discovery = try await discovered()
        return ProviderHTTP.url(
            discovery.authorizationEndpoint,
            [
                ("response_type", "code"), ("client_id", settings.clientID), ("redirect_uri", redirectURI),
                ("scope", scopes.joined(separator: " ")), ("state", state), ("nonce", nonce), ("code_challenge", codeChallenge),
                ("code_challenge_method", "S256"),
            ])
    }

    func complete(code: String, redirectURI: String, codeVerifier: String, nonce: String, now: Date) async throws(SignInError)
        -> VerifiedIdentity
    {
        let discovery = try await discovered()
        let tokens = try await http.exchange(
            tokenURL: discovery.tokenEndpoint, code: code, redirectURI: redirectURI, codeVerifier: codeVerifier,
            clientID: settings.clientID,
            clientSecret: settings.clientSecret, basicAuth: discovery.basicAuth)
        guard let idToken = tokens.idToken else {
            throw SignInError(.invalidIDToken, "\(settings.displayName) answered without an ID token (is the `openid` scope allowed?)")
        }
        var claims = try await verify(idToken, nonce: nonce, now: now, discovery: discovery)
        if claims[settings.usernameClaim] == nil || claims[settings.groupsClaim] == nil, let userinfo = discovery.userinfoEndpoint {
            let answer = try await http.get(userinfo, bearer: tokens.accessToken)
            if answer.status == 200, case .object(let extra)? = answer.json, extra["sub"] == claims["sub"] {
                for (key, value) in extra where claims[key] == nil { claims[key] = value }
            }
        }
        guard let sub = claims["sub"]?.idText else { throw SignInError(.invalidIDToken, "the ID token has no sub") }
        guard let username = claims[settings.usernameClaim]?.stringValue, IdentityRef.isValidUsername(username, provider: settings.provider)
        else {
            throw SignInError(
                .incompleteIdentity,
                "\(settings.displayName) sent no usable \(settings.usernameClaim) claim: set username_claim for this provider (e.g. email)")
        }
        var groups = Set<String>()
        switch claims[settings.groupsClaim] {
        case .array(let items)?: for case .string(let g) in items { groups.insert(g) }
        case .string(let g)?: groups.insert(g)
        default: break
        }
        return VerifiedIdentity(
            identity: IdentityRef(provider: settings.provider, username: username), externalID: sub,
            email: claims["email"]?.stringValue, name: claims["name"]?.stringValue, groups: groups)
    }

    /// Checks an ID token and returns its claims.
    func verify(_ token: String, nonce: String, now: Date, discovery: OIDCDiscovery) async throws(SignInError) -> [String: JSONValue] {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Base64.urlDecodeLenient(String(parts[0])),
            case .object(let header)? = try? JSONValue.parse(headerBytes),
            let payloadBytes = Base64.urlDecodeLenient(String(parts[1])),
            case .object(let claims)? = try? JSONValue.parse(payloadBytes)
        else { throw SignInError(.invalidIDToken, "the ID token is not a signed JWT") }
        guard let alg = header["alg"]?.stringValue, Self.acceptedAlgorithms.contains(alg),
            discovery.signingAlgorithms.isEmpty || discovery.signingAlgorithms.contains(alg)
        else {
            throw SignInError(
                .invalidIDToken, "the ID token is signed with \(header["alg"]?.stringValue ?? "no algorithm"), which is not accepted")
        }
        let kid = header["kid"]?.stringValue
        let keys = try await state.keys(
            kid: kid, now: now, fetch: { () async throws(SignInError) -> String in try await self.fetchJWKS(discovery) })
        do {
            _ = try await keys.verify(token, as: SignatureOnly.self)
        } catch {
            throw SignInError(.invalidIDToken, "the ID token's signature does not verify with \(settings.displayName)'s published keys")
        }
        guard claims["iss"]?.stringValue == discovery.issuer else {
            throw SignInError(
                .invalidIDToken, "the ID token was issued by \(claims["iss"]?.stringValue ?? "nobody"), not \(discovery.issuer)")
        }
        let audiences: [String]
        switch claims["aud"] {
        case .string(let a)?: audiences = [a]
        case .array(let list)?: audiences = list.compactMap(\.stringValue)
        default: audiences = []
        }
        guard audiences.contains(settings.clientID) else {
            throw SignInError(.invalidIDToken, "the ID token is not meant for this client (aud)")
        }
        if audiences.count > 1, let azp = claims["azp"]?.stringValue, azp != settings.clientID {
            throw SignInError(.invalidIDToken, "the ID token was issued to another party (azp)")
        }
        let skew = settings.clockSkew
        guard let exp = claims["exp"].flatMap(Self.seconds), Date(timeIntervalSince1970: exp).addingTimeInterval(skew) > now else {
            throw SignInError(.invalidIDToken, "the ID token has expired")
        }
        if let iat = claims["iat"].flatMap(Self.seconds), Date(timeIntervalSince1970: iat).addingTimeInterval(-skew) > now {
            throw SignInError(.invalidIDToken, "the ID token was issued in the future (check both clocks)")
        }
        if let nbf = claims["nbf"].flatMap(Self.seconds), Date(timeIntervalSince1970: nbf).addingTimeInterval(-skew) > now {
            throw SignInError(.invalidIDToken, "the ID token is not valid yet")
        }
        guard let sent = claims["nonce"]?.stringValue, APITokenCompare.equal(sent, nonce) else {
            throw SignInError(.invalidIDToken, "the ID token's nonce does not match this sign-in (a replayed token?)")
        }
        return claims
    }

    static func seconds(_ value: JSONValue) -> Double? {
        switch value {
        case .int(let i): Double(i)
        case .number(let text): Double(text)
        default: nil
        }
    }

    func fetchJWKS(_ discovery: OIDCDiscovery) async throws(SignInError) -> String {
        let answer = try await http.get(discovery.jwksURI)
        guard answer.status == 200, case .object? = answer.json else {
            throw SignInError(
                .providerUnavailable, "\(settings.displayName): its keys (\(discovery.jwksURI)) answered HTTP \(answer.status)")
        }
        return answer.text
    }

    /// The discovery document, fetched once and again after an hour.
    func discovered() async throws(SignInError) -> OIDCDiscovery {
        try await state.discovery { () async throws(SignInError) -> OIDCDiscovery in
            let url = self.issuer + "/.well-known/openid-configuration"
            let answer = try await self.http.get(url)
            guard answer.status == 200, let json = answer.json else {
                throw SignInError(.providerUnavailable, "\(self.settings.displayName): discovery (\(url)) answered HTTP \(answer.status)")
            }
            return try OIDCDiscovery(json, expectedIssuer: self.issuer, provider: self.settings.displayName)
        }
    }

    func diagnose() async -> [String] {
        do {
            let discovery = try await discovered()
            let keys = try await fetchJWKS(discovery)
            if case .object(let jwks)? = try? JSONValue.parse(keys), case .array(let list)? = jwks["keys"], list.isEmpty {
                return ["\(settings.name): the provider publishes no keys at \(discovery.jwksURI)"]
            }
            return []
        } catch {
            return ["\(settings.name): \(error.message)"]
        }
    }
}

/// What jwt-kit decodes after checking a signature: nothing (the claims are read and checked
/// by Gatehouse's own strict JSON parser, with an exact clock).
struct SignatureOnly: JWTPayload {
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// The parts of a discovery document Gatehouse uses.
struct OIDCDiscovery: Sendable {
    var issuer: String
    var authorizationEndpoint: String
    var tokenEndpoint: String
    var jwksURI: String
    var userinfoEndpoint: String?
    var signingAlgorithms: Set<String>
    /// Client authentication at the token endpoint: HTTP Basic unless only `client_secret_post` is offered.
    var basicAuth: Bool

    init(_ json: JSONValue, expectedIssuer: String, provider: String) throws(SignInError) {
        func url(_ key: String) throws(SignInError) -> String {
            guard let value = json[key]?.stringValue, value.hasPrefix("https://") || value.hasPrefix("http://") else {
                throw SignInError(.providerUnavailable, "\(provider): the discovery document has no \(key)")
            }
            return value
        }
        // OpenID Connect Discovery 4.3: the issuer must be exactly the one asked about.
        guard let issuer = json["issuer"]?.stringValue, trimmed(issuer) == expectedIssuer else {
            throw SignInError(
                .providerUnavailable,
                "\(provider): discovery names issuer \(json["issuer"]?.stringValue ?? "nothing"), not the configured \(expectedIssuer)")
        }
        self.issuer = issuer
        authorizationEndpoint = try url("authorization_endpoint")
        tokenEndpoint = try url("token_endpoint")
        jwksURI = try url("jwks_uri")
        userinfoEndpoint = json["userinfo_endpoint"]?.stringValue
        if case .array(let algs)? = json["id_token_signing_alg_values_supported"] {
            signingAlgorithms = Set(algs.compactMap(\.stringValue))
        } else {
            signingAlgorithms = []
        }
        if case .array(let methods)? = json["token_endpoint_auth_methods_supported"] {
            let names = methods.compactMap(\.stringValue)
            basicAuth = names.contains("client_secret_basic") || !names.contains("client_secret_post")
        } else {
            basicAuth = true
        }
    }
}

/// Discovery and keys of one provider, shared by concurrent sign-ins. Keys are fetched again
/// when a token names an unknown key id, at most once every 10 seconds (a flood of made-up
/// key ids costs one fetch, not one each), and every hour regardless.
actor OIDCProviderState {
    private var discovery: (value: OIDCDiscovery, at: Date)?
    private var keys: JWTKeyCollection?
    private var kids: Set<String> = []
    private var keysFetchedAt: Date?

    func discovery(_ fetch: @Sendable () async throws(SignInError) -> OIDCDiscovery) async throws(SignInError) -> OIDCDiscovery {
        if let cached = discovery, Date().timeIntervalSince(cached.at) < 3600 { return cached.value }
        let value = try await fetch()
        discovery = (value, Date())
        return value
    }

    func keys(kid: String?, now: Date, fetch: @Sendable () async throws(SignInError) -> String) async throws(SignInError)
        -> JWTKeyCollection
    {
        let unknown = kid.map { !kids.contains($0) } ?? false
        let stale = keysFetchedAt.map { Date().timeIntervalSince($0) > 3600 } ?? true
        let mayRefetch = keysFetchedAt.map { Date().timeIntervalSince($0) >= 10 } ?? true
        if let keys, !stale, !(unknown && mayRefetch) { return keys }
        let text = try await fetch()
        let collection = JWTKeyCollection()
        do {
            try await collection.add(jwksJSON: text)
        } catch {
            throw SignInError(.providerUnavailable, "the provider's published keys could not be read")
        }
        var ids = Set<String>()
        if case .object(let jwks)? = try? JSONValue.parse(text), case .array(let list)? = jwks["keys"] {
            for key in list { if let id = key["kid"]?.stringValue { ids.insert(id) } }
        }
        keys = collection
        kids = ids
        keysFetchedAt = Date()
        return collection
    }
}

/// Constant-time comparison of two strings (nonces, states).
enum APITokenCompare {
    static func equal(_ a: String, _ b: String) -> Bool { APIToken.constantTimeEquals(a, b) }
}

import Foundation
import GatehouseDomain
import GatehouseSignIn
import GatehouseStorage

/// The first step of a sign-in.
public enum SignInStart: Sendable, Equatable {
    /// Several providers and none chosen: the chooser page lists these.
    case choose([SignInChoice])
    /// Off to the provider, with the cookie that binds this sign-in to this browser.
    case redirect(url: String, setCookie: String)
}

/// A provider on the chooser page, with the link that starts signing in with it.
public struct SignInChoice: Sendable, Equatable {
    public var name: String
    public var displayName: String
    public var url: String
}

/// How a sign-in ended.
public enum SignInOutcome: Sendable, Equatable {
    /// A session: its cookie, and where to go now.
    case signedIn(redirect: String, setCookie: String, session: GateSession)
    /// The login decision (SPEC section 3) refused this person: who they are and why.
    case refused(identity: IdentityRef, personID: String?, reason: DecisionReason)
}

/// Who a session cookie belongs to.
public struct SessionHolder: Sendable, Equatable {
    public var session: GateSession
    public var email: String?
    public var seat: SeatState?
    public var role: Role
}

extension Gatehouse {
    /// A sign-in under way lasts at most this long.
    static let signInWindow: TimeInterval = 600

    func requireGate() throws(GatehouseError) -> GateConfiguration {
        guard let gate else {
            throw GatehouseError(.gateNotConfigured, "the gate is not configured: add a gate: section to gatehouse.yml")
        }
        return gate
    }

    /// The providers people can sign in with, in configured order.
    public var signInChoices: [SignInSettings] { gate?.signIn ?? [] }

    /// `GET /gate/sign-in?rd=…&with=…`: checks where to come back to (never another origin),
    /// then either lists the providers or sends the browser to one, binding the sign-in to the
    /// browser with a cookie.
    public func beginSignIn(rd: String?, with name: String?) async throws -> SignInStart {
        let gate = try requireGate()
        guard let target = gate.origin.redirectTarget(rd ?? "") else {
            throw GatehouseError(.invalidRedirect,
                "where to go after signing in must be a page of \(gate.origin) (rd=/path or \(gate.origin)/path)")
        }
        guard !gate.signIn.isEmpty else {
            throw GatehouseError(.noSigninProvider, "no sign-in provider is configured (gate.signin in gatehouse.yml)")
        }
        if name == nil, gate.signIn.count > 1 {
            return .choose(
                gate.signIn.map { settings in
                    SignInChoice(
                        name: settings.name, displayName: settings.displayName,
                        url: "/gate/sign-in?rd=\(Self.queryEncode(target))&with=\(Self.queryEncode(settings.name))")
                })
        }
        let chosen = name ?? gate.signIn[0].name
        guard let provider = signInProviders[chosen] else {
            throw GatehouseError(.unknownSigninProvider, "no sign-in provider named \"\(chosen)\"")
        }
        var rng = SystemRandomNumberGenerator()
        let state = SignInSecrets.random(using: &rng), binding = SignInSecrets.random(using: &rng)
        let t = now()
        let url: String
        do {
            url = try await provider.authorizationURL(
                redirectURI: gate.callbackURL(chosen), state: state,
                codeChallenge: SignInSecrets.codeChallenge(SignInSecrets.codeVerifier(binding: binding, state: state)),
                nonce: SignInSecrets.nonce(binding: binding, state: state))
        } catch {
            throw Self.gatehouseError(error)
        }
        try await store.saveSignInAttempt(
            SignInAttempt(
                stateHash: SignInSecrets.hash(state), bindingHash: SignInSecrets.hash(binding), provider: chosen, redirect: target,
                expiresAt: t.addingTimeInterval(Self.signInWindow)),
            at: t)
        return .redirect(url: url, setCookie: gate.cookies.setCookie(gate.cookies.signIn, binding, maxAge: Int(Self.signInWindow)))
    }

    /// `GET /gate/callback/NAME`: the provider sent the browser back. The state must be one this
    /// browser started (its binding cookie) and not used before; the code is exchanged with the
    /// PKCE verifier; the person and memberships are read from the provider; the login decision
    /// runs on them; a session starts.
    public func completeSignIn(
        provider name: String, code: String?, state: String?, error: String?, cookieHeader: String, userAgent: String, address: String
    ) async throws -> SignInOutcome {
        let gate = try requireGate()
        guard let provider = signInProviders[name] else {
            throw GatehouseError(.unknownSigninProvider, "no sign-in provider named \"\(name)\"")
        }
        if let error {
            let said = error.prefix(100).filter { $0.isLetter || $0.isNumber || $0 == "_" }
            throw GatehouseError(.signinCancelled, "\(provider.settings.displayName) did not sign you in (\(said)); you can start again")
        }
        guard let state, !state.isEmpty, state.utf8.count <= 512, let code, !code.isEmpty, code.utf8.count <= 4096 else {
            throw GatehouseError(.invalidCallback, "the sign-in answer lacks its code or state; start again")
        }
        let t = now()
        // Taken once: a replayed callback (same state, same code) finds nothing.
        guard let attempt = try await store.takeSignInAttempt(stateHash: SignInSecrets.hash(state), at: t) else {
            throw GatehouseError(.signinExpired, "this sign-in has expired or was already used; start again")
        }
        guard let binding = GateCookies.value(of: gate.cookies.signIn, in: cookieHeader),
            APIToken.constantTimeEquals(SignInSecrets.hash(binding), attempt.bindingHash), attempt.provider == name
        else {
            throw GatehouseError(.signinMismatch, "this sign-in was not started in this browser; start again")
        }
        let verified: VerifiedIdentity
        do {
            verified = try await provider.complete(
                code: code, redirectURI: gate.callbackURL(name), codeVerifier: SignInSecrets.codeVerifier(binding: binding, state: state),
                nonce: SignInSecrets.nonce(binding: binding, state: state), now: t)
        } catch {
            throw Self.gatehouseError(error)
        }
        let actor = "signin:\(name)"
        // A sign-in is rare and decides from the latest state: catch up first with what other
        // processes changed (an administrator's unblock a moment ago), rather than wait for
        // the next background sync.
        try await syncIfChanged()
        let decision = try await authorizeLogin(
            LoginRequest(
                identity: verified.identity, externalID: verified.externalID, email: verified.email, orgs: verified.orgs,
                teams: verified.teams, groups: verified.groups, verified: true),
            actor: actor)
        guard decision.allow, let personID = decision.personID else {
            return .refused(identity: verified.identity, personID: decision.personID, reason: decision.reason)
        }
        var rng = SystemRandomNumberGenerator()
        let token = SignInSecrets.random(using: &rng)
        let started = now()
        let session = GateSession(
            id: SignInSecrets.sessionID(using: &rng), tokenHash: SignInSecrets.hash(token), personID: personID, identity: verified.identity,
            signIn: name, createdAt: started, expiresAt: started.addingTimeInterval(gate.session.maxAge), lastSeenAt: started,
            userAgent: String(userAgent.prefix(200)), address: String(address.prefix(64)))
        try await start(session, actor: "gate:\(verified.identity)")
        return .signedIn(
            redirect: attempt.redirect, setCookie: gate.cookies.setCookie(gate.cookies.session, token, maxAge: Int(gate.session.maxAge)),
            session: session)
    }

    /// The session a `Cookie` header carries, if it is live (for `/gate/session`, sign-out and
    /// the pages that say who someone is).
    public func sessionHolder(cookieHeader: String) async throws -> SessionHolder? {
        guard let gate, let token = GateCookies.value(of: gate.cookies.session, in: cookieHeader), token.utf8.count == 43 else {
            return nil
        }
        try await ensureLoaded()
        forgetEndedSessions()
        let hash = SignInSecrets.hash(token)
        let t = now()
        return live.read { s in
            guard let session = s.index.session(hash: hash), APIToken.constantTimeEquals(session.tokenHash, hash),
                !session.isExpired(at: t, idle: gate.session.idleTimeout)
            else { return nil }
            let person = s.index.person(session.personID)
            let role = s.policy.login.admins.contains(session.identity) ? Role.admin : person?.role ?? .user
            return SessionHolder(session: session, email: person?.email, seat: person?.seat, role: role)
        }
    }

    /// `POST /gate/sign-out`: ends the session the cookie carries (audited); `nil` if none.
    public func signOut(cookieHeader: String) async throws -> GateSession? {
        guard let holder = try await sessionHolder(cookieHeader: cookieHeader) else { return nil }
        return try await endSessions(.ids([holder.session.id]), reason: "signed out", actor: "gate:\(holder.session.identity)").first
    }

    /// Whom a refused person should ask: `gate.help`, or the admins named in `login.yml`.
    public func gateHelp() async -> String {
        if gate?.help == nil, !live.isLoaded { try? await ensureLoaded() }
        return gateHelpNow()
    }

    /// `gateHelp` from memory (the policy as loaded), without suspending.
    public func gateHelpNow() -> String {
        if let help = gate?.help { return help }
        let admins = live.read { $0.policy.login.admins }.map(\.description).sorted()
        return admins.isEmpty ? "your Codecov administrators" : "your Codecov administrators (\(admins.joined(separator: ", ")))"
    }

    static func gatehouseError(_ error: any Error) -> any Error {
        guard let error = error as? SignInError else { return error }
        return GatehouseError(.signIn(error.code), error.message)
    }
}

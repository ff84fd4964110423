import Foundation
import GatehouseDomain
import GatehouseStorage

/// The gate's answer to the reverse proxy, with what the upstream is told about the person.
public struct GateAuthAnswer: Sendable, Equatable {
    /// 200 pass, 401 sign in first, 403 refused.
    public var status: Int
    /// For 403: a decision reason (SPEC section 3) or a gate code (`untrusted_proxy`,
    /// `proxy_misconfigured`, `gate_not_configured`).
    public var reason: String?
    /// One sentence for a person or an administrator.
    public var message: String?
    /// For a pass with a session: `provider:username`, person id, e-mail, role.
    public var user: String?
    public var personID: String?
    public var email: String?
    public var role: String?
    /// For 401: where to sign in (with the original URL to come back to).
    public var signInURL: String?

    static func refuse(_ reason: String, _ message: String) -> GateAuthAnswer {
        GateAuthAnswer(status: 403, reason: reason, message: message)
    }
}

extension Gatehouse {
    /// How often a session's or person's last-seen time is noted (and later written).
    static let sessionSeenResolution: TimeInterval = 60

    /// `/gate/auth`: may this request through the reverse proxy reach Codecov? Decided from
    /// memory, without a database read (but for a session that memory believes idle, whose
    /// stored last-seen time another replica may have moved).
    /// - Parameters:
    ///   - peer: the address the question came from; only `gate.trusted_proxies` may ask.
    ///   - method, path: how the gate itself was asked (Envoy puts the original path after
    ///     `/gate/auth`).
    ///   - header: every value of a request header, by name.
    public func gateAuth(peer: IPAddress?, method: String, path: String, header: (String) -> [String]) async -> GateAuthAnswer {
        if !live.isLoaded { try? await ensureLoaded() }
        switch prepareGate(peer: peer, method: method, path: path, header: header) {
        case .answered(let answer): return answer
        case .question(let question):
            var decision = decideGate(question)
            if case .idle(let session) = decision.session {
                // Memory thinks the session idle; another replica may have seen it since.
                let t = question.at
                if let stored = try? await store.session(tokenHash: session.tokenHash),
                    !stored.isExpired(at: t, idle: gate?.session.idleTimeout ?? 0)
                {
                    live.update { $0.index.touchSession(hash: stored.tokenHash, at: stored.lastSeenAt) }
                } else {
                    _ = try? await endSessions(.ids([session.id]), reason: "idle", actor: "system")
                }
                decision = decideGate(question)
            }
            return finish(decision, at: question.at)
        }
    }

    /// `gateAuth` without suspending, for the forward-auth listener's event loop: the answer
    /// when memory holds it, `nil` when the database must be asked (memory not loaded yet, or
    /// a session memory believes idle).
    public func gateAuthNow(peer: IPAddress?, method: String, path: String, header: (String) -> [String]) -> GateAuthAnswer? {
        guard live.isLoaded else { return nil }
        switch prepareGate(peer: peer, method: method, path: path, header: header) {
        case .answered(let answer): return answer
        case .question(let question):
            let decision = decideGate(question)
            if case .idle = decision.session { return nil }
            return finish(decision, at: question.at)
        }
    }

    /// A question the gate has read: the original request, the session's hash, the cookies.
    struct GateQuestion {
        var original: ForwardedRequest
        var sessionHash: String?
        var cookies: String
        var at: Date
    }

    enum Prepared {
        case answered(GateAuthAnswer)
        case question(GateQuestion)
    }

    /// Who asks, about what, with which session: everything before memory is read.
    func prepareGate(peer: IPAddress?, method: String, path: String, header: (String) -> [String]) -> Prepared {
        guard let gate else { return .answered(.refuse("gate_not_configured", "the gate is not configured (gate: in gatehouse.yml)")) }
        guard let peer, gate.trustedProxies.contains(where: { $0.contains(peer) }) else {
            return .answered(.refuse("untrusted_proxy", "\(peer.map { "\($0)" } ?? "this address") is not in gate.trusted_proxies"))
        }
        let original: ForwardedRequest
        switch ForwardedRequest.read(kind: gate.proxy, header: header, path: path, method: method) {
        case .success(let request): original = request
        case .failure(let problem):
            return .answered(
                .refuse("proxy_misconfigured", "\(problem) (gate.proxy is \(gate.proxy.rawValue); see deploy/\(gate.proxy.rawValue))"))
        }
        // A session belongs to the public origin: for another host (a copied cookie, a
        // neighbouring site on the same proxy) it counts for nothing.
        let hostMatches = original.host.map { gate.origin.matches(host: $0) } ?? true
        let cookies = header("Cookie").joined(separator: "; ")
        let token = hostMatches ? GateCookies.value(of: gate.cookies.session, in: cookies) : nil
        let hash = token.flatMap { $0.utf8.count == 43 ? SignInSecrets.hash($0) : nil }
        forgetEndedSessions()
        return .question(GateQuestion(original: original, sessionHash: hash, cookies: cookies, at: now()))
    }

    /// Notes a session's use (once a minute) and returns the answer.
    func finish(_ decision: GateDecision, at t: Date) -> GateAuthAnswer {
        if case .valid(let session) = decision.session, t.timeIntervalSince(session.lastSeenAt) >= Self.sessionSeenResolution {
            live.update { $0.index.touchSession(hash: session.tokenHash, at: t) }
            live.noteSessionSeen(session.id, at: t)
            live.noteSeen(session.personID, at: t)
        }
        return decision.result
    }

    /// Drops from memory the sessions this process's own transactions ended as a side effect
    /// (a block, a released seat, a departure): at once, not at the next sync.
    func forgetEndedSessions() {
        let ended = store.writeLog.takeEndedSessions()
        if !ended.isEmpty { live.apply { for id in ended { $0.index.removeSession(id: id) } } }
    }

    /// The session a request carries, as memory sees it.
    enum SessionState {
        case none
        case valid(GateSession)
        /// Memory's last-seen time says idle (the database may know better).
        case idle(GateSession)
    }

    struct GateDecision {
        var result: GateAuthAnswer
        var session: SessionState
    }

    /// One read of memory: the route's class, the session, the person and the verdict.
    func decideGate(_ question: GateQuestion) -> GateDecision {
        guard let gate else { return GateDecision(result: .refuse("gate_not_configured", "the gate is not configured"), session: .none) }
        let original = question.original, sessionHash = question.sessionHash, cookies = question.cookies, t = question.at
        // Through the pointer: the closures below that use a borrowed snapshot copied it whole.
        return live.peek { s in
            let index = s.pointee.index  // one copy: calling its methods through the pointer copied it for each
            let routeClass = s.pointee.policy.gate.classify(GatePath(requestTarget: original.uri))
            let licenseState = LicenseEvaluator.evaluate(s.pointee.verification, now: t, latestSeen: s.pointee.latestSeen).state
            var state = SessionState.none
            var sessionFacts: (personID: String, verdict: Verdict)?
            var person: PersonRecord?
            var session: GateSession?
            if routeClass == .signin || routeClass == .app, let sessionHash, let found = index.session(hash: sessionHash),
                APIToken.constantTimeEquals(found.tokenHash, sessionHash)
            {
                if t >= found.expiresAt {
                    state = .none
                } else if t.timeIntervalSince(found.lastSeenAt) >= gate.session.idleTimeout {
                    state = .idle(found)
                } else if let facts = index.facts(found.personID), let record = index.person(found.personID) {
                    state = .valid(found)
                    session = found
                    person = record
                    let identity = index.identity(found.identity)
                    let (orgs, teams) = index.effectiveMemberships(of: identity?.id, includeStoredClaims: false)
                    let verdict = LoginDecider.decide(
                        LoginFacts(identity: found.identity, person: facts, orgs: orgs, teams: teams, licenseState: licenseState),
                        policy: s.pointee.policy)
                    sessionFacts = (found.personID, verdict)
                }
            }
            if case .idle = state { return GateDecision(result: GateAuthAnswer(status: 401), session: state) }
            // Only an anonymous visitor of an app page needs Codecov's cookies looked at.
            let carriesCodecovSession =
                routeClass == .app && sessionFacts == nil && gate.publicAccess
                && GateCookies.names(in: cookies).contains { s.pointee.policy.gate.codecovSessionCookies.contains(String($0)) }
            let answer = GateDecider.decide(
                routeClass: routeClass, session: sessionFacts, licenseState: licenseState, publicAccess: gate.publicAccess,
                carriesCodecovSession: carriesCodecovSession)
            var result: GateAuthAnswer
            switch answer {
            case .pass(let personID):
                result = GateAuthAnswer(status: 200)
                if let personID, let session, let person {
                    result.user = session.identity.description
                    result.personID = personID
                    result.email = person.email
                    result.role = (s.pointee.policy.login.admins.contains(session.identity) ? Role.admin : person.role).rawValue
                }
            case .signIn:
                result = GateAuthAnswer(status: 401, message: "sign in to continue")
                result.signInURL = signInURL(for: original, gate: gate)
            case .refuse(let reason):
                result = .refuse(reason.rawValue, Self.explanation(reason))
                result.user = session?.identity.description
                result.personID = session?.personID
            }
            return GateDecision(result: result, session: state)
        }
    }

    /// `/gate/sign-in?rd=<the original URL>` on the public origin.
    func signInURL(for original: ForwardedRequest, gate: GateConfiguration) -> String {
        let back = original.uri.hasPrefix("/") ? original.uri : "/"
        return "\(gate.origin)/gate/sign-in?rd=" + Self.queryEncode(back)
    }

    static func queryEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)..<Unicode.Scalar(128)))
        allowed.insert(charactersIn: "-._~/")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// What a refused person reads: the reason in words.
    public static func explanation(_ reason: DecisionReason) -> String {
        switch reason {
        case .ok: "allowed"
        case .licenseMissing: "no Codecov license is installed"
        case .licenseInvalid: "the installed Codecov license is not valid"
        case .licenseExpired: "the Codecov license has expired"
        case .licenseNotYetValid: "the Codecov license is not in force yet"
        case .clockTampered: "the server's clock is behind the time last recorded, so the license cannot be trusted"
        case .deniedByPolicy: "your account is on the deny list"
        case .userBlocked: "your account has been blocked by an administrator"
        case .notInAllowedOrg: "you are not a member of an organization allowed to use Codecov"
        case .notInAllowedTeam: "you are not a member of a team allowed to use Codecov"
        case .notInAllowedGroup: "you are not a member of a group allowed to use Codecov"
        case .notInDirectory: "you are not (or no longer) in the company directory"
        case .noSeatAvailable: "every Codecov seat is taken"
        case .authorHasNoSeat: "the author has no Codecov seat"
        default: "access is refused (\(reason.rawValue))"
        }
    }
}

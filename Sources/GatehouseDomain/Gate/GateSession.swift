import Foundation

/// A signed-in person's session at the gate (SPEC section 10): server-side, known by the hash
/// of its 256-bit secret, with an absolute and an idle expiry.
public struct GateSession: Sendable, Equatable {
    /// Public handle (`s_…`), for listing and revoking; never a credential.
    public var id: String
    /// SHA-256 (hex) of the cookie's secret.
    public var tokenHash: String
    public var personID: String
    /// The identity signed in with (`provider:username`).
    public var identity: IdentityRef
    /// The configured sign-in provider it came through (`gate.signin[].name`).
    public var signIn: String
    public var createdAt: Date
    /// The absolute end (`session.max_age` after creation).
    public var expiresAt: Date
    /// The last request seen (to a minute), for the idle expiry.
    public var lastSeenAt: Date
    /// For `sessions list`: the browser and the address it signed in from.
    public var userAgent: String
    public var address: String

    public init(
        id: String, tokenHash: String, personID: String, identity: IdentityRef, signIn: String, createdAt: Date, expiresAt: Date,
        lastSeenAt: Date, userAgent: String, address: String
    ) {
        self.id = id
        self.tokenHash = tokenHash
        self.personID = personID
        self.identity = identity
        self.signIn = signIn
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.lastSeenAt = lastSeenAt
        self.userAgent = userAgent
        self.address = address
    }

    /// Whether the session is over at `now`: past its absolute end, or idle longer than `idle`.
    public func isExpired(at now: Date, idle: TimeInterval) -> Bool {
        now >= expiresAt || now.timeIntervalSince(lastSeenAt) >= idle
    }
}

/// Session lifetimes (`gate.session`).
public struct SessionLifetime: Sendable, Equatable {
    public var maxAge: TimeInterval
    public var idleTimeout: TimeInterval

    public init(maxAge: TimeInterval = 12 * 3600, idleTimeout: TimeInterval = 2 * 3600) {
        self.maxAge = maxAge
        self.idleTimeout = idleTimeout
    }
}

/// The gate's answer to the reverse proxy.
public enum GateAnswer: Sendable, Equatable {
    /// 200: forward the request; the person when a session vouches for one.
    case pass(personID: String?)
    /// 401: no valid session; sign in first.
    case signIn
    /// 403: refused, with the decision reason (SPEC section 3).
    case refuse(DecisionReason)
}

/// What the gate answers for one request, from the route's class and what memory says about
/// the session's person. Pure: the caller gathers the facts in one read of memory.
public enum GateDecider {
    /// - Parameters:
    ///   - routeClass: the class of the request's path.
    ///   - session: the person of a valid session and the login verdict for them now (section 3,
    ///     on their verified memberships), or `nil` without a valid session.
    ///   - licenseState: the license state now.
    ///   - publicAccess: `gate.public_access`.
    ///   - carriesCodecovSession: the request carries one of Codecov's session cookies.
    public static func decide(
        routeClass: RouteClass, session: (personID: String, verdict: Verdict)?, licenseState: LicenseState, publicAccess: Bool,
        carriesCodecovSession: Bool
    ) -> GateAnswer {
        switch routeClass {
        case .public:
            return .pass(personID: nil)
        case .upload:
            if let reason = DecisionReason.forLicense(licenseState) { return .refuse(reason) }
            return .pass(personID: nil)
        case .signin, .app:
            if let session {
                switch session.verdict {
                case .allow: return .pass(personID: session.personID)
                case .deny(let reason): return .refuse(reason)
                // The seat is gone (released, or never granted): signing in again asks for one.
                case .activateSeat: return .signIn
                }
            }
            guard routeClass == .app, publicAccess, !carriesCodecovSession else { return .signIn }
            if let reason = DecisionReason.forLicense(licenseState) { return .refuse(reason) }
            return .pass(personID: nil)
        }
    }
}

/// A sign-in under way, as stored: hashes only (see `SignInSecrets`).
public struct SignInAttempt: Sendable, Equatable {
    public var stateHash: String
    public var bindingHash: String
    /// The configured sign-in provider's name.
    public var provider: String
    /// Where to go afterwards (an absolute URL of the public origin).
    public var redirect: String
    public var expiresAt: Date

    public init(stateHash: String, bindingHash: String, provider: String, redirect: String, expiresAt: Date) {
        self.stateHash = stateHash
        self.bindingHash = bindingHash
        self.provider = provider
        self.redirect = redirect
        self.expiresAt = expiresAt
    }
}

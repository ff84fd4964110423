/// How the gate treats a route (SPEC section 10).
public enum RouteClass: String, Sendable, CaseIterable {
    /// Always passes: webhooks, badges and graphs, static assets, Gatehouse's own `/gate/`.
    case `public`
    /// Passes while the license state allows uploads; per-author seats stay with the upload decision.
    case upload
    /// Codecov's own login (`/login/…`): needs a Gatehouse session, so the only way to a Codecov
    /// session is through Gatehouse.
    case signin
    /// Everything else: needs a session, or passes anonymously under `public_access` when the
    /// request carries no Codecov session cookie.
    case app
}

/// One rule of `policies/gate.yml`: the first rule with a matching pattern classes a path.
public struct RouteRule: Sendable, Equatable {
    public var routeClass: RouteClass
    public var patterns: [PathPattern]

    public init(_ routeClass: RouteClass, _ patterns: [PathPattern]) {
        self.routeClass = routeClass
        self.patterns = patterns
    }
}

/// The gate's route policy (`policies/gate.yml`).
public struct GatePolicy: Sendable, Equatable {
    public var routes: [RouteRule]
    /// Names of the cookies by which Codecov keeps its own session: a request carrying one is
    /// never an anonymous visitor of a public page.
    public var codecovSessionCookies: Set<String>

    public init(routes: [RouteRule], codecovSessionCookies: Set<String>) {
        self.routes = routes
        self.codecovSessionCookies = codecovSessionCookies
    }

    /// The class of a request path. A path that is not canonical (see `GatePath`) is never
    /// public or upload, and never anonymous: it is classed `signin` (a session is required).
    public func classify(_ path: GatePath) -> RouteClass {
        guard path.canonical else { return .signin }
        var decoded = path.decoded
        return decoded.withUTF8 { bytes in
            for rule in routes where rule.patterns.contains(where: { $0.matches(bytes) }) { return rule.routeClass }
            return .app
        }
    }

    /// The shipped default, mirroring Codecov's own gateway map (`codecov-gateway`'s
    /// `config/codecov.map`): what its HAProxy routes to the API without a session of its own.
    public static let shipped: GatePolicy = {
        func p(_ list: [String]) -> [PathPattern] { list.map { PathPattern($0)! } }
        let graphs = ["badge.svg", "tree.svg", "icicle.svg", "sunburst.svg", "commits.svg"]
        return GatePolicy(
            routes: [
                RouteRule(.public, p(["/gate/**"])),
                RouteRule(.public, p(["/webhooks", "/webhooks/**"])),
                RouteRule(.public, p(graphs.flatMap { ["/**/graph/\($0)", "/**/graphs/\($0)"] })),
                RouteRule(
                    .public,
                    p([
                        "/static/**", "/assets/**", "/favicon.ico", "/robots.txt", "/manifest.json", "/frontend_health", "/gateway_health",
                        "/api_health", "/api_health/",
                    ])),
                RouteRule(.upload, p(["/upload/**", "/validate", "/validate/"])),
                RouteRule(.signin, p(["/login", "/login/**"])),
            ],
            codecovSessionCookies: Set(
                ["sessionid", "session_expiry"]
                    + ["github", "gitlab", "bitbucket", "github_enterprise", "gitlab_enterprise", "bitbucket_server"].map { "\($0)-token" })
        )
    }()
}

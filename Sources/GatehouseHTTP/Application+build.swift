import GatehouseService
import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle

/// Where and how the HTTP server listens.
public struct HTTPSettings: Sendable {
    public var host: String
    public var port: Int
    /// Deadlines and the connection cap (`http:` in gatehouse.yml).
    public var limits: ConnectionLimits
    /// Decisions that need no write answered on the event loop (`DecisionFastPath`); off,
    /// every request goes through the router (the tests compare the two).
    public var decisionsOnEventLoop: Bool
    /// The event loops the server runs on (`http.threads`).
    public var loops: HTTPEventLoops

    public init(
        host: String, port: Int, limits: ConnectionLimits = ConnectionLimits(), decisionsOnEventLoop: Bool = true,
        loops: HTTPEventLoops = .shared
    ) {
        self.host = host
        self.port = port
        self.limits = limits
        self.decisionsOnEventLoop = decisionsOnEventLoop
        self.loops = loops
    }
}

/// The router with every route and middleware, shared by the server and in-process tests.
public func buildRouter(
    gatehouse: Gatehouse, metrics: GatehouseMetrics, catalog: RouteCatalog = RouteCatalog(), logRequests: Bool = false
) -> Router<GatehouseContext> {
    let router = Router(context: GatehouseContext.self)
    router.add(middleware: EdgeMiddleware(metrics: metrics))
    // Request logging costs an async frame per request: only when asked for (LOG_LEVEL=debug).
    if logRequests { router.add(middleware: RequestLogMiddleware()) }
    let api = Registrar(router: router, catalog: catalog)
    OperationsRoutes(gatehouse: gatehouse, metrics: metrics).register(api)
    LicenseRoutes(gatehouse: gatehouse).register(api)
    AuditRoutes(gatehouse: gatehouse).register(api)
    DecisionRoutes(gatehouse: gatehouse, metrics: metrics).register(api)
    AdminRoutes(gatehouse: gatehouse).register(api)
    WebhookRoutes(gatehouse: gatehouse).register(api)
    DirectoryRoutes(gatehouse: gatehouse).register(api)
    ScimRoutes(gatehouse: gatehouse).register(api)
    GateRoutes(gatehouse: gatehouse, metrics: metrics).register(api)
    SessionRoutes(gatehouse: gatehouse).register(api)
    ConsoleRoutes(gatehouse: gatehouse).register(api)
    return router
}

/// The whole application: HTTP server plus background services (state sync, bookkeeping,
/// clock, inactivity sweep, directory sync) and any given (the egress proxy), run as one
/// service group that shuts down gracefully on SIGTERM/SIGINT.
public func buildApplication(
    gatehouse: Gatehouse, settings: HTTPSettings, logger: Logger, metrics: GatehouseMetrics = GatehouseMetrics(),
    services: [any Service] = [], onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let limits = settings.limits
    let logRequests = logger.logLevel <= .debug
    // Every request is logged by the router's middleware when asked for: none answered before it then.
    let fastPath = settings.decisionsOnEventLoop && !logRequests
    let serverName = "gatehouse"
    return Application(
        router: buildRouter(gatehouse: gatehouse, metrics: metrics, logRequests: logRequests),
        // Slow heads, silent and idle connections and slow bodies are cut off; beyond the cap,
        // new connections wait in the backlog instead of exhausting the process's files.
        server: .http1(
            configuration: .init(
                additionalChannelHandlers: [ConnectionDeadlines.forHummingbird(limits)]
                    + (fastPath ? [DecisionFastPath(gatehouse: gatehouse, metrics: metrics, serverName: serverName)] : []))),
        configuration: .init(
            address: .hostname(settings.host, port: settings.port), serverName: serverName,
            availableConnectionsDelegate: MaximumAvailableConnections(limits.maxConnections, logger: logger)),
        services: gatehouse.backgroundServices(logger: logger) + services,
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? settings.port) },
        eventLoopGroupProvider: .shared(settings.loops.group),
        logger: logger
    )
}

import Hummingbird
import Synchronization

/// Every route the application serves, recorded as it is registered, so the test suite can
/// check the OpenAPI document against what is really there.
public final class RouteCatalog: Sendable {
    private let entries = Mutex<[String]>([])

    public init() {}

    /// `METHOD /path/{param}` strings, sorted.
    public var routes: [String] { entries.withLock { $0.sorted() } }

    func record(_ method: HTTPRequest.Method, _ path: String) { entries.withLock { $0.append("\(method.rawValue) \(path)") } }
}

/// Registers routes with optional per-route middleware, recording each in the catalog.
struct Registrar {
    let router: Router<GatehouseContext>
    let catalog: RouteCatalog

    func add(
        _ method: HTTPRequest.Method, _ path: String, documentedAs documented: String? = nil,
        auth: (any MiddlewareProtocol<Request, Response, GatehouseContext>)? = nil,
        _ handler: @escaping @Sendable (Request, GatehouseContext) async throws -> Response
    ) {
        catalog.record(method, documented ?? path)
        if let auth {
            router.group().add(middleware: auth).on(RouterPath(path), method: method, use: handler)
        } else {
            router.on(RouterPath(path), method: method, use: handler)
        }
    }
}

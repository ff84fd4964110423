import GatehouseDomain
import GatehouseService
import Hummingbird

/// Requires `Authorization: Bearer <token>` with a scope that permits the request:
/// 401 without a valid token, 403 when its scope does not allow this access.
struct BearerAuthMiddleware: RouterMiddleware {
    typealias Context = GatehouseContext
    let gatehouse: Gatehouse
    /// The access a request needs, usually by method (GET reads, others change).
    let access: @Sendable (Request) -> Access

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let challenge: HTTPFields = [.wwwAuthenticate: "Bearer realm=\"gatehouse\""]
        guard let header = request.headers.single(.authorization), Self.isBearer(header) else {
            throw HTTPError(.unauthorized, headers: challenge, message: "an API token is required: Authorization: Bearer <token>")
        }
        // "Bearer " then the secret; no Foundation trimming on this path (it runs on every request).
        let secret = header.utf8.dropFirst(7).drop(while: { $0 == UInt8(ascii: " ") })
        guard let token = try await gatehouse.authenticate(bearer: String(Substring(secret))) else {
            throw HTTPError(.unauthorized, headers: challenge, message: "the API token is not valid")
        }
        let needed = access(request)
        guard token.scope.permits(needed) else {
            throw HTTPError(.forbidden, message: "token \(token.name) has scope \(token.scope.rawValue), which does not allow this request")
        }
        var context = context
        context.token = token
        return try await next(request, context)
    }

    /// `Bearer ` (any case) and something after it, checked on the bytes (every request).
    static func isBearer(_ header: String) -> Bool {
        let bytes = header.utf8
        guard bytes.count > 7 else { return false }
        return zip(bytes, "bearer ".utf8).allSatisfy { $0 | ($0 >= 0x41 && $0 <= 0x5A ? 0x20 : 0) == $1 }
    }

    /// Admin endpoints: reading needs `read` or `admin`, changing needs `admin`.
    static func admin(_ gatehouse: Gatehouse) -> BearerAuthMiddleware {
        BearerAuthMiddleware(gatehouse: gatehouse) { request in
            request.method == .get || request.method == .head ? .read : .change
        }
    }
}

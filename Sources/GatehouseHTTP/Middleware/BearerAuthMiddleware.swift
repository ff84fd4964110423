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
        guard let secret = Self.secret(request) else {
            throw HTTPError(.unauthorized, headers: challenge, message: "an API token is required: Authorization: Bearer <token>")
        }
        guard let token = try await gatehouse.authenticate(bearer: secret) else {
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

    /// The secret of `Authorization: Bearer <secret>` (the scheme in any case), or `nil`.
    /// Checked on the bytes, with no Foundation trimming: it runs on every request.
    static func secret(_ request: Request) -> String? {
        request.headers.single(.authorization).flatMap(secret)
    }

    /// The secret of an `Authorization` field's value, or `nil`.
    static func secret(_ header: String) -> String? {
        let bytes = header.utf8
        guard bytes.count > 7, zip(bytes, "bearer ".utf8).allSatisfy({ $0 | ($0 >= 0x41 && $0 <= 0x5A ? 0x20 : 0) == $1 }) else {
            return nil
        }
        return String(Substring(bytes.dropFirst(7).drop(while: { $0 == UInt8(ascii: " ") })))
    }

    /// Admin endpoints: reading needs `read` or `admin`, changing needs `admin`.
    static func admin(_ gatehouse: Gatehouse) -> BearerAuthMiddleware {
        BearerAuthMiddleware(gatehouse: gatehouse) { request in
            request.method == .get || request.method == .head ? .read : .change
        }
    }
}

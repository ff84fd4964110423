import Hummingbird
import Logging

/// Logs each request (LOG_LEVEL=debug) by method, path and status — never its query string
/// (`?access_token=…`, a sign-in's `code` and `state`) nor its headers (tokens, cookies).
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = GatehouseContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let response = try await next(request, context)
        context.logger.debug(
            "request",
            metadata: [
                "method": .string(request.method.rawValue), "path": .string(request.uri.path),
                "status": .stringConvertible(response.status.code),
            ])
        return response
    }
}

import Foundation
import GatehouseService
import Hummingbird
import Logging

/// Renders every failure as the SPEC error body. Known errors map deliberately to a status;
/// anything unexpected is logged and answered with an opaque 500 that leaks nothing.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = GatehouseContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            if let known = GatehouseError.from(error) {
                return .error(known.kind.status, code: known.code, message: known.message)
            }
            if let http = error as? any HTTPResponseError {
                let status = http.status
                let message = (error as? HTTPError)?.body ?? status.reasonPhrase
                return .error(status, code: Self.code(for: status), message: message, headers: (error as? HTTPError)?.headers ?? [:])
            }
            context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: error))", "path": "\(request.uri.path)"])
            return .error(.internalServerError, code: "internal_error", message: "internal error; see the server log")
        }
    }

    static func code(for status: HTTPResponse.Status) -> String {
        switch status {
        case .notFound: "not_found"
        case .methodNotAllowed: "method_not_allowed"
        case .contentTooLarge: "body_too_large"
        case .unauthorized: "unauthorized"
        case .forbidden: "forbidden"
        case .badRequest: "bad_request"
        default: status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "_")
        }
    }
}

/// Refuses a declared body over the limit before reading any of it; chunked bodies are
/// capped where they are collected.
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = GatehouseContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > HTTPLimits.maxBodyBytes {
            throw HTTPError(.contentTooLarge, message: "request body is larger than \(HTTPLimits.maxBodyBytes) bytes")
        }
        return try await next(request, context)
    }
}

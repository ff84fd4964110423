import Foundation
import GatehouseDomain
import GatehouseService
import Hummingbird
import Logging
import NIOHTTP1

/// The outermost middleware, one async frame for three jobs: refuse a declared body over the
/// limit before reading it, render every failure as the SPEC error body, and count the
/// response for `/metrics`. Known errors map deliberately to a status; anything unexpected is
/// logged and answered with an opaque 500 that leaks nothing.
struct EdgeMiddleware: RouterMiddleware {
    typealias Context = GatehouseContext
    let metrics: GatehouseMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let response: Response
        do {
            if let length = request.headers.single(.contentLength).flatMap(Int.init), length > HTTPLimits.maxBodyBytes {
                throw HTTPError(.contentTooLarge, message: "request body is larger than \(HTTPLimits.maxBodyBytes) bytes")
            }
            response = try await next(request, context)
        } catch let error as HTTPError where request.uri.path.hasPrefix(ScimRoutes.prefix + "/") {
            // Refused before the SCIM routes ran (a body over the limit): still in SCIM's shape.
            response = ScimRoutes.error(ScimError(Int(error.status.code), nil, error.body ?? error.status.reasonPhrase))
        } catch {
            response = Self.render(error, request: request, context: context)
        }
        // The route label is the matched route template (never the raw path, which would let
        // clients create unbounded label values).
        metrics.countRequest(method: request.method.rawValue, route: context.endpointPath ?? "unmatched", status: response.status.code)
        return response
    }

    static func render(_ error: any Error, request: Request, context: Context) -> Response {
        if let known = GatehouseError.from(error) {
            return .error(known.kind.status, code: known.code, message: known.message)
        }
        // A body that is not valid HTTP (a chunk size of "zz", one that overflows): the
        // client's mistake, never a 500.
        if let parse = error as? HTTPParserError {
            return .error(
                .badRequest, code: "malformed_request", message: "the request is not valid HTTP/1.1: \(parse)",
                headers: [.connection: "close"])
        }
        if let http = error as? any HTTPResponseError {
            let status = http.status
            let message = (error as? HTTPError)?.body ?? status.reasonPhrase
            return .error(status, code: code(for: status), message: message, headers: (error as? HTTPError)?.headers ?? [:])
        }
        context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: error))", "path": "\(request.uri.path)"])
        return .error(.internalServerError, code: "internal_error", message: "internal error; see the server log")
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

import Foundation
import GatehouseDomain
import GatehouseService
import Hummingbird

extension Request {
    /// The body as strict JSON (at most 1 MiB): 400 when it is not JSON at all.
    func jsonBody(context: GatehouseContext) async throws -> JSONValue {
        let buffer = try await body.collect(upTo: context.maxUploadSize)
        do {
            return try JSONValue.parse(buffer.readableBytesView)
        } catch {
            throw GatehouseError(.badRequest, "malformed_json", "the body is not valid JSON: \(error)")
        }
    }
}

extension GatehouseContext {
    /// A path parameter, percent-decoded.
    func parameter(_ name: String) throws -> String {
        guard let raw = parameters.get(name), let value = raw.removingPercentEncoding, !value.isEmpty else {
            throw GatehouseError(.badRequest, "invalid_path", "missing \(name)")
        }
        return value
    }
}

import Foundation
import GatehouseDomain
import GatehouseService
import Hummingbird

extension Request {
    /// The body as strict JSON (at most 1 MiB): 415 when it says it is something else, 400
    /// when it is not JSON at all.
    func jsonBody(context: GatehouseContext) async throws -> JSONValue {
        try requireJSONContentType()
        let buffer = try await body.collect(upTo: context.maxUploadSize)
        do {
            return try JSONValue.parse(buffer.readableBytesView)
        } catch {
            throw GatehouseError(.malformedJson, "the body is not valid JSON: \(error)")
        }
    }

    /// A JSON endpoint reads `application/json` (or `application/*+json`), or a body that
    /// names no type; anything else — `text/plain`, a form — is refused rather than guessed at.
    func requireJSONContentType() throws(GatehouseError) {
        guard let type = headers[.contentType] else { return }
        // What nearly every client sends, checked on its bytes: this runs on every decision, and
        // the general case below (Foundation's split, trim and lowercase) cost ~4% of one.
        if type.utf8.elementsEqual("application/json".utf8) { return }
        let essence = type.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        guard essence == "application/json" || (essence.hasPrefix("application/") && essence.hasSuffix("+json")) else {
            throw GatehouseError(.unsupportedMediaType,
                "the body must be JSON (Content-Type: application/json), not \(essence.isEmpty ? "an empty type" : essence)")
        }
    }
}

extension GatehouseContext {
    /// A path parameter, percent-decoded.
    func parameter(_ name: String) throws -> String {
        guard let raw = parameters.get(name), let value = raw.removingPercentEncoding, !value.isEmpty else {
            throw GatehouseError(.invalidPath, "missing \(name)")
        }
        return value
    }
}

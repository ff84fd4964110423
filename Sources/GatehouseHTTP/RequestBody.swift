import Foundation
import GatehouseDomain
import GatehouseService
import HTTPTypes
import Hummingbird

extension Request {
    /// The body as strict JSON (at most 1 MiB): 415 when it says it is something else, 400
    /// when it is not JSON at all.
    func jsonBody(context: GatehouseContext) async throws -> JSONValue {
        try Self.parseJSON(try await jsonBytes(context: context))
    }

    /// The body of a JSON request, unparsed (for a route with a fast path for plain bodies).
    func jsonBytes(context: GatehouseContext) async throws -> ByteBuffer {
        try requireJSONContentType()
        return try await body.collect(upTo: context.maxUploadSize)
    }

    /// A decision's body: read straight from its bytes when plain (`parsePlain`), else parsed
    /// whole and checked field by field, every problem named.
    func decisionBody<T>(
        context: GatehouseContext, plain: (UnsafeRawBufferPointer) -> T?, parse: (JSONValue) throws(GatehouseError) -> T
    ) async throws -> T {
        let buffer = try await jsonBytes(context: context)
        if let found = buffer.withUnsafeReadableBytes(plain) { return found }
        return try parse(try Self.parseJSON(buffer))
    }

    static func parseJSON(_ buffer: ByteBuffer) throws(GatehouseError) -> JSONValue {
        do {
            return try JSONValue.parse(buffer.readableBytesView)
        } catch {
            throw GatehouseError(.malformedJson, "the body is not valid JSON: \(error)")
        }
    }

    /// A JSON endpoint reads `application/json` (or `application/*+json`), or a body that
    /// names no type; anything else — `text/plain`, a form — is refused rather than guessed at.
    func requireJSONContentType() throws(GatehouseError) {
        guard let type = headers.single(.contentType) else { return }
        // What nearly every client sends, checked on its bytes: this runs on every decision, and
        // the general case below (Foundation's split, trim and lowercase) cost ~4% of one.
        if type.utf8.elementsEqual("application/json".utf8) { return }
        let essence = type.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        guard essence == "application/json" || (essence.hasPrefix("application/") && essence.hasSuffix("+json")) else {
            throw GatehouseError(
                .unsupportedMediaType,
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

extension HTTPFields {
    /// A field's value when it appears once — the usual case, read without the copy that
    /// `self[name]` makes to join repeated values; repeated, the joined value as `self[name]`.
    func single(_ name: HTTPField.Name) -> String? {
        var found: String?
        for field in self where field.name == name {
            guard found == nil else { return self[name] }
            found = field.value
        }
        return found
    }
}

import GatehouseDomain
import GatehouseService
import Hummingbird

/// `GET /v1/license` (any token) and `POST /v1/licenses` (admin: install a license file).
struct LicenseRoutes {
    let gatehouse: Gatehouse

    func register(_ api: Registrar) {
        api.add(.get, "/v1/license", auth: BearerAuthMiddleware(gatehouse: gatehouse) { _ in .any }) { _, _ in
            Response.json(try await gatehouse.licenseStatus().json)
        }
        api.add(.post, "/v1/licenses", auth: BearerAuthMiddleware.admin(gatehouse)) { request, context in
            let text = try await Self.licenseText(request, context: context)
            let report = try await gatehouse.installLicense(text: text, actor: context.actor)
            return Response.json(report.json, status: .created)
        }
    }

    /// The body is the license file itself, or `{"license": "<file text>"}`.
    static func licenseText(_ request: Request, context: GatehouseContext) async throws -> String {
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        guard let text = buffer.getString(at: buffer.readerIndex, length: buffer.readableBytes), !text.isEmpty else {
            throw GatehouseError(.invalidBody, "the body must be a license file (text)")
        }
        guard text.first == "{" else { return text }
        guard case .string(let license)? = (try? JSONValue.parse(text))?["license"] else {
            throw GatehouseError(.invalidBody, "a JSON body must be {\"license\": \"<license file text>\"}")
        }
        return license
    }
}

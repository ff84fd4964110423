import GatehouseDomain
import GatehouseService
import Hummingbird

/// The questions the Codecov instance asks (scope `authorize`).
struct DecisionRoutes {
    let gatehouse: Gatehouse

    func register(_ api: Registrar) {
        let auth = BearerAuthMiddleware(gatehouse: gatehouse) { _ in .decide }
        api.add(.post, "/v1/authorize/login", auth: auth) { request, context in
            let body = try LoginRequest.parse(try await request.jsonBody(context: context))
            return Response.json(try await gatehouse.authorizeLogin(body, actor: context.actor).json)
        }
        api.add(.post, "/v1/authorize/upload", auth: auth) { request, context in
            let body = try UploadRequest.parse(try await request.jsonBody(context: context))
            return Response.json(try await gatehouse.authorizeUpload(body, actor: context.actor).json)
        }
    }
}

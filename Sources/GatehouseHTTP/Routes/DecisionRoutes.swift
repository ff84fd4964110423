import GatehouseDomain
import GatehouseService
import Hummingbird

/// The questions the Codecov instance asks (scope `authorize`).
struct DecisionRoutes {
    let gatehouse: Gatehouse
    let metrics: GatehouseMetrics

    /// The decision routes' paths and access, shared with `DecisionFastPath`.
    static let login = "/v1/authorize/login", upload = "/v1/authorize/upload"
    static let access = Access.decide

    func register(_ api: Registrar) {
        let auth = BearerAuthMiddleware(gatehouse: gatehouse) { _ in Self.access }
        api.add(.post, Self.login, auth: auth) { request, context in
            let body = try await request.decisionBody(context: context, plain: LoginRequest.parsePlain, parse: LoginRequest.parse)
            let decision = try await gatehouse.authorizeLogin(body, actor: context.actor)
            metrics.countDecision(kind: "login", reason: decision.reason.rawValue)
            return Response.json(text: decision.jsonText)
        }
        api.add(.post, Self.upload, auth: auth) { request, context in
            let body = try await request.decisionBody(context: context, plain: UploadRequest.parsePlain, parse: UploadRequest.parse)
            let decision = try await gatehouse.authorizeUpload(body, actor: context.actor)
            metrics.countDecision(kind: "upload", reason: decision.reason.rawValue)
            return Response.json(text: decision.jsonText)
        }
        api.add(.post, "/v1/authorize/egress", auth: auth) { request, context in
            let body = try EgressRequest.parse(try await request.jsonBody(context: context))
            let check = try await gatehouse.checkEgress(url: body.url, role: body.role)
            metrics.countDecision(kind: "egress", reason: check.verdict.reason.rawValue)
            return Response.json(check.json)
        }
    }
}

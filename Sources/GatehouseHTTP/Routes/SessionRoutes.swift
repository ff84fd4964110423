import GatehouseDomain
import GatehouseService
import Hummingbird

/// The gate's sessions for administrators (scope `admin`; `read` may GET): the API twin of
/// `gatehouse sessions list|revoke`.
struct SessionRoutes {
    let gatehouse: Gatehouse

    func register(_ api: Registrar) {
        let auth = BearerAuthMiddleware.admin(gatehouse)
        api.add(.get, "/v1/sessions", auth: auth) { request, _ in
            let user = request.uri.queryParameters.get("user")
            let sessions = try await gatehouse.listSessions(user: user)
            return Response.json(["sessions": .array(sessions.map(\.json))])
        }
        api.add(.post, "/v1/sessions/{id}/revoke", auth: auth) { _, context in
            let ended = try await gatehouse.revokeSessions(id: try context.parameter("id"), user: nil, actor: context.actor)
            return Response.json(["revoked": .array(ended.map(\.json))])
        }
        api.add(.post, "/v1/users/{user}/sessions/revoke", auth: auth) { _, context in
            let ended = try await gatehouse.revokeSessions(id: nil, user: try context.parameter("user"), actor: context.actor)
            return Response.json(["revoked": .array(ended.map(\.json))])
        }
    }
}

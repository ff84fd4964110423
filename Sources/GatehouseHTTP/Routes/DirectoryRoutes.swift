import GatehouseDomain
import GatehouseService
import Hummingbird

/// The company directory: run a sync now, or see how current the last one is.
struct DirectoryRoutes {
    let gatehouse: Gatehouse

    func register(_ api: Registrar) {
        let auth = BearerAuthMiddleware.admin(gatehouse)
        api.add(.post, "/v1/ldap/sync", auth: auth) { request, context in
            let query = request.uri.queryParameters
            let outcome = try await gatehouse.syncDirectory(
                dryRun: try flag(query.get("dry_run"), "dry_run"), force: try flag(query.get("force"), "force"),
                rekey: try flag(query.get("rekey"), "rekey"), actor: context.actor)
            return Response.json(outcome.json)
        }
        api.add(.get, "/v1/ldap/status", auth: auth) { _, _ in Response.json(try await gatehouse.directoryStatus().json) }
    }

    func flag(_ text: String?, _ name: String) throws(GatehouseError) -> Bool {
        switch text {
        case nil, "false", "0": return false
        case "true", "1": return true
        default: throw GatehouseError(.invalidQuery, "\(name) must be true or false")
        }
    }
}

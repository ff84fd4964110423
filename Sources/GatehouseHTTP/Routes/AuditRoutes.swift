import Foundation
import GatehouseDomain
import GatehouseService
import Hummingbird

/// `GET /v1/audit?since=&until=&action=&limit=` (read or admin).
struct AuditRoutes {
    let gatehouse: Gatehouse

    func register(_ api: Registrar) {
        api.add(.get, "/v1/audit", auth: BearerAuthMiddleware.admin(gatehouse)) { request, _ in
            let query = try Self.query(request.uri.queryParameters)
            let entries = try await gatehouse.auditEntries(query)
            return Response.json(["entries": .array(entries.map(\.json)), "count": .integer(entries.count)])
        }
    }

    static func query(_ parameters: Parameters) throws -> AuditQuery {
        func date(_ name: String) throws -> Date? {
            guard let text = parameters.get(name) else { return nil }
            guard let date = UTC.parseDay(text) ?? UTC.parseTimestamp(text) else {
                throw GatehouseError(.invalidQuery, "\(name) must be YYYY-MM-DD or an RFC 3339 UTC time")
            }
            return date
        }
        var limit = 100
        if let text = parameters.get("limit") {
            guard let value = Int(text), (1...10_000).contains(value) else {
                throw GatehouseError(.invalidQuery, "limit must be a whole number from 1 to 10000")
            }
            limit = value
        }
        return AuditQuery(since: try date("since"), until: try date("until"), action: parameters.get("action"), limit: limit)
    }
}

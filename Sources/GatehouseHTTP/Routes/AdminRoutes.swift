import Foundation
import GatehouseDomain
import GatehouseService
import Hummingbird

/// Seats, users and policy for administrators (scope `admin`; `read` may GET).
struct AdminRoutes {
    let gatehouse: Gatehouse

    func register(_ api: Registrar) {
        let auth = BearerAuthMiddleware.admin(gatehouse)
        api.add(.get, "/v1/seats", auth: auth) { _, _ in Response.json(try await gatehouse.seatStatus().json) }
        api.add(.get, "/v1/seats/quote", auth: auth) { request, _ in
            let query = request.uri.queryParameters
            guard let text = query.get("add"), let add = Int64(text), add >= 1 else {
                throw GatehouseError(.invalidQuery, "add must be a whole number of seats, at least 1")
            }
            var day: Date?
            if let on = query.get("on") {
                guard let parsed = UTC.parseDay(on) else { throw GatehouseError(.invalidQuery, "on must be YYYY-MM-DD") }
                day = parsed
            }
            return Response.json(try await gatehouse.quote(add: add, on: day).json)
        }
        api.add(.post, "/v1/seats/{user}/activate", auth: auth) { _, context in
            Response.json(try await gatehouse.activateSeat(user: try context.parameter("user"), actor: context.actor).json)
        }
        api.add(.post, "/v1/seats/{user}/deactivate", auth: auth) { _, context in
            Response.json(try await gatehouse.deactivateSeat(user: try context.parameter("user"), actor: context.actor).json)
        }
        api.add(.get, "/v1/seat-requests", auth: auth) { _, _ in
            Response.json(.array(try await gatehouse.seatRequests().map(\.json)))
        }
        api.add(.post, "/v1/seat-requests/{user}/approve", auth: auth) { _, context in
            Response.json(try await gatehouse.approveSeatRequest(user: try context.parameter("user"), actor: context.actor).json)
        }
        api.add(.post, "/v1/seat-requests/{user}/reject", auth: auth) { _, context in
            let user = try context.parameter("user")
            try await gatehouse.rejectSeatRequest(user: user, actor: context.actor)
            return Response.json(["rejected": .string(user)])
        }
        api.add(.get, "/v1/users", auth: auth) { request, _ in
            let query = request.uri.queryParameters
            var seat: SeatState?
            if let text = query.get("seat") {
                guard let parsed = SeatState(rawValue: text) else { throw GatehouseError(.invalidQuery, "seat must be active or none") }
                seat = parsed
            }
            var inactiveDays: Int64?
            if let text = query.get("inactive_days") {
                guard let days = Int64(text) else { throw GatehouseError(.invalidQuery, "inactive_days must be a whole number") }
                inactiveDays = days
            }
            let users = try await gatehouse.users(seat: seat, inactiveDays: inactiveDays)
            return Response.json(["users": .array(users.map(\.json)), "count": .integer(users.count)])
        }
        api.add(.get, "/v1/users/{user}", auth: auth) { _, context in
            Response.json(try await gatehouse.user(try context.parameter("user")).json)
        }
        api.add(.get, "/v1/policy", auth: auth) { _, _ in Response.json(try await gatehouse.policyInForce()) }
        api.add(.get, "/v1/reports/compliance", auth: auth) { request, _ in
            let query = request.uri.queryParameters
            let format = query.get("format") ?? "json"
            guard ["json", "csv", "html"].contains(format) else {
                throw GatehouseError(.invalidQuery, "format must be json, csv or html")
            }
            var asOf: Date?
            if let text = query.get("as_of") {
                guard let day = UTC.parseDay(text) else { throw GatehouseError(.invalidQuery, "as_of must be YYYY-MM-DD") }
                asOf = day
            }
            let report = try await gatehouse.complianceReport(asOf: asOf)
            switch format {
            case "csv": return Response.text(report.csv, contentType: "text/csv; charset=utf-8")
            case "html": return Response.text(report.html, contentType: "text/html; charset=utf-8")
            default: return Response.json(report.json)
            }
        }
    }
}

import Foundation
import GatehouseDomain
import GatehouseService
import HTTPTypes
import Hummingbird
import Logging

/// SCIM 2.0 (SPEC 13, RFC 7643/7644) for identity providers that push people and groups:
/// `/scim/v2/Users`, `/Groups` and the discovery endpoints. A bearer token of scope `scim`;
/// every answer, refusals included, in SCIM's own shape (`application/scim+json`).
struct ScimRoutes {
    let gatehouse: Gatehouse
    static let prefix = "/scim/v2"

    func register(_ api: Registrar) {
        let auth = ScimMiddleware(gatehouse: gatehouse)
        let g = gatehouse
        api.add(.get, Self.prefix + "/ServiceProviderConfig", auth: auth) { request, _ in
            Self.answer(ScimSchemas.serviceProviderConfig(base: Self.base(request), maxResults: Gatehouse.scimMaxResults))
        }
        api.add(.get, Self.prefix + "/Schemas", auth: auth) { request, _ in
            let all = ScimSchemas.all.map { $0.json(base: Self.base(request)) }
            return Self.answer(ScimRender.list(all, total: all.count, startIndex: 1))
        }
        api.add(.get, Self.prefix + "/Schemas/{id}", auth: auth) { request, context in
            let id = try context.parameter("id")
            guard let schema = ScimSchemas.schema(id) else { throw ScimError.notFound("no schema \(id)") }
            return Self.answer(schema.json(base: Self.base(request)))
        }
        api.add(.get, Self.prefix + "/ResourceTypes", auth: auth) { request, _ in
            let all = [ScimResourceKind.user, .group].map { ScimSchemas.resourceType($0, base: Self.base(request)) }
            return Self.answer(ScimRender.list(all, total: all.count, startIndex: 1))
        }
        api.add(.get, Self.prefix + "/ResourceTypes/{id}", auth: auth) { request, context in
            let id = try context.parameter("id")
            guard let kind = ScimResourceKind(rawValue: id) else { throw ScimError.notFound("no resource type \(id) (User, Group)") }
            return Self.answer(ScimSchemas.resourceType(kind, base: Self.base(request)))
        }

        // Anything else under /scim/v2 is a SCIM 404 (an identity provider shows its detail). Not
        // in the route catalog: it documents no endpoint.
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
            api.router.group().add(middleware: auth).on(RouterPath(Self.prefix + "/**"), method: method) { request, _ -> Response in
                throw ScimError.notFound(
                    "no SCIM endpoint \(request.uri.path) (Users, Groups, Schemas, ResourceTypes, ServiceProviderConfig)")
            }
        }
        // A search of every resource type at the root: users, then groups, each kind reading the
        // request against its own schema (a kind without a named attribute contributes nothing;
        // when neither can read it, the users' reason is given).
        api.add(.post, Self.prefix + "/.search", auth: auth) { request, context in
            let body = try await Self.body(request, context)
            var lists: [(ScimResourceKind, ScimListRequest)] = []
            var firstError: ScimError?
            for kind in [ScimResourceKind.user, .group] {
                do { lists.append((kind, try Self.searchRequest(body, kind: kind))) } catch let error as ScimError {
                    firstError = firstError ?? error
                }
            }
            guard !lists.isEmpty else { throw firstError ?? ScimError.invalidValue("the search cannot be read") }
            return Self.answer(try await g.scimList(lists, base: Self.base(request)))
        }
        // The discovery endpoints are read-only: any other method is a SCIM 405 (not catalogued either).
        for path in ["/ServiceProviderConfig", "/Schemas", "/ResourceTypes"] {
            for method in [HTTPRequest.Method.post, .put, .patch, .delete] {
                api.router.group().add(middleware: auth).on(RouterPath(Self.prefix + path), method: method) { request, _ -> Response in
                    throw ScimError(405, nil, "\(path) is read-only: \(request.method.rawValue) is not allowed")
                }
            }
        }

        for kind in [ScimResourceKind.user, .group] {
            let path = Self.prefix + kind.endpoint
            // A search in a POST body (RFC 7644 section 3.4.3): filters too long for a URL.
            api.add(.post, path + "/.search", auth: auth) { request, context in
                let list = try Self.searchRequest(try await Self.body(request, context), kind: kind)
                return Self.answer(try await g.scimList([(kind, list)], base: Self.base(request)))
            }
            api.add(.get, path, auth: auth) { request, _ in
                let list = try Self.listRequest(request, kind: kind)
                return Self.answer(try await g.scimList([(kind, list)], base: Self.base(request)))
            }
            api.add(.post, path, auth: auth) { request, context in
                let body = try await Self.body(request, context)
                let (resource, version) =
                    kind == .user
                    ? try await g.createScimUser(body, base: Self.base(request), actor: context.actor)
                    : try await g.createScimGroup(body, base: Self.base(request), actor: context.actor)
                return Self.answer(resource, status: .created, version: version, location: resource["meta"]?["location"]?.stringValue)
            }
            api.add(.get, path + "/{id}", auth: auth) { request, context in
                let id = try context.parameter("id")
                let query = request.uri.queryParameters
                let projection = ScimProjection(
                    attributes: query.get("attributes"), excluded: query.get("excludedAttributes"), kind: kind)
                let (resource, version) =
                    kind == .user
                    ? try await g.scimUser(id: id, base: Self.base(request), projection: projection)
                    : try await g.scimGroup(id: id, base: Self.base(request), projection: projection)
                if let none = request.headers[.ifNoneMatch], (try? ScimRender.version(ifMatch: none)) == version {
                    return Response(status: .notModified, headers: [.eTag: ScimRender.etag(version)])
                }
                return Self.answer(resource, version: version)
            }
            // PUT replaces, PATCH changes: both name a version to change (If-Match) and answer the result.
            for method in [HTTPRequest.Method.put, .patch] {
                api.add(method, path + "/{id}", auth: auth) { request, context in
                    let id = try context.parameter("id")
                    let body = try await Self.body(request, context)
                    let ifMatch = try ScimRender.version(ifMatch: request.headers[.ifMatch])
                    let base = Self.base(request), actor = context.actor
                    let (resource, version) =
                        switch (kind, method) {
                        case (.user, .put): try await g.replaceScimUser(id: id, body, ifMatch: ifMatch, base: base, actor: actor)
                        case (.group, .put): try await g.replaceScimGroup(id: id, body, ifMatch: ifMatch, base: base, actor: actor)
                        case (.user, _): try await g.patchScimUser(id: id, body, ifMatch: ifMatch, base: base, actor: actor)
                        case (.group, _): try await g.patchScimGroup(id: id, body, ifMatch: ifMatch, base: base, actor: actor)
                        }
                    let query = request.uri.queryParameters
                    let projection = ScimProjection(
                        attributes: query.get("attributes"), excluded: query.get("excludedAttributes"), kind: kind)
                    return Self.answer(projection.apply(resource), version: version)
                }
            }
            api.add(.delete, path + "/{id}", auth: auth) { request, context in
                let id = try context.parameter("id")
                let ifMatch = try ScimRender.version(ifMatch: request.headers[.ifMatch])
                if kind == .user {
                    try await g.deleteScimUser(id: id, ifMatch: ifMatch, actor: context.actor)
                } else {
                    try await g.deleteScimGroup(id: id, ifMatch: ifMatch, actor: context.actor)
                }
                return Response(status: .noContent)
            }
        }
    }

    static func listRequest(_ request: Request, kind: ScimResourceKind) throws -> ScimListRequest {
        let query = request.uri.queryParameters
        func integer(_ name: String) throws(ScimError) -> Int? {
            guard let text = query.get(name) else { return nil }
            guard let value = Int(text) else { throw ScimError.invalidValue("\(name) must be an integer, not \"\(text)\"") }
            return value
        }
        if query.get("sortBy") != nil {
            throw ScimError(400, .invalidValue, "sorting is not supported (ServiceProviderConfig sort.supported is false)")
        }
        return ScimListRequest(
            filter: query.get("filter"), startIndex: try integer("startIndex") ?? 1, count: try integer("count"),
            projection: ScimProjection(attributes: query.get("attributes"), excluded: query.get("excludedAttributes"), kind: kind))
    }

    static func searchRequest(_ body: JSONValue, kind: ScimResourceKind) throws -> ScimListRequest {
        guard case .object(let raw) = body else { throw ScimError.invalidSyntax("a search must be a JSON object") }
        let f = Dictionary(raw.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
        guard case .array(let schemas)? = f["schemas"], schemas.contains(.string(ScimSchemas.searchURN)) else {
            throw ScimError.invalidValue("a search's schemas must be [\"\(ScimSchemas.searchURN)\"]")
        }
        func text(_ key: String) throws(ScimError) -> String? {
            switch f[key.lowercased()] {
            case nil, .null?: return nil
            case .string(let s)?: return s
            case .array(let items)?:
                let names = items.compactMap(\.stringValue)
                guard names.count == items.count else { throw ScimError.invalidValue("\(key) must list attribute names") }
                return names.joined(separator: ",")
            default: throw ScimError.invalidValue("\(key) must be a string")
            }
        }
        func integer(_ key: String) throws(ScimError) -> Int? {
            switch f[key.lowercased()] {
            case nil, .null?: return nil
            case .int(let i)?: return Int(clamping: i)
            default: throw ScimError.invalidValue("\(key) must be an integer")
            }
        }
        if f["sortby"] != nil, f["sortby"] != .null {
            throw ScimError.invalidValue("sorting is not supported (ServiceProviderConfig sort.supported is false)")
        }
        return ScimListRequest(
            filter: try text("filter"), startIndex: try integer("startIndex") ?? 1, count: try integer("count"),
            projection: ScimProjection(attributes: try text("attributes"), excluded: try text("excludedAttributes"), kind: kind))
    }

    static func body(_ request: Request, _ context: GatehouseContext) async throws -> JSONValue {
        do {
            return try await request.jsonBody(context: context)
        } catch let error as GatehouseError {
            throw error.code == "unsupported_media_type" ? error : ScimError.invalidSyntax(error.message)
        }
    }

    /// Where this service is, as the client reached it (for `meta.location` and `$ref`).
    static func base(_ request: Request) -> String {
        let host = request.head.authority ?? "localhost"
        let safe =
            host.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "\"") } ? host : "localhost"
        let scheme = request.headers[HTTPTypes.HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https" ? "https" : "http"
        return "\(scheme)://\(safe)\(prefix)"
    }

    static func answer(
        _ value: JSONValue, status: HTTPResponse.Status = .ok, version: Int64? = nil, location: String? = nil
    ) -> Response {
        var headers: HTTPFields = [:]
        if let version { headers[.eTag] = ScimRender.etag(version) }
        if let location { headers[.location] = location }
        return .text(value.canonicalText + "\n", contentType: "application/scim+json", status: status, headers: headers)
    }

    static func error(_ error: ScimError) -> Response {
        answer(error.json, status: HTTPResponse.Status(code: error.status))
    }
}

/// The API's bearer authentication with the access only a `scim` token has, and every
/// refusal — the token's, the routes', the service's — answered as a SCIM error body, never
/// Gatehouse's usual one.
struct ScimMiddleware: RouterMiddleware {
    typealias Context = GatehouseContext
    let bearer: BearerAuthMiddleware

    init(gatehouse: Gatehouse) { bearer = BearerAuthMiddleware(gatehouse: gatehouse) { _ in .provision } }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await bearer.handle(request, context: context, next: next)
        } catch let error as ScimError {
            return ScimRoutes.error(error)
        } catch {
            if let known = GatehouseError.from(error) {
                let status = known.kind.status.code
                return ScimRoutes.error(ScimError(status, status == 400 ? .invalidValue : nil, known.message))
            }
            if let http = error as? HTTPError {
                var response = ScimRoutes.error(ScimError(http.status.code, nil, http.body ?? http.status.reasonPhrase))
                response.headers.append(contentsOf: http.headers)
                return response
            }
            context.logger.error(
                "unhandled SCIM error", metadata: ["error": "\(String(reflecting: error))", "path": "\(request.uri.path)"])
            return ScimRoutes.error(ScimError(500, nil, "internal error; see the server log"))
        }
    }
}

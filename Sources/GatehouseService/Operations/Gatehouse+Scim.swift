import Foundation
import GatehouseDomain
import GatehouseStorage

/// A list request: `filter`, `startIndex`, `count`, and what to return.
public struct ScimListRequest: Sendable {
    public var filter: String?
    public var startIndex: Int
    public var count: Int?
    public var projection: ScimProjection

    public init(filter: String?, startIndex: Int, count: Int?, projection: ScimProjection) {
        self.filter = filter
        self.startIndex = startIndex
        self.count = count
        self.projection = projection
    }
}

/// What SCIM has pushed, for `gatehouse scim status`.
public struct ScimStatus: Sendable {
    public var summary: ScimSummary
    public var removal: ScimRemovalGuard
    public var tokens: [String]

    public var json: JSONValue {
        [
            "users": .int(Int64(summary.users)), "active_users": .int(Int64(summary.activeUsers)), "groups": .int(Int64(summary.groups)),
            "removed_last_hour": .int(Int64(summary.removedLastHour)), "removals_allowed": .int(Int64(summary.allowed)),
            "max_removal_percent": .int(Int64(removal.maxPercent)), "min_removals_per_hour": .int(Int64(removal.floor)),
            "last_change_at": .optional(summary.lastChange.map { UTC.format($0) }), "tokens": .array(tokens.map { .string($0) }),
        ]
    }

    public var lines: [String] {
        [
            "scim: \(summary.users) users (\(summary.activeUsers) active), \(summary.groups) groups; last change \(summary.lastChange.map { UTC.format($0) } ?? "never")",
            "removal guard: \(summary.removedLastHour) left in the last hour; limit max_removal_percent \(removal.maxPercent)% an hour, at least \(removal.floor)"
                + (summary.allowed > 0 ? ", plus \(summary.allowed) allowed by an administrator" : ""),
            tokens.isEmpty
                ? "no token of scope scim: create one with `gatehouse tokens create --name okta --scope scim`"
                : "tokens of scope scim: \(tokens.joined(separator: ", "))",
        ]
    }
}

extension Gatehouse {
    /// The most resources one list answer holds (`count` above it is lowered to it).
    public static let scimMaxResults = 1000
    static let scimDefaultCount = 100

    // MARK: users

    public func scimUser(id: String, base: String, projection: ScimProjection) async throws -> (JSONValue, Int64) {
        guard let record = try await store.scimUsers(ScimLookup(.id, id)).first else { throw ScimError.notFound("no user has id \(id)") }
        return (projection.apply(ScimRender.user(record, base: base)), record.version)
    }

    /// One list answer over one or more kinds of resource (a search at the root asks for both,
    /// each with its own reading of the request): the matches of each kind in creation order,
    /// then one page of them (the first request's `startIndex` and `count`), each narrowed as
    /// its request asks — after paging, so only the page is narrowed.
    public func scimList(_ requests: [(ScimResourceKind, ScimListRequest)], base: String) async throws -> JSONValue {
        var matched: [(resource: JSONValue, projection: ScimProjection)] = []
        for (kind, request) in requests {
            matched += try await scimMatching(kind, request, base: base).map { ($0, request.projection) }
        }
        let paging = requests.first?.1 ?? ScimListRequest(filter: nil, startIndex: 1, count: nil, projection: ScimProjection())
        // `startIndex` counts from 1; `count` (100 if not given) is at most `scimMaxResults`;
        // `count=0` answers only how many there are.
        let start = max(1, paging.startIndex)
        let count = min(max(0, paging.count ?? Self.scimDefaultCount), Self.scimMaxResults)
        let page = start - 1 < matched.count ? matched[(start - 1)..<min(matched.count, start - 1 + count)] : []
        return ScimRender.list(page.map { $0.projection.apply($0.resource) }, total: matched.count, startIndex: start)
    }

    /// Every resource of `kind` the request's filter matches, in creation order.
    func scimMatching(_ kind: ScimResourceKind, _ request: ScimListRequest, base: String) async throws -> [JSONValue] {
        let filter = try request.filter.map { f throws(ScimError) in try ScimFilter.parse(f, kind: kind) }
        let rendered: [JSONValue]
        if kind == .user {
            let lookup = filter?.equality(on: ["id", "userName", "externalId"]).map { Self.lookup($0.attribute, $0.value) }
            rendered = try await store.scimUsers(lookup).map { ScimRender.user($0, base: base) }
        } else {
            let lookup = filter?.equality(on: ["id", "displayName", "externalId"]).map { Self.lookup($0.attribute, $0.value) }
            // Members are read only when they are answered or filtered on (Entra ID asks for
            // groups with excludedAttributes=members).
            let members = request.projection.includes("members") || filter?.mentions("members") == true
            rendered = try await store.scimGroups(lookup, members: members).map { ScimRender.group($0, base: base, members: members) }
        }
        return rendered.filter { filter?.matches($0) ?? true }
    }

    public func createScimUser(_ body: JSONValue, base: String, actor: String) async throws -> (JSONValue, Int64) {
        let resource = try ScimValues.normalise(body, kind: .user)
        try Self.checkUserName(resource)
        let policy = try await policyInEffect()
        var rng = SystemRandomNumberGenerator()
        let record = try await store.createScimUser(
            id: UUID().uuidString.lowercased(), resource: resource, newPersonID: PersonID.make(at: now(), using: &rng),
            identity: policy.identity, actor: actor, at: now())
        await caughtUp()
        return (ScimRender.user(record, base: base), record.version)
    }

    /// PUT: the body replaces every attribute the client may write.
    public func replaceScimUser(id: String, _ body: JSONValue, ifMatch: Int64?, base: String, actor: String) async throws -> (
        JSONValue, Int64
    ) {
        let resource = try ScimValues.normalise(body, kind: .user)
        try Self.checkUserName(resource)
        let record = try await store.changeScimUser(id: id, ifMatch: ifMatch, removal: scimRemoval, actor: actor, at: now()) { _ in resource
        }
        await caughtUp()
        return (ScimRender.user(record, base: base), record.version)
    }

    public func patchScimUser(id: String, _ body: JSONValue, ifMatch: Int64?, base: String, actor: String) async throws -> (
        JSONValue, Int64
    ) {
        let patch = try ScimPatch.parse(body, kind: .user)
        let record = try await store.changeScimUser(id: id, ifMatch: ifMatch, removal: scimRemoval, actor: actor, at: now()) { current in
            var members = ScimPatch.Members()
            let resource = try patch.apply(to: current.resource, members: &members, kind: .user)
            try Self.checkUserName(resource)
            return resource
        }
        await caughtUp()
        return (ScimRender.user(record, base: base), record.version)
    }

    public func deleteScimUser(id: String, ifMatch: Int64?, actor: String) async throws {
        try await store.deleteScimUser(id: id, ifMatch: ifMatch, removal: scimRemoval, actor: actor, at: now())
        await caughtUp()
    }

    // MARK: groups

    public func scimGroup(id: String, base: String, projection: ScimProjection) async throws -> (JSONValue, Int64) {
        guard let record = try await store.scimGroups(ScimLookup(.id, id), members: projection.includes("members")).first else {
            throw ScimError.notFound("no group has id \(id)")
        }
        return (projection.apply(ScimRender.group(record, base: base)), record.version)
    }

    public func createScimGroup(_ body: JSONValue, base: String, actor: String) async throws -> (JSONValue, Int64) {
        let resource = try ScimValues.normalise(body, kind: .group)
        let members = try ScimPatch.Members.from(body)
        let record = try await store.createScimGroup(
            id: UUID().uuidString.lowercased(), resource: resource, members: members.ids, actor: actor, at: now())
        await caughtUp()
        return (ScimRender.group(record, base: base), record.version)
    }

    public func replaceScimGroup(id: String, _ body: JSONValue, ifMatch: Int64?, base: String, actor: String) async throws -> (
        JSONValue, Int64
    ) {
        let resource = try ScimValues.normalise(body, kind: .group)
        let members = try ScimPatch.Members.from(body)
        let record = try await store.changeScimGroup(id: id, ifMatch: ifMatch, actor: actor, at: now()) { _ in (resource, members) }
        await caughtUp()
        return (ScimRender.group(record, base: base), record.version)
    }

    public func patchScimGroup(id: String, _ body: JSONValue, ifMatch: Int64?, base: String, actor: String) async throws -> (
        JSONValue, Int64
    ) {
        let patch = try ScimPatch.parse(body, kind: .group)
        let record = try await store.changeScimGroup(id: id, ifMatch: ifMatch, actor: actor, at: now()) { current in
            var members = ScimPatch.Members(current.members.map(\.id))
            let resource = try patch.apply(to: current.resource, members: &members, kind: .group)
            return (resource, members)
        }
        await caughtUp()
        return (ScimRender.group(record, base: base), record.version)
    }

    public func deleteScimGroup(id: String, ifMatch: Int64?, actor: String) async throws {
        try await store.deleteScimGroup(id: id, ifMatch: ifMatch, actor: actor, at: now())
        await caughtUp()
    }

    // MARK: administration

    /// Lets `people` more SCIM people leave in the coming hour than the guard allows.
    public func allowScimRemovals(_ people: Int, actor: String) async throws {
        guard (1...1_000_000).contains(people) else { throw GatehouseError(.invalidQuery, "the number of people must be 1 or more") }
        let t = now()
        try await store.allowScimRemovals(people, until: t.addingTimeInterval(3600), actor: actor, at: t)
    }

    public func scimStatus() async throws -> ScimStatus {
        ScimStatus(
            summary: try await store.scimSummary(at: now()), removal: scimRemoval,
            tokens: try await store.tokens().filter { $0.scope == .scim }.map(\.name).sorted())
    }

    // MARK: helpers

    /// Memory follows at once, so that the next login decision sees the change: the store does
    /// not mark SCIM changes as applied to memory, so this catch-up reads the people they touched.
    /// (Should it fail, the periodic catch-up reads them within a second.)
    func caughtUp() async {
        guard live.isLoaded else { return }
        _ = try? await syncIfChanged()
    }

    static func lookup(_ attribute: String, _ value: String) -> ScimLookup {
        switch attribute {
        case "id": ScimLookup(.id, value)
        case "externalId": ScimLookup(.externalID, value)
        default: ScimLookup(.name, value)
        }
    }

    /// A userName must be a username Gatehouse can hold (`scim:<userName>`).
    static func checkUserName(_ resource: JSONValue) throws(ScimError) {
        let userName = ScimPeople.userName(resource)
        if let problem = IdentityRef.usernameProblem(userName, provider: .scim) {
            throw ScimError.invalidValue("userName \"\(userName)\" cannot be used: it \(problem)")
        }
    }
}

import Foundation
import GatehouseDomain

/// SCIM users and groups (SPEC 13), each change applied with its effect on people — a
/// `scim:` directory person added, renamed, gone, their groups — and audited, in one
/// transaction. A change's rule (a PUT's body, a PATCH) runs inside that transaction on the
/// resource as stored, so concurrent PATCHes of one user are applied one after the other and
/// none is lost; `ifMatch` refuses a change to a version other than the one named (412).
/// Refusals are `ScimError`s. Changes are not marked as applied to memory (`writeLog`): the
/// caller catches up with them by reading the people they touched.
public protocol ScimStore: Sendable {
    /// Users by id, userName (lowercased) or externalId, or all of them (in creation order).
    func scimUsers(_ lookup: ScimLookup?) async throws -> [ScimUserRecord]
    /// Groups likewise (by displayName lowercased); `members`: read their members too.
    func scimGroups(_ lookup: ScimLookup?, members: Bool) async throws -> [ScimGroupRecord]
    func createScimUser(id: String, resource: JSONValue, newPersonID: String, identity: IdentityPolicy, actor: String, at: Date)
        async throws -> ScimUserRecord
    func changeScimUser(
        id: String, ifMatch: Int64?, removal: ScimRemovalGuard, actor: String, at: Date,
        _ change: @escaping @Sendable (ScimUserRecord) throws -> JSONValue
    ) async throws -> ScimUserRecord
    func deleteScimUser(id: String, ifMatch: Int64?, removal: ScimRemovalGuard, actor: String, at: Date) async throws
    func createScimGroup(id: String, resource: JSONValue, members: [String], actor: String, at: Date) async throws -> ScimGroupRecord
    func changeScimGroup(
        id: String, ifMatch: Int64?, actor: String, at: Date,
        _ change: @escaping @Sendable (ScimGroupRecord) throws -> (JSONValue, ScimPatch.Members)
    ) async throws -> ScimGroupRecord
    func deleteScimGroup(id: String, ifMatch: Int64?, actor: String, at: Date) async throws
    /// Lets `people` more leave than the removal guard allows, until `until` (audited).
    func allowScimRemovals(_ people: Int, until: Date, actor: String, at: Date) async throws
    func scimSummary(at: Date) async throws -> ScimSummary
    /// The latest change the removal guard refused, if any (for its notification).
    func scimRefusal() async throws -> (at: Date, message: String)?
    /// Records a change the removal guard refused (bookkeeping for notifications, not audited:
    /// nothing changed).
    func recordScimRefusal(_ message: String, at: Date) async throws
}

/// An indexed look-up: what Okta and Entra ID ask before creating (`userName eq "…"`).
public struct ScimLookup: Sendable, Equatable {
    public enum Field: String, Sendable { case id, name, externalID }
    public var field: Field
    public var value: String

    public init(_ field: Field, _ value: String) {
        self.field = field
        self.value = value
    }
}

public struct ScimSummary: Sendable {
    public var users: Int
    public var activeUsers: Int
    public var groups: Int
    public var removedLastHour: Int
    public var allowed: Int
    public var lastChange: Date?
    public var lastRefusal: (at: Date, message: String)?

    public init(
        users: Int, activeUsers: Int, groups: Int, removedLastHour: Int, allowed: Int, lastChange: Date?,
        lastRefusal: (at: Date, message: String)? = nil
    ) {
        self.lastRefusal = lastRefusal
        self.users = users
        self.activeUsers = activeUsers
        self.groups = groups
        self.removedLastHour = removedLastHour
        self.allowed = allowed
        self.lastChange = lastChange
    }
}

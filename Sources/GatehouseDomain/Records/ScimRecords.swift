import Foundation

/// Another resource a SCIM resource names: a user's group, a group's member.
public struct ScimReference: Sendable, Equatable, Hashable {
    public var id: String
    public var display: String

    public init(id: String, display: String) {
        self.id = id
        self.display = display
    }
}

/// A SCIM user as stored: the attributes its client wrote (normalised), and Gatehouse's own.
public struct ScimUserRecord: Sendable, Equatable {
    public var id: String
    public var resource: JSONValue
    public var active: Bool
    /// Raised by every change: the ETag `W/"<version>"`.
    public var version: Int64
    public var personID: String
    public var createdAt: Date
    public var updatedAt: Date
    public var groups: [ScimReference]

    public init(
        id: String, resource: JSONValue, active: Bool, version: Int64, personID: String, createdAt: Date, updatedAt: Date,
        groups: [ScimReference]
    ) {
        self.id = id
        self.resource = resource
        self.active = active
        self.version = version
        self.personID = personID
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.groups = groups
    }
}

public struct ScimGroupRecord: Sendable, Equatable {
    public var id: String
    public var resource: JSONValue
    public var version: Int64
    public var createdAt: Date
    public var updatedAt: Date
    /// Empty when members were not asked for.
    public var members: [ScimReference]

    public init(id: String, resource: JSONValue, version: Int64, createdAt: Date, updatedAt: Date, members: [ScimReference]) {
        self.id = id
        self.resource = resource
        self.version = version
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.members = members
    }
}

/// How many SCIM people may leave in an hour (SPEC 13: the directory's `max_removal_percent`,
/// per hour): a burst beyond it is more often a mis-assigned app or a broken rule in the
/// identity provider than a real wave of departures.
public struct ScimRemovalGuard: Sendable, Equatable {
    public var maxPercent: Int
    /// However small the directory, this many may leave in an hour.
    public var floor: Int

    public init(maxPercent: Int, floor: Int = 5) {
        self.maxPercent = maxPercent
        self.floor = floor
    }

    /// Why one more departure must be refused, if it must: `removed` already this hour out of
    /// `present` active people now, plus `allowed` lifted by an administrator.
    public func refusal(removed: Int, present: Int, allowed: Int) -> String? {
        let base = present + removed
        let limit = max(floor, base * maxPercent / 100) + allowed
        guard removed + 1 > limit else { return nil }
        return "refused: \(removed) of \(base) SCIM people have left in the last hour and one more would pass the limit of \(limit) "
            + "(max_removal_percent \(maxPercent)% an hour, at least \(floor)\(allowed > 0 ? ", plus \(allowed) allowed by an administrator" : "")). "
            + "Nothing was changed. If these departures are right, run `gatehouse scim allow-removals N` and let the identity provider retry"
    }
}

/// The directory person a SCIM user describes: `scim:<userName>`, the primary (else work, else
/// first) e-mail, and a name from displayName, name.formatted, given and family names, or userName.
public enum ScimPeople {
    public static func userName(_ resource: JSONValue) -> String { resource["userName"]?.stringValue ?? "" }

    public static func email(_ resource: JSONValue) -> String? {
        guard case .array(let emails)? = resource["emails"] else { return nil }
        let chosen =
            emails.first { $0["primary"] == .bool(true) } ?? emails.first { $0["type"]?.stringValue?.lowercased() == "work" }
            ?? emails.first
        return chosen?["value"]?.stringValue
    }

    public static func name(_ resource: JSONValue) -> String {
        if let display = resource["displayName"]?.stringValue, !display.isEmpty { return display }
        if let formatted = resource["name"]?["formatted"]?.stringValue, !formatted.isEmpty { return formatted }
        let parts = [resource["name"]?["givenName"]?.stringValue, resource["name"]?["familyName"]?.stringValue].compactMap { $0 }
            .filter { !$0.isEmpty }
        return parts.isEmpty ? userName(resource) : parts.joined(separator: " ")
    }

    public static func active(_ resource: JSONValue) -> Bool { resource["active"] != .bool(false) }

    public static func person(_ resource: JSONValue, id: String, groups: Set<String> = []) -> DirectoryPerson {
        DirectoryPerson(dn: "", uid: userName(resource), email: email(resource), name: name(resource), externalID: id, groups: groups)
    }
}

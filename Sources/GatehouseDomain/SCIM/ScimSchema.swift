/// One attribute of a SCIM schema (RFC 7643 section 7): what `/Schemas` publishes, and what
/// requests are checked against — names compare case-insensitively, values by type.
public struct ScimAttribute: Sendable {
    public enum Kind: String, Sendable { case string, boolean, decimal, integer, dateTime, reference, complex }
    public enum Mutability: String, Sendable { case readOnly, readWrite, immutable, writeOnly }
    public enum Returned: String, Sendable { case always, never, `default`, request }
    public enum Uniqueness: String, Sendable { case none, server, global }

    public var name: String
    public var kind: Kind
    public var multiValued = false
    public var required = false
    public var caseExact = false
    public var mutability = Mutability.readWrite
    public var returned = Returned.default
    public var uniqueness = Uniqueness.none
    public var canonicalValues: [String] = []
    public var referenceTypes: [String] = []
    public var subAttributes: [ScimAttribute] = []
    public var description: String

    public init(
        _ name: String, _ kind: Kind, _ description: String, multiValued: Bool = false, required: Bool = false, caseExact: Bool = false,
        mutability: Mutability = .readWrite, returned: Returned = .default, uniqueness: Uniqueness = .none, canonicalValues: [String] = [],
        referenceTypes: [String] = [], subAttributes: [ScimAttribute] = []
    ) {
        self.name = name
        self.kind = kind
        self.description = description
        self.multiValued = multiValued
        self.required = required
        self.caseExact = caseExact
        self.mutability = mutability
        self.returned = returned
        self.uniqueness = uniqueness
        self.canonicalValues = canonicalValues
        self.referenceTypes = referenceTypes
        self.subAttributes = subAttributes
    }

    /// The sub-attribute called `name` (any case).
    public func sub(_ name: String) -> ScimAttribute? {
        let key = name.lowercased()
        return subAttributes.first { $0.name.lowercased() == key }
    }

    public var json: JSONValue {
        var out: [String: JSONValue] = [
            "name": .string(name), "type": .string(kind.rawValue), "multiValued": .bool(multiValued), "description": .string(description),
            "required": .bool(required), "mutability": .string(mutability.rawValue), "returned": .string(returned.rawValue),
        ]
        if kind != .complex && kind != .boolean {
            out["caseExact"] = .bool(caseExact)
            out["uniqueness"] = .string(uniqueness.rawValue)
        }
        if !canonicalValues.isEmpty { out["canonicalValues"] = .array(canonicalValues.map { .string($0) }) }
        if !referenceTypes.isEmpty { out["referenceTypes"] = .array(referenceTypes.map { .string($0) }) }
        if !subAttributes.isEmpty { out["subAttributes"] = .array(subAttributes.map(\.json)) }
        return .object(out)
    }
}

/// A schema: its URN and attributes.
public struct ScimSchema: Sendable {
    public var id: String
    public var name: String
    public var description: String
    public var attributes: [ScimAttribute]

    public func attribute(_ name: String) -> ScimAttribute? {
        let key = name.lowercased()
        return attributes.first { $0.name.lowercased() == key }
    }

    public func json(base: String) -> JSONValue {
        [
            "schemas": [.string(ScimSchemas.schemaURN)], "id": .string(id), "name": .string(name), "description": .string(description),
            "attributes": .array(attributes.map(\.json)),
            "meta": ["resourceType": "Schema", "location": .string(base + "/Schemas/" + id)],
        ]
    }
}

/// The resources Gatehouse serves: users (core and enterprise schemas) and groups.
public enum ScimResourceKind: String, Sendable {
    case user = "User"
    case group = "Group"

    public var schema: ScimSchema { self == .user ? ScimSchemas.user : ScimSchemas.group }
    public var extensions: [ScimSchema] { self == .user ? [ScimSchemas.enterpriseUser] : [] }
    public var endpoint: String { self == .user ? "/Users" : "/Groups" }
}

public enum ScimSchemas {
    public static let userURN = "urn:ietf:params:scim:schemas:core:2.0:User"
    public static let groupURN = "urn:ietf:params:scim:schemas:core:2.0:Group"
    public static let enterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    public static let listURN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    public static let patchURN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    public static let searchURN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
    public static let errorURN = "urn:ietf:params:scim:api:messages:2.0:Error"
    public static let schemaURN = "urn:ietf:params:scim:schemas:core:2.0:Schema"
    public static let resourceTypeURN = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
    public static let configURN = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"

    static func multi(_ name: String, _ description: String, types: [String], extra: [ScimAttribute] = []) -> ScimAttribute {
        ScimAttribute(
            name, .complex, description, multiValued: true,
            subAttributes: [
                ScimAttribute("value", .string, "The value."),
                ScimAttribute("display", .string, "A human-readable name."),
                ScimAttribute("type", .string, "What kind of value.", canonicalValues: types),
                ScimAttribute("primary", .boolean, "The primary value, at most one."),
            ] + extra)
    }

    public static let user = ScimSchema(
        id: userURN, name: "User", description: "A person of the company, provisioned by the identity provider.",
        attributes: [
            ScimAttribute(
                "userName", .string, "Unique login name; the person's `scim:<userName>` identity in Gatehouse.", required: true,
                uniqueness: .server),
            ScimAttribute(
                "name", .complex, "The person's name.",
                subAttributes: [
                    ScimAttribute("formatted", .string, "The full name."), ScimAttribute("familyName", .string, "Family name."),
                    ScimAttribute("givenName", .string, "Given name."), ScimAttribute("middleName", .string, "Middle name."),
                    ScimAttribute("honorificPrefix", .string, "Honorific prefix."),
                    ScimAttribute("honorificSuffix", .string, "Honorific suffix."),
                ]),
            ScimAttribute("displayName", .string, "The name shown in Gatehouse."),
            ScimAttribute("nickName", .string, "Casual name."),
            ScimAttribute("title", .string, "Job title."),
            ScimAttribute("userType", .string, "Relationship to the company, e.g. Employee or Contractor."),
            ScimAttribute("preferredLanguage", .string, "Preferred language."),
            ScimAttribute("locale", .string, "Locale."),
            ScimAttribute("timezone", .string, "Time zone."),
            ScimAttribute("active", .boolean, "false: the person left; their seat is released and their sessions end."),
            multi(
                "emails", "E-mail addresses; the primary (or work) one is the person's e-mail in Gatehouse.",
                types: ["work", "home", "other"]),
            multi("phoneNumbers", "Phone numbers.", types: ["work", "home", "mobile", "fax", "pager", "other"]),
            ScimAttribute(
                "groups", .complex, "Groups the user belongs to (read-only: change a group's members).", multiValued: true,
                mutability: .readOnly,
                subAttributes: [
                    ScimAttribute("value", .string, "The group's id.", mutability: .readOnly),
                    ScimAttribute("$ref", .reference, "The group's URI.", mutability: .readOnly, referenceTypes: ["Group"]),
                    ScimAttribute("display", .string, "The group's displayName.", mutability: .readOnly),
                    ScimAttribute(
                        "type", .string, "direct: Gatehouse keeps no nested groups.", mutability: .readOnly, canonicalValues: ["direct"]),
                ]),
        ])

    public static let enterpriseUser = ScimSchema(
        id: enterpriseURN, name: "EnterpriseUser", description: "Enterprise attributes of a user.",
        attributes: [
            ScimAttribute("employeeNumber", .string, "Employee number."), ScimAttribute("costCenter", .string, "Cost center."),
            ScimAttribute("organization", .string, "Organization."), ScimAttribute("division", .string, "Division."),
            ScimAttribute("department", .string, "Department."),
            ScimAttribute(
                "manager", .complex, "The user's manager.",
                subAttributes: [
                    ScimAttribute("value", .string, "The manager's id."),
                    ScimAttribute("$ref", .reference, "The manager's URI.", referenceTypes: ["User"]),
                    ScimAttribute("displayName", .string, "The manager's name.", mutability: .readOnly),
                ]),
        ])

    public static let group = ScimSchema(
        id: groupURN, name: "Group", description: "A group; `login.scim.allowed_groups` names groups by displayName.",
        attributes: [
            ScimAttribute("displayName", .string, "The group's name (unique, compared without case).", required: true, uniqueness: .server),
            ScimAttribute(
                "members", .complex, "Users of the group (Gatehouse keeps no nested groups).", multiValued: true,
                subAttributes: [
                    ScimAttribute("value", .string, "The user's id.", mutability: .immutable),
                    ScimAttribute("$ref", .reference, "The user's URI.", mutability: .immutable, referenceTypes: ["User"]),
                    ScimAttribute("display", .string, "The user's name.", mutability: .readOnly),
                    ScimAttribute("type", .string, "User.", mutability: .immutable, canonicalValues: ["User"]),
                ]),
        ])

    public static let all = [user, enterpriseUser, group]

    public static func schema(_ id: String) -> ScimSchema? { all.first { $0.id.lowercased() == id.lowercased() } }

    public static func resourceType(_ kind: ScimResourceKind, base: String) -> JSONValue {
        var out: [String: JSONValue] = [
            "schemas": [.string(resourceTypeURN)], "id": .string(kind.rawValue), "name": .string(kind.rawValue),
            "endpoint": .string(kind.endpoint), "description": .string(kind.schema.description), "schema": .string(kind.schema.id),
            "meta": ["resourceType": "ResourceType", "location": .string(base + "/ResourceTypes/" + kind.rawValue)],
        ]
        if kind == .user { out["schemaExtensions"] = [["schema": .string(enterpriseURN), "required": false]] }
        return .object(out)
    }

    /// What Gatehouse supports: PATCH, filters, ETags; no bulk, sorting or password change.
    public static func serviceProviderConfig(base: String, maxResults: Int) -> JSONValue {
        [
            "schemas": [.string(configURN)],
            "documentationUri": "https://github.com/gatehouse/gatehouse/blob/main/README.md#scim-okta-and-entra-id",
            "patch": ["supported": true], "bulk": ["supported": false, "maxOperations": 0, "maxPayloadSize": 0],
            "filter": ["supported": true, "maxResults": .int(Int64(maxResults))], "changePassword": ["supported": false],
            "sort": ["supported": false], "etag": ["supported": true],
            "authenticationSchemes": [
                [
                    "type": "oauthbearertoken", "name": "Bearer token",
                    "description": "A Gatehouse API token of scope scim (gatehouse tokens create --scope scim).", "primary": true,
                ]
            ],
            "meta": ["resourceType": "ServiceProviderConfig", "location": .string(base + "/ServiceProviderConfig")],
        ]
    }
}

import Foundation

/// Resources as a client reads them: the attributes stored, with `schemas`, `id`, `meta` (the
/// version is the ETag) and the references kept as rows (a user's `groups`, a group's
/// `members`), then narrowed by `attributes` or `excludedAttributes`.
public enum ScimRender {
    public static func etag(_ version: Int64) -> String { "W/\"\(version)\"" }

    /// The version an `If-Match` header names: `*` (any) is nil; a list names one version.
    public static func version(ifMatch header: String?) throws(ScimError) -> Int64? {
        guard let header = header?.trimmingCharacters(in: .whitespaces), !header.isEmpty, header != "*" else { return nil }
        var text = Substring(header.split(separator: ",").first ?? "").trimmingCharacters(in: .whitespaces)[...]
        if text.hasPrefix("W/") { text = text.dropFirst(2) }
        guard text.hasPrefix("\""), text.hasSuffix("\""), text.count >= 2, let version = Int64(text.dropFirst().dropLast()) else {
            throw ScimError(400, .invalidVers, "If-Match must be an ETag this service gave (W/\"<version>\"), not \(header)")
        }
        return version
    }

    public static func user(_ record: ScimUserRecord, base: String) -> JSONValue {
        guard case .object(var fields) = record.resource else { return record.resource }
        var schemas: [JSONValue] = [.string(ScimSchemas.userURN)]
        if fields[ScimSchemas.enterpriseURN] != nil { schemas.append(.string(ScimSchemas.enterpriseURN)) }
        fields["schemas"] = .array(schemas)
        fields["id"] = .string(record.id)
        if !record.groups.isEmpty {
            fields["groups"] = .array(
                record.groups.map {
                    ["value": .string($0.id), "display": .string($0.display), "$ref": .string(base + "/Groups/" + $0.id), "type": "direct"]
                })
        }
        fields["meta"] = meta("User", record.createdAt, record.updatedAt, record.version, base + "/Users/" + record.id)
        return .object(fields)
    }

    public static func group(_ record: ScimGroupRecord, base: String, members: Bool = true) -> JSONValue {
        guard case .object(var fields) = record.resource else { return record.resource }
        fields["schemas"] = [.string(ScimSchemas.groupURN)]
        fields["id"] = .string(record.id)
        if members, !record.members.isEmpty {
            fields["members"] = .array(
                record.members.map {
                    // (No `display`: a member is named by its id, and its name is the user's to change.)
                    ["value": .string($0.id), "$ref": .string(base + "/Users/" + $0.id), "type": "User"]
                })
        }
        fields["meta"] = meta("Group", record.createdAt, record.updatedAt, record.version, base + "/Groups/" + record.id)
        return .object(fields)
    }

    static func meta(_ type: String, _ created: Date, _ modified: Date, _ version: Int64, _ location: String) -> JSONValue {
        [
            "resourceType": .string(type), "created": .string(UTC.format(created, milliseconds: true)),
            "lastModified": .string(UTC.format(modified, milliseconds: true)), "location": .string(location),
            "version": .string(etag(version)),
        ]
    }

    public static func list(_ resources: [JSONValue], total: Int, startIndex: Int) -> JSONValue {
        [
            "schemas": [.string(ScimSchemas.listURN)], "totalResults": .int(Int64(total)), "startIndex": .int(Int64(startIndex)),
            "itemsPerPage": .int(Int64(resources.count)), "Resources": .array(resources),
        ]
    }
}

/// `attributes=` and `excludedAttributes=` (RFC 7644 section 3.4.2.5): comma-separated paths.
/// `id` and `schemas` are always returned.
public struct ScimProjection: Sendable {
    public var attributes: [ScimPath]
    public var excluded: [ScimPath]

    /// Everything, as stored.
    public init() {
        attributes = []
        excluded = []
    }

    public init(attributes: String?, excluded: String?, kind: ScimResourceKind) {
        // A name this kind of resource has not is left out, as RFC 7644 has it (a search across
        // resource types names attributes of each).
        func parse(_ text: String?, _ name: String) -> [ScimPath] {
            guard let text, !text.isEmpty else { return [] }
            return text.split(separator: ",").compactMap { item in
                try? ScimPath.named(item.trimmingCharacters(in: .whitespaces), kind: kind, error: ScimError.invalidValue)
            }
        }
        self.attributes = parse(attributes, "attributes")
        self.excluded = parse(excluded, "excludedAttributes")
    }

    public var isEmpty: Bool { attributes.isEmpty && excluded.isEmpty }

    /// Whether `name` (a top-level attribute of the core schema) will be in the answer.
    public func includes(_ name: String) -> Bool {
        if !attributes.isEmpty { return attributes.contains { $0.container == nil && $0.attribute == name } }
        return !excluded.contains { $0.container == nil && $0.attribute == name && $0.sub == nil }
    }

    public func apply(_ resource: JSONValue) -> JSONValue {
        guard case .object(let fields) = resource, !isEmpty else { return resource }
        var out = fields
        if !attributes.isEmpty {
            out = [:]
            for key in ["schemas", "id"] { out[key] = fields[key] }
            for path in attributes {
                if let container = path.container {
                    guard case .object(let ext)? = fields[container], let value = ext[path.attribute] else { continue }
                    var holder: [String: JSONValue] = [:]
                    if case .object(let o)? = out[container] { holder = o }
                    holder[path.attribute] = Self.narrow(value, sub: path.sub, holder[path.attribute])
                    out[container] = .object(holder)
                } else if let value = fields[path.attribute] {
                    out[path.attribute] = Self.narrow(value, sub: path.sub, out[path.attribute])
                }
            }
        }
        for path in excluded where !(path.container == nil && ["id", "schemas"].contains(path.attribute)) {
            if let container = path.container {
                guard case .object(var ext)? = out[container] else { continue }
                if let sub = path.sub { ext[path.attribute] = Self.without(ext[path.attribute], sub) } else { ext[path.attribute] = nil }
                out[container] = ext.isEmpty ? nil : .object(ext)
            } else if let sub = path.sub {
                out[path.attribute] = Self.without(out[path.attribute], sub)
            } else {
                out[path.attribute] = nil
            }
        }
        return .object(out)
    }

    /// A value, or only one sub-attribute of it (merged with what an earlier path kept).
    static func narrow(_ value: JSONValue, sub: String?, _ kept: JSONValue?) -> JSONValue? {
        guard let sub else { return value }
        switch value {
        case .object(let o):
            var k: [String: JSONValue] = [:]
            if case .object(let existing)? = kept { k = existing }
            k[sub] = o[sub]
            return .object(k)
        case .array(let items):
            let existing: [JSONValue]
            if case .array(let e)? = kept { existing = e } else { existing = [] }
            return .array(
                items.enumerated().map { i, item in
                    var k: [String: JSONValue] = [:]
                    if i < existing.count, case .object(let e) = existing[i] { k = e }
                    k[sub] = item[sub]
                    return .object(k)
                })
        default: return value
        }
    }

    static func without(_ value: JSONValue?, _ sub: String) -> JSONValue? {
        switch value {
        case .object(var o)?:
            o[sub] = nil
            return .object(o)
        case .array(let items)?:
            return .array(
                items.map {
                    guard case .object(var o) = $0 else { return $0 }
                    o[sub] = nil
                    return .object(o)
                })
        default: return value
        }
    }
}

extension ScimFilter {
    /// Whether the filter looks at the top-level attribute `name` (of the core schema).
    public func mentions(_ name: String) -> Bool {
        switch self {
        case .compare(let c): c.path.container == nil && c.path.attribute == name
        case .present(let p): p.container == nil && p.attribute == name
        case .valuePath(let p, _): p.container == nil && p.attribute == name
        case .and(let a, let b), .or(let a, let b): a.mentions(name) || b.mentions(name)
        case .not(let f): f.mentions(name)
        }
    }
}

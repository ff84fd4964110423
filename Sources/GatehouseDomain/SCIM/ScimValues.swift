import Foundation

/// Checks and normalises the attributes of a SCIM resource written by a client: names take
/// the schema's spelling, values their type (Entra ID's boolean strings such as `"False"`
/// become booleans), read-only and unknown attributes are dropped, and a resource without a
/// required attribute or with a value of the wrong type is refused with `invalidValue`.
/// What comes out is what Gatehouse stores: no `id`, `meta` or `schemas` (those are its own),
/// no `groups` or `members` (kept as rows).
public enum ScimValues {
    /// The attributes that differ between two stored resources (for the audit entry).
    public static func changedAttributes(_ a: JSONValue, _ b: JSONValue) -> [String] {
        guard case .object(let x) = a, case .object(let y) = b else { return [] }
        return Set(x.keys).union(y.keys).filter { x[$0] != y[$0] }.sorted()
    }

    public static func boolean(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true": true
        case "false": false
        default: nil
        }
    }

    /// A whole resource (POST and PUT bodies, and the result of a PATCH).
    public static func normalise(_ body: JSONValue, kind: ScimResourceKind, checkSchemas: Bool = true) throws(ScimError) -> JSONValue {
        guard case .object(let members) = body else { throw .invalidSyntax("a \(kind.rawValue) must be a JSON object") }
        var out: [String: JSONValue] = [:]
        for (key, value) in members.sorted(by: { $0.key < $1.key }) {
            let lower = key.lowercased()
            switch lower {
            case "schemas":
                if checkSchemas { try schemas(value, kind: kind) }
            case "id", "meta":
                continue
            case "externalid":
                switch value {
                case .null: continue
                case .string(let s): if !s.isEmpty { out["externalId"] = .string(s) }
                default: throw .invalidValue("externalId must be a string, not \(value.typeName)")
                }
            default:
                if let ext = kind.extensions.first(where: { $0.id.lowercased() == lower }) {
                    guard case .object(let fields) = value else {
                        if value == .null { continue }
                        throw .invalidValue("\(ext.id) must be an object of its attributes")
                    }
                    var inner: [String: JSONValue] = [:]
                    for (name, v) in fields {
                        guard let attribute = ext.attribute(name), attribute.mutability != .readOnly else { continue }
                        if let normalised = try self.value(v, attribute, path: name) { inner[attribute.name] = normalised }
                    }
                    if !inner.isEmpty { out[ext.id] = .object(inner) }
                    continue
                }
                guard let attribute = kind.schema.attribute(key), attribute.mutability != .readOnly else { continue }
                let normalised = try self.value(value, attribute, path: attribute.name)
                // A group's members are kept as rows (ScimPatch.Members), not in the resource.
                if kind == .group, attribute.name == "members" { continue }
                if let normalised { out[attribute.name] = normalised }
            }
        }
        for attribute in kind.schema.attributes where attribute.required {
            guard case .string(let s)? = out[attribute.name], !s.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw .invalidValue("\(attribute.name) is required")
            }
        }
        return .object(out)
    }

    /// Every URN in `schemas` must be one this kind of resource has.
    static func schemas(_ value: JSONValue, kind: ScimResourceKind) throws(ScimError) {
        guard case .array(let items) = value, !items.isEmpty else { throw .invalidValue("schemas must list the resource's schema URNs") }
        let known = Set(([kind.schema] + kind.extensions).map { $0.id.lowercased() })
        for item in items {
            guard case .string(let urn) = item else { throw .invalidValue("schemas must list strings") }
            guard known.contains(urn.lowercased()) else {
                throw .invalidValue(
                    "unknown schema \(urn) for a \(kind.rawValue) (known: \(([kind.schema] + kind.extensions).map(\.id).joined(separator: ", ")))"
                )
            }
        }
        guard items.contains(where: { $0.stringValue?.lowercased() == kind.schema.id.lowercased() }) else {
            throw .invalidValue("schemas must include \(kind.schema.id)")
        }
    }

    /// One attribute's value, or nil when it is null or empty (the attribute is then absent).
    public static func value(_ value: JSONValue, _ attribute: ScimAttribute, path: String) throws(ScimError) -> JSONValue? {
        if value == .null { return nil }
        if attribute.multiValued {
            let items: [JSONValue]
            if case .array(let a) = value { items = a } else { items = [value] }
            var out: [JSONValue] = []
            var seen = Set<JSONValue>()
            for item in items {
                if let v = try single(item, attribute, path: path), seen.insert(v).inserted { out.append(v) }
            }
            return out.isEmpty ? nil : .array(out)
        }
        if case .array = value { throw .invalidValue("\(path) takes one value, not a list") }
        return try single(value, attribute, path: path)
    }

    static func single(_ value: JSONValue, _ attribute: ScimAttribute, path: String) throws(ScimError) -> JSONValue? {
        switch (attribute.kind, value) {
        case (_, .null): return nil
        case (.complex, .object(let fields)):
            var out: [String: JSONValue] = [:]
            for (name, v) in fields {
                guard let sub = attribute.sub(name) else { continue }
                if sub.mutability == .readOnly { continue }
                if let normalised = try single(v, sub, path: path + "." + sub.name) { out[sub.name] = normalised }
            }
            return out.isEmpty ? nil : .object(out)
        case (.complex, .string) where attribute.sub("value") != nil:
            // Entra ID sends a manager as its id alone.
            return ["value": value]
        case (.string, .string), (.reference, .string):
            return value
        case (.dateTime, .string(let s)):
            guard UTC.parseTimestamp(s) != nil else {
                throw .invalidValue("\(path) must be a date and time (2026-11-26T09:30:00Z), not \"\(s)\"")
            }
            return value
        case (.boolean, .bool):
            return value
        case (.boolean, .string(let s)):
            guard let b = boolean(s) else { throw .invalidValue("\(path) must be true or false, not \"\(s)\"") }
            return .bool(b)
        case (.integer, .int), (.decimal, .int), (.decimal, .number):
            return value
        default:
            throw .invalidValue(
                "\(path) must be \(attribute.kind == .complex ? "an object" : "a " + attribute.kind.rawValue), not \(value.typeName)")
        }
    }
}

extension JSONValue {
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
}

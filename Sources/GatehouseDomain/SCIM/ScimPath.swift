/// An attribute path (`userName`, `name.givenName`, `urn:…:enterprise:2.0:User:department`,
/// `emails[type eq "work"].value`), resolved against the resource's schemas: names are
/// matched without case and stored under their schema spelling.
public struct ScimPath: Sendable, Equatable, CustomStringConvertible {
    /// The extension schema URN holding the attribute, or nil for the core schema and the
    /// common attributes (`id`, `externalId`, `meta`).
    public var container: String?
    /// The attribute's schema spelling.
    public var attribute: String
    /// A value filter on a multi-valued attribute: `emails[type eq "work"]`.
    public var filter: ScimFilter?
    /// The sub-attribute's schema spelling.
    public var sub: String?

    public var description: String {
        (container.map { $0 + ":" } ?? "") + attribute + (filter.map { "[\($0)]" } ?? "") + (sub.map { "." + $0 } ?? "")
    }

    /// The common attributes of every resource (RFC 7643 section 3.1).
    static let common: [ScimAttribute] = [
        ScimAttribute("id", .string, "Gatehouse's id of the resource.", caseExact: true, mutability: .readOnly, returned: .always),
        ScimAttribute("externalId", .string, "The identity provider's id of the resource.", caseExact: true),
        ScimAttribute(
            "meta", .complex, "Resource metadata.", mutability: .readOnly,
            subAttributes: [
                ScimAttribute("resourceType", .string, "User or Group.", caseExact: true, mutability: .readOnly),
                ScimAttribute("created", .dateTime, "When it was created.", mutability: .readOnly),
                ScimAttribute("lastModified", .dateTime, "When it last changed.", mutability: .readOnly),
                ScimAttribute("location", .reference, "Its URI.", caseExact: true, mutability: .readOnly),
                ScimAttribute("version", .string, "Its ETag.", caseExact: true, mutability: .readOnly),
            ]),
    ]

    /// The attribute definition this path names (and its sub-attribute's), or an
    /// `invalidPath`/`invalidFilter` error naming what is unknown.
    public func resolve(_ kind: ScimResourceKind) -> (attribute: ScimAttribute, sub: ScimAttribute?)? {
        let found: ScimAttribute?
        if let container {
            found = kind.extensions.first { $0.id == container }?.attribute(attribute)
        } else {
            found = kind.schema.attribute(attribute) ?? Self.common.first { $0.name.lowercased() == attribute.lowercased() }
        }
        guard let found else { return nil }
        guard let sub else { return (found, nil) }
        guard let subAttribute = found.sub(sub) else { return nil }
        return (found, subAttribute)
    }

    /// Parses a path as it appears in a PATCH operation (and, without a value filter, in a
    /// filter expression), resolving names against `kind`'s schemas.
    public static func parse(_ text: String, kind: ScimResourceKind, error: (String) -> ScimError = ScimError.invalidPath) throws(ScimError)
        -> ScimPath
    {
        var lexer = ScimLexer(text)
        let path = try lexer.path(kind: kind, allowFilter: true, error: error)
        guard lexer.atEnd else { throw error("unexpected text after the path \"\(text)\"") }
        return path
    }

    /// Splits `urn:…:User:name.givenName` into container, attribute and sub-attribute, and
    /// resolves them (the spelling of the schema kept).
    static func named(_ raw: String, kind: ScimResourceKind, error: (String) -> ScimError) throws(ScimError) -> ScimPath {
        var container: String?
        var rest = Substring(raw)
        if raw.lowercased().hasPrefix("urn:"), let colon = raw.lastIndex(of: ":") {
            let urn = String(raw[..<colon])
            rest = raw[raw.index(after: colon)...]
            if urn.lowercased() == kind.schema.id.lowercased() {
                container = nil
            } else if let ext = kind.extensions.first(where: { $0.id.lowercased() == urn.lowercased() }) {
                container = ext.id
            } else {
                throw error("unknown schema \(urn) for a \(kind.rawValue)")
            }
        }
        let parts = rest.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.allSatisfy({ ScimLexer.isAttributeName($0) }) else {
            throw error("\"\(raw)\" is not an attribute path")
        }
        var path = ScimPath(container: container, attribute: String(parts[0]), filter: nil, sub: parts.count == 2 ? String(parts[1]) : nil)
        guard let (attribute, sub) = path.resolve(kind) else { throw error("\(kind.rawValue) has no attribute \"\(raw)\"") }
        path.attribute = attribute.name
        path.sub = sub?.name
        return path
    }
}

/// A refusal in SCIM's own terms (RFC 7644 section 3.12): an HTTP status, an optional
/// `scimType` and a sentence. Okta and Entra ID show `detail` to the administrator.
public struct ScimError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum ScimType: String, Sendable {
        case invalidFilter, tooMany, uniqueness, mutability, invalidSyntax, invalidPath, noTarget, invalidValue, invalidVers, sensitive
    }

    public var status: Int
    public var scimType: ScimType?
    public var detail: String

    public init(_ status: Int, _ scimType: ScimType? = nil, _ detail: String) {
        self.status = status
        self.scimType = scimType
        self.detail = detail
    }

    public var description: String { detail }

    public static func invalidValue(_ detail: String) -> ScimError { ScimError(400, .invalidValue, detail) }
    public static func invalidSyntax(_ detail: String) -> ScimError { ScimError(400, .invalidSyntax, detail) }
    public static func invalidFilter(_ detail: String) -> ScimError { ScimError(400, .invalidFilter, detail) }
    public static func invalidPath(_ detail: String) -> ScimError { ScimError(400, .invalidPath, detail) }
    public static func mutability(_ detail: String) -> ScimError { ScimError(400, .mutability, detail) }
    public static func notFound(_ detail: String) -> ScimError { ScimError(404, nil, detail) }
    /// The removal guard's refusal (409 without a scimType: none of RFC 7644's fits).
    public static func removalRefused(_ detail: String) -> ScimError {
        var error = ScimError(409, nil, detail)
        error.isRemovalRefusal = true
        return error
    }
    /// Set only by `removalRefused`: the refusal is recorded for its notification.
    public private(set) var isRemovalRefusal = false

    /// The error body: `{"schemas":[...Error], "status":"400", "scimType":..., "detail":...}`.
    public var json: JSONValue {
        var out: [String: JSONValue] = [
            "schemas": [.string(ScimSchemas.errorURN)], "status": .string(String(status)), "detail": .string(detail),
        ]
        if let scimType { out["scimType"] = .string(scimType.rawValue) }
        return .object(out)
    }
}

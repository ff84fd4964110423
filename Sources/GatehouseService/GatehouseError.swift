import GatehouseStorage

/// An error an administrator or API client is meant to read: a stable code, one sentence,
/// and the kind that decides the HTTP status and exit behaviour.
public struct GatehouseError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Malformed input (HTTP 400).
        case badRequest
        /// Well-formed input that the rules refuse, e.g. an invalid license (HTTP 422).
        case unprocessable
        /// Missing or unknown credentials (HTTP 401).
        case unauthorized
        /// Valid credentials without the needed scope (HTTP 403).
        case forbidden
        case notFound
        /// Conflicts with what is stored (HTTP 409).
        case conflict
        /// The database or another dependency is not usable now (HTTP 503).
        case unavailable
        /// A body of a type the endpoint does not read (HTTP 415).
        case unsupportedMediaType
    }

    public let kind: Kind
    public let code: String
    public let message: String

    public init(_ kind: Kind, _ code: String, _ message: String) {
        self.kind = kind
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// Maps any error to a `GatehouseError`: storage errors by code, anything else as an
    /// opaque internal error (its details are for the log, not the client).
    public static func from(_ error: any Error) -> GatehouseError? {
        if let error = error as? GatehouseError { return error }
        if let error = error as? StoreError {
            let kind: Kind =
                switch error.code {
                case .conflict: .conflict
                case .notFound: .notFound
                case .notInitialised, .needsMigration, .schemaTooNew, .migrationChanged, .unavailable, .corrupt: .unavailable
                }
            return GatehouseError(kind, error.code.rawValue, error.message)
        }
        return nil
    }
}

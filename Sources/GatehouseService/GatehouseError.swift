import GatehouseDirectory
import GatehouseDomain
import GatehouseSignIn
import GatehouseStorage

/// An error an administrator or API client is meant to read: a code from a closed set, one
/// sentence, and the kind — decided by the code alone (`Code.kind`, the one table) — that sets
/// the HTTP status and exit behaviour.
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

    /// Every code Gatehouse answers with (swift-certificates style): its own, and those of the
    /// layers whose refusals it passes on — the decision rules, license verification, storage,
    /// the directory and webhook signatures. Adding a case means giving it a kind below.
    public enum Code: Sendable, Hashable, CustomStringConvertible {
        case own(Name)
        /// A seat or a login refused by the rules (409).
        case decision(DecisionReason)
        /// A license, an amendment or a charge refused (422).
        case license(LicenseProblem.Code)
        case store(StoreError.Code)
        case directory(DirectoryError.Code)
        /// A webhook whose signature does not verify (401).
        case webhook(WebhookRefusal)
        /// A sign-in the provider did not complete.
        case signIn(SignInError.Code)

        /// Gatehouse's own codes.
        public enum Name: String, Sendable, Hashable, CaseIterable {
            case devSetupFailed = "dev_setup_failed"
            case directoryFailed = "directory_failed"
            case directoryRemovalRefused = "directory_removal_refused"
            case egressListenFailed = "egress_listen_failed"
            case fileExists = "file_exists"
            case fileUnreadable = "file_unreadable"
            case fileUnwritable = "file_unwritable"
            case gateListenFailed = "gate_listen_failed"
            case gateNotConfigured = "gate_not_configured"
            case identityNotFound = "identity_not_found"
            case invalidBody = "invalid_body"
            case invalidCallback = "invalid_callback"
            case invalidConfiguration = "invalid_configuration"
            case invalidDatabase = "invalid_database"
            case invalidIdentity = "invalid_identity"
            case invalidInactiveDays = "invalid_inactive_days"
            case invalidKey = "invalid_key"
            case invalidPath = "invalid_path"
            case invalidPayload = "invalid_payload"
            case invalidPolicy = "invalid_policy"
            case invalidQuery = "invalid_query"
            case invalidRedirect = "invalid_redirect"
            case invalidRequest = "invalid_request"
            case invalidSessionId = "invalid_session_id"
            case invalidTerms = "invalid_terms"
            case invalidTokenName = "invalid_token_name"
            case invalidUser = "invalid_user"
            case leftDirectory = "left_directory"
            case licenseAlreadyInstalled = "license_already_installed"
            case licenseClockTampered = "license_clock_tampered"
            case licenseExpired = "license_expired"
            case licenseGrace = "license_grace"
            case licenseInvalid = "license_invalid"
            case licenseMissing = "license_missing"
            case licenseNotYetValid = "license_not_yet_valid"
            case malformedJson = "malformed_json"
            case missingDelivery = "missing_delivery"
            case missingEvent = "missing_event"
            case noKeys = "no_keys"
            case noSeatAvailable = "no_seat_available"
            case noSeatRequest = "no_seat_request"
            case noSigninProvider = "no_signin_provider"
            case notConsoleAdmin = "not_console_admin"
            case notificationFailed = "notification_failed"
            case sessionNotFound = "session_not_found"
            case signinCancelled = "signin_cancelled"
            case signinExpired = "signin_expired"
            case signinMismatch = "signin_mismatch"
            case targetExists = "target_exists"
            case termsRefused = "terms_refused"
            case tokenExists = "token_exists"
            case tokenNotFound = "token_not_found"
            case unknownNotificationChannel = "unknown_notification_channel"
            case unknownRole = "unknown_role"
            case unknownSigninProvider = "unknown_signin_provider"
            case unsupportedDatabase = "unsupported_database"
            case unsupportedMediaType = "unsupported_media_type"
            case userLeftDirectory = "user_left_directory"
            case userNotFound = "user_not_found"
            case webhookNotConfigured = "webhook_not_configured"
        }

        /// The code as clients read it (`error.code` in JSON bodies).
        public var description: String {
            switch self {
            case .own(let name): name.rawValue
            case .decision(let reason): reason.rawValue
            case .license(let code): code.rawValue
            case .store(let code): code.rawValue
            case .directory(let code): code.rawValue
            case .webhook(let refusal): refusal.rawValue
            case .signIn(let code): code.rawValue
            }
        }

        /// The one table from code to kind (and so to HTTP status).
        public var kind: Kind {
            switch self {
            case .own(let name): name.kind
            case .decision: .conflict
            case .license: .unprocessable
            case .store(let code):
                switch code {
                case .conflict: .conflict
                case .notFound: .notFound
                case .notInitialised, .needsMigration, .schemaTooNew, .migrationChanged, .unavailable, .corrupt: .unavailable
                }
            case .directory(let code): code == .notConfigured ? .conflict : .unavailable
            case .webhook: .unauthorized
            case .signIn(let code):
                switch code {
                case .providerUnavailable: .unavailable
                case .codeRefused: .badRequest
                case .tokenRefused, .invalidIDToken: .forbidden
                case .incompleteIdentity: .unprocessable
                }
            }
        }
    }

    public let reason: Code
    public let message: String
    /// The code as clients read it.
    public var code: String { reason.description }
    public var kind: Kind { reason.kind }

    public init(_ reason: Code, _ message: String) {
        self.reason = reason
        self.message = message
    }

    /// One of Gatehouse's own codes.
    public init(_ name: Code.Name, _ message: String) {
        self.init(.own(name), message)
    }

    public var description: String { message }

    /// Maps any error to a `GatehouseError`: storage errors by code, anything else as an
    /// opaque internal error (its details are for the log, not the client).
    public static func from(_ error: any Error) -> GatehouseError? {
        if let error = error as? GatehouseError { return error }
        if let error = error as? StoreError { return GatehouseError(.store(error.code), error.message) }
        return nil
    }
}

extension GatehouseError.Code.Name {
    var kind: GatehouseError.Kind {
        switch self {
        case .fileUnreadable, .fileUnwritable, .invalidBody, .invalidCallback, .invalidConfiguration, .invalidDatabase, .invalidIdentity,
            .invalidInactiveDays, .invalidKey, .invalidPath, .invalidQuery, .invalidRedirect, .invalidSessionId, .invalidTokenName,
            .invalidUser, .malformedJson, .missingDelivery, .missingEvent, .noKeys, .signinExpired, .signinMismatch, .unsupportedDatabase:
            .badRequest
        case .unsupportedMediaType: .unsupportedMediaType
        case .signinCancelled: .forbidden
        case .gateNotConfigured, .identityNotFound, .licenseMissing, .notConsoleAdmin, .sessionNotFound, .tokenNotFound, .unknownNotificationChannel, .unknownRole, .unknownSigninProvider,
            .userNotFound, .webhookNotConfigured:
            .notFound
        case .directoryRemovalRefused, .fileExists, .leftDirectory, .licenseAlreadyInstalled, .licenseGrace, .noSeatAvailable, .noSeatRequest,
            .targetExists, .tokenExists, .userLeftDirectory:
            .conflict
        case .invalidPayload, .invalidPolicy, .invalidRequest, .invalidTerms, .licenseClockTampered, .licenseExpired, .licenseInvalid,
            .licenseNotYetValid, .termsRefused:
            .unprocessable
        case .devSetupFailed, .directoryFailed, .egressListenFailed, .gateListenFailed, .noSigninProvider, .notificationFailed: .unavailable
        }
    }
}

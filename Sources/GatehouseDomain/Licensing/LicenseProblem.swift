/// One reason a license is not acceptable. Verification returns all of them, never just the
/// first, so a vendor or an administrator fixes a bad file in one round.
public struct LicenseProblem: Error, Sendable, Equatable, Hashable, CustomStringConvertible {
    /// Every reason a license (or a charge computed from one) is refused: a closed set.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        case amendmentOutsideTerm = "amendment_outside_term"
        case badSignature = "bad_signature"
        case belowMinimumValue = "below_minimum_value"
        case currencyMismatch = "currency_mismatch"
        case emptyTerm = "empty_term"
        case expiresBeforeStart = "expires_before_start"
        case expiryMismatch = "expiry_mismatch"
        case instanceMismatch = "instance_mismatch"
        case invalidField = "invalid_field"
        case invalidKid = "invalid_kid"
        case invalidSeats = "invalid_seats"
        case licenseeMismatch = "licensee_mismatch"
        case malformedEnvelope = "malformed_envelope"
        case malformedFile = "malformed_file"
        case malformedPayload = "malformed_payload"
        case noSeats = "no_seats"
        case outsideTerm = "outside_term"
        case priceOutOfRange = "price_out_of_range"
        case seatsNotIncreased = "seats_not_increased"
        case signingFailed = "signing_failed"
        case supersedesMismatch = "supersedes_mismatch"
        case termTooShort = "term_too_short"
        case tooManySeats = "too_many_seats"
        case unknownKid = "unknown_kid"
        case unsupportedAlgorithm = "unsupported_algorithm"
        case unsupportedCurrency = "unsupported_currency"
    }

    public let reason: Code
    /// A sentence for a person.
    public let message: String
    /// Stable snake_case code, e.g. `bad_signature`, `term_too_short`.
    public var code: String { reason.rawValue }

    public init(_ reason: Code, _ message: String) {
        self.reason = reason
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}

/// Several problems at once, as a failure value.
public struct LicenseProblems: Error, Sendable, Equatable {
    public let problems: [LicenseProblem]

    public init(_ problems: [LicenseProblem]) { self.problems = problems }
}

/// Why a decision came out as it did (SPEC section 3); stable snake_case codes.
public enum DecisionReason: String, Sendable, CaseIterable, Codable {
    case ok
    case licenseMissing = "license_missing"
    case licenseInvalid = "license_invalid"
    case licenseExpired = "license_expired"
    case licenseNotYetValid = "license_not_yet_valid"
    case clockTampered = "clock_tampered"
    case deniedByPolicy = "denied_by_policy"
    case userBlocked = "user_blocked"
    case notInAllowedOrg = "not_in_allowed_org"
    case notInAllowedTeam = "not_in_allowed_team"
    case notInAllowedGroup = "not_in_allowed_group"
    case notInDirectory = "not_in_directory"
    case noSeatAvailable = "no_seat_available"
    /// No free seat; a request was filed (`seats.when_full: request`).
    case seatRequested = "seat_requested"
    case authorHasNoSeat = "author_has_no_seat"
    case destinationNotAllowed = "destination_not_allowed"
    case resolvesToPrivateAddress = "resolves_to_private_address"
    case ipLiteralNotAllowed = "ip_literal_not_allowed"
    case portNotAllowed = "port_not_allowed"
    /// The egress proxy: a request whose Host header names another destination than its target.
    case hostHeaderMismatch = "host_header_mismatch"

    /// The reason a license state refuses use, or `nil` if existing seats may be used.
    public static func forLicense(_ state: LicenseState) -> DecisionReason? {
        switch state {
        case .valid, .expiring, .grace: nil
        case .missing: .licenseMissing
        case .invalid: .licenseInvalid
        case .expired: .licenseExpired
        case .notYetValid: .licenseNotYetValid
        case .clockTampered: .clockTampered
        }
    }
}

/// What the decider concluded before any state changes.
public enum Verdict: Sendable, Equatable {
    case allow(DecisionReason)
    case deny(DecisionReason)
    /// Allowed if a seat can be activated atomically now; otherwise denied with this reason.
    case activateSeat(elseDeny: DecisionReason)
}

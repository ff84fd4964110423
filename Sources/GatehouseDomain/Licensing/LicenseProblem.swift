/// One reason a license is not acceptable. Verification returns all of them, never just the
/// first, so a vendor or an administrator fixes a bad file in one round.
public struct LicenseProblem: Error, Sendable, Equatable, Hashable, CustomStringConvertible {
    /// Stable snake_case code, e.g. `bad_signature`, `term_too_short`.
    public let code: String
    /// A sentence for a person.
    public let message: String

    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}

/// Several problems at once, as a failure value.
public struct LicenseProblems: Error, Sendable, Equatable {
    public let problems: [LicenseProblem]

    public init(_ problems: [LicenseProblem]) { self.problems = problems }
}

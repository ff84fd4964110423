import Foundation

/// Where a license stands at a moment (SPEC section 4).
public enum LicenseState: String, Sendable, Codable, CaseIterable {
    case missing, valid, expiring, grace, expired, invalid
    case notYetValid = "not_yet_valid"
    case clockTampered = "clock_tampered"

    /// Whether people who already hold seats may log in.
    public var allowsExistingSeats: Bool { self == .valid || self == .expiring || self == .grace }
    /// Whether new seats may be activated (not in grace: the term is over).
    public var allowsNewSeats: Bool { self == .valid || self == .expiring }
}

/// A license's state at a moment, with the days left and warnings for the administrator.
public struct LicenseEvaluation: Sendable, Equatable {
    public var state: LicenseState
    /// Whole UTC days from today to the expiry day; negative once expired.
    public var daysLeft: Int64?
    public var graceEndsAt: Date?
    public var warnings: [String]
}

/// Judges the time window of a verified license against an injected clock.
public enum LicenseEvaluator {
    /// "Expiring" from this many days before the end of the term.
    public static let expiringWithinDays: Int64 = 30
    /// The clock may run this far behind the latest time recorded before it is distrusted.
    public static let clockToleranceSeconds: TimeInterval = 24 * 3600

    /// Evaluates a license (`nil` when none is installed) at `now`. `latestSeen` is the
    /// latest time Gatehouse has recorded; a clock more than 24 h behind it is tampered.
    public static func evaluate(_ verification: LicenseVerification?, now: Date, latestSeen: Date?) -> LicenseEvaluation {
        guard let verification else {
            return LicenseEvaluation(state: .missing, warnings: ["no license is installed: run `gatehouse license install FILE`"])
        }
        guard let terms = verification.terms, verification.isValid else {
            let reasons = verification.problems.map(\.message).joined(separator: "; ")
            return LicenseEvaluation(state: .invalid, warnings: ["the installed license is invalid: \(reasons)"])
        }
        let daysLeft = UTC.days(from: now, to: terms.expiresAt)
        let graceEnds = terms.expiresAt.addingTimeInterval(TimeInterval(terms.graceDays * UTC.secondsPerDay))
        var result = LicenseEvaluation(state: .valid, daysLeft: daysLeft, graceEndsAt: graceEnds, warnings: [])
        if let latestSeen, latestSeen.timeIntervalSince(now) > clockToleranceSeconds {
            let hours = Int(latestSeen.timeIntervalSince(now) / 3600)
            result.state = .clockTampered
            result.warnings.append("the system clock (\(UTC.format(now))) is \(hours) hours behind the latest time recorded (\(UTC.format(latestSeen))); correct the clock")
        } else if now < terms.startsAt {
            result.state = .notYetValid
            result.warnings.append("the license starts on \(UTC.formatDay(terms.startsAt))")
        } else if now >= terms.expiresAt {
            if now < graceEnds {
                result.state = .grace
                result.warnings.append("the license expired on \(UTC.formatDay(terms.expiresAt)); grace period until \(UTC.formatDay(graceEnds)): existing seats keep working, no new seats")
            } else {
                result.state = .expired
                result.warnings.append("the license expired on \(UTC.formatDay(terms.expiresAt)) and its grace period ended on \(UTC.formatDay(graceEnds))")
            }
        } else if daysLeft <= expiringWithinDays {
            result.state = .expiring
            result.warnings.append("the license expires in \(daysLeft) day\(daysLeft == 1 ? "" : "s") (\(UTC.formatDay(terms.expiresAt)))")
        }
        return result
    }
}

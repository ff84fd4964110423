import Foundation

/// Rules for a license that adds seats to the license in force (SPEC section 4): it names
/// that license in `supersedes`, keeps the licensee, currency and expiry, raises the seat
/// count and starts on the day the seats are added, inside the current term.
public enum Amendment {
    /// Every way `amendment` fails to amend `current`, whose term began at `termStart`.
    public static func check(_ amendment: LicenseTerms, amends current: LicenseTerms, termStart: Date) -> [LicenseProblem] {
        var problems: [LicenseProblem] = []
        if amendment.supersedes != current.licenseID {
            problems.append(LicenseProblem(.supersedesMismatch, "the amendment supersedes \"\(amendment.supersedes ?? "nothing")\"; the license in force is \"\(current.licenseID)\""))
        }
        if amendment.licensee != current.licensee {
            problems.append(LicenseProblem(.licenseeMismatch, "licensee \"\(amendment.licensee)\" differs from \"\(current.licensee)\""))
        }
        if amendment.expiresAt != current.expiresAt {
            problems.append(LicenseProblem(.expiryMismatch, "an amendment keeps the term's expiry (\(UTC.format(current.expiresAt))), got \(UTC.format(amendment.expiresAt))"))
        }
        if amendment.currency != current.currency {
            problems.append(LicenseProblem(.currencyMismatch, "currency \(amendment.currency) differs from \(current.currency)"))
        }
        if amendment.seats <= current.seats {
            problems.append(LicenseProblem(.seatsNotIncreased, "an amendment adds seats: \(amendment.seats) is not more than \(current.seats)"))
        }
        if UTC.dayNumber(amendment.startsAt) < UTC.dayNumber(termStart) || amendment.startsAt >= current.expiresAt {
            problems.append(LicenseProblem(.amendmentOutsideTerm, "starts_at \(UTC.format(amendment.startsAt)) is outside the term \(UTC.formatDay(termStart)) – \(UTC.formatDay(current.expiresAt))"))
        }
        return problems
    }
}

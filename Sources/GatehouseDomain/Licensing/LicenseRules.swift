import Foundation

/// The commercial rules every license must meet (SPEC section 1), checked identically when
/// the vendor signs and when the customer verifies or installs.
public enum LicenseRules {
    /// A term is at least 365 days: there are no monthly licenses.
    public static let minimumTermDays: Int64 = 365
    /// seats × seat price must reach 50,000 USD, in cents.
    public static let minimumValueCents: Int64 = 5_000_000
    /// Upper bounds that keep every money computation far from 64-bit overflow.
    public static let maximumSeats: Int64 = 10_000_000
    public static let maximumSeatPriceCents: Int64 = 100_000_000_00

    /// Every rule `terms` breaks. For an amendment (`supersedes` set) the term length is
    /// checked against the original term at install time, not here.
    public static func check(_ terms: LicenseTerms) -> [LicenseProblem] {
        var problems: [LicenseProblem] = []
        if terms.seats < 1 {
            problems.append(LicenseProblem(.noSeats, "seats must be at least 1, got \(terms.seats)"))
        } else if terms.seats > maximumSeats {
            problems.append(LicenseProblem(.tooManySeats, "seats must be at most \(maximumSeats)"))
        }
        if terms.seatPriceCents > maximumSeatPriceCents {
            problems.append(LicenseProblem(.priceOutOfRange, "seat_price_cents must be at most \(maximumSeatPriceCents)"))
        }
        if terms.currency != "USD" {
            problems.append(LicenseProblem(.unsupportedCurrency, "currency must be USD, got \"\(terms.currency)\""))
        }
        if terms.expiresAt <= terms.startsAt {
            problems.append(LicenseProblem(.expiresBeforeStart, "expires_at (\(UTC.format(terms.expiresAt))) must be after starts_at (\(UTC.format(terms.startsAt)))"))
        } else if terms.supersedes == nil,
            terms.expiresAt.timeIntervalSince(terms.startsAt) < TimeInterval(minimumTermDays * UTC.secondsPerDay)
        {
            let days = Int64(terms.expiresAt.timeIntervalSince(terms.startsAt) / TimeInterval(UTC.secondsPerDay))
            problems.append(LicenseProblem(.termTooShort, "term is \(days) days; a license term is at least \(minimumTermDays) days"))
        }
        if terms.seats >= 1, terms.seats <= maximumSeats, terms.seatPriceCents >= 0,
            terms.seatPriceCents <= maximumSeatPriceCents, terms.seats * terms.seatPriceCents < minimumValueCents
        {
            let value = Money.format(cents: terms.seats * terms.seatPriceCents, currency: "USD")
            problems.append(LicenseProblem(.belowMinimumValue, "seats × seat price is \(value); the minimum purchase is 50,000.00 USD"))
        }
        return problems
    }
}

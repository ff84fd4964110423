import Foundation

/// The charge for seats added during a term (SPEC section 4), in whole UTC days:
/// `amount = round_half_even(added × price × remaining_days / term_days)`.
public struct Proration: Sendable, Equatable {
    public var addedSeats: Int64
    public var effectiveDate: Date
    public var termDays: Int64
    public var remainingDays: Int64
    public var seatPriceCents: Int64
    public var amountCents: Int64
    public var currency: String

    public init(
        addedSeats: Int64, effectiveDate: Date, termDays: Int64, remainingDays: Int64, seatPriceCents: Int64, amountCents: Int64,
        currency: String
    ) {
        self.addedSeats = addedSeats
        self.effectiveDate = effectiveDate
        self.termDays = termDays
        self.remainingDays = remainingDays
        self.seatPriceCents = seatPriceCents
        self.amountCents = amountCents
        self.currency = currency
    }

    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public let code: LicenseProblem.Code
        public let description: String
    }

    /// Prorates `addedSeats` from `effective` to the end of a term that began at `termStart`
    /// and ends at `expires`. The effective day must fall inside the term.
    public static func compute(
        addedSeats: Int64, seatPriceCents: Int64, currency: String, termStart: Date, effective: Date, expires: Date
    ) throws(Failure) -> Proration {
        guard addedSeats >= 1, addedSeats <= LicenseRules.maximumSeats else {
            throw Failure(code: .invalidSeats, description: "the number of seats to add must be between 1 and \(LicenseRules.maximumSeats)")
        }
        let termDays = UTC.days(from: termStart, to: expires)
        let remainingDays = UTC.days(from: effective, to: expires)
        guard termDays > 0 else { throw Failure(code: .emptyTerm, description: "the term has no days") }
        guard UTC.dayNumber(effective) >= UTC.dayNumber(termStart) else {
            throw Failure(code: .outsideTerm, description: "\(UTC.formatDay(effective)) is before the term starts (\(UTC.formatDay(termStart)))")
        }
        guard remainingDays > 0 else {
            throw Failure(code: .outsideTerm, description: "\(UTC.formatDay(effective)) is not before the end of the term (\(UTC.formatDay(expires)))")
        }
        let amount = roundHalfEven(addedSeats * seatPriceCents * remainingDays, dividedBy: termDays)
        return Proration(
            addedSeats: addedSeats, effectiveDate: UTC.startOfDay(effective), termDays: termDays,
            remainingDays: remainingDays, seatPriceCents: seatPriceCents, amountCents: amount, currency: currency)
    }

    /// Integer division rounding to nearest, ties to even (banker's rounding). Both operands ≥ 0.
    public static func roundHalfEven(_ numerator: Int64, dividedBy denominator: Int64) -> Int64 {
        let quotient = numerator / denominator
        let twiceRemainder = 2 * (numerator % denominator)
        if twiceRemainder > denominator || (twiceRemainder == denominator && quotient % 2 == 1) {
            return quotient + 1
        }
        return quotient
    }
}

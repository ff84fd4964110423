import Foundation
import GatehouseDomain
import GatehouseStorage

/// `license status` / `GET /v1/license`.
public struct LicenseStatusReport: Sendable {
    public var state: LicenseState
    public var license: StoredLicense?
    public var seatsActive: Int64
    public var daysLeft: Int64?
    public var graceEndsAt: Date?
    public var warnings: [String]
    public var problems: [LicenseProblem]

    public var json: JSONValue {
        [
            "state": .string(state.rawValue),
            "license_id": .optional(license?.licenseID),
            "licensee": .optional(license?.licensee),
            "seats": license.map { .int($0.seats) } ?? .null,
            "seats_active": .int(seatsActive),
            "seats_available": license.map { .int(max(0, $0.seats - seatsActive)) } ?? .null,
            "starts_at": .optional(license.map { UTC.format($0.startsAt) }),
            "expires_at": .optional(license.map { UTC.format($0.expiresAt) }),
            "term_starts_at": .optional(license.map { UTC.format($0.termStartsAt) }),
            "grace_ends_at": .optional(graceEndsAt.map { UTC.format($0) }),
            "days_left": daysLeft.map(JSONValue.int) ?? .null,
            "warnings": .array(warnings.map(JSONValue.string)),
            "problems": .array(problems.map { ["code": .string($0.code), "message": .string($0.message)] }),
        ]
    }

    public var text: String {
        var lines = ["state:        \(state.rawValue)"]
        if let license {
            lines += [
                "license:      \(license.licenseID) (\(license.licensee))",
                "seats:        \(seatsActive) active of \(license.seats)",
                "term:         \(UTC.formatDay(license.termStartsAt)) → \(UTC.formatDay(license.expiresAt))" + (daysLeft.map { " (\($0) days left)" } ?? ""),
            ]
        }
        lines += warnings.map { "warning:      \($0)" }
        return lines.joined(separator: "\n")
    }
}

/// The result of installing a license.
public struct LicenseInstallReport: Sendable {
    public var status: LicenseStatusReport
    public var proration: QuoteReport?

    public var json: JSONValue {
        ["status": status.json, "proration": proration?.json ?? .null]
    }

    public var text: String {
        var text = "installed \(status.license?.licenseID ?? "license")\n" + status.text
        if let proration { text += "\nproration:    " + proration.text.replacingOccurrences(of: "\n", with: "\n              ") }
        return text
    }
}

/// A prorated charge and its working (`seats quote`, amendment installs).
public struct QuoteReport: Sendable {
    public var proration: Proration
    public var licenseID: String

    public init(_ proration: Proration, licenseID: String) {
        self.proration = proration
        self.licenseID = licenseID
    }

    public var json: JSONValue {
        let p = proration
        return [
            "license_id": .string(licenseID), "added_seats": .int(p.addedSeats), "effective_date": .string(UTC.formatDay(p.effectiveDate)),
            "term_days": .int(p.termDays), "remaining_days": .int(p.remainingDays), "seat_price_cents": .int(p.seatPriceCents),
            "amount_cents": .int(p.amountCents), "currency": .string(p.currency),
        ]
    }

    public var text: String {
        let p = proration
        return """
            \(p.addedSeats) seat\(p.addedSeats == 1 ? "" : "s") added on \(UTC.formatDay(p.effectiveDate)) to \(licenseID)
            \(p.remainingDays) of \(p.termDays) term days remain; rate \(Money.format(cents: p.seatPriceCents, currency: p.currency)) per seat-year
            amount = \(p.addedSeats) × \(p.seatPriceCents) × \(p.remainingDays) / \(p.termDays) cents, rounded half to even
                   = \(Money.format(cents: p.amountCents, currency: p.currency))
            """
    }
}

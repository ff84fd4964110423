import Foundation
import GatehouseDomain

extension SQLStore {
    public func licenseInForce() async throws -> StoredLicense? {
        try await read { db in try db.row("SELECT * FROM licenses WHERE in_force = 1").map(SQLStore.license) }
    }

    public func installLicense(
        _ license: StoredLicense, proration: ProrationRecord?, audit: AuditDraft, at: Date,
        then rule: (@Sendable (any PeopleFacts) throws -> PeoplePlan)?
    ) async throws -> CommittedPeoplePlan {
        try await write { db in
            if try db.value(as: Bool.self, "SELECT 1 FROM licenses WHERE license_id = ?", [license.licenseID]) == true {
                throw StoreError(.conflict, "license \(license.licenseID) is already installed")
            }
            try db.execute("UPDATE licenses SET in_force = 0 WHERE in_force = 1")
            try db.execute(
                """
                INSERT INTO licenses (license_id, licensee, kid, seats, seat_price_cents, currency, starts_at, expires_at,
                    term_starts_at, supersedes, file_text, installed_at, installed_by, in_force)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
                """,
                [
                    license.licenseID, license.licensee, license.kid, license.seats, license.seatPriceCents, license.currency,
                    UTC.format(license.startsAt), UTC.format(license.expiresAt), UTC.format(license.termStartsAt),
                    license.supersedes, license.fileText, UTC.format(license.installedAt, milliseconds: true), license.installedBy,
                ])
            if let record = proration {
                let p = record.proration
                try db.execute(
                    """
                    INSERT INTO prorations (license_id, supersedes, added_seats, effective_date, term_days, remaining_days,
                        seat_price_cents, amount_cents, currency, recorded_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                    [
                        record.licenseID, record.supersedes, p.addedSeats, UTC.formatDay(p.effectiveDate), p.termDays,
                        p.remainingDays, p.seatPriceCents, p.amountCents, p.currency, UTC.format(record.recordedAt, milliseconds: true),
                    ])
            }
            try SQLStore.appendAudit(db, audit, at: at)
            guard let rule else { return CommittedPeoplePlan(at: at) }
            return try SQLStore.apply(db, at: at) { try rule($0) }
        }
    }

    public func prorations() async throws -> [ProrationRecord] {
        try await read { db in
            try db.rows("SELECT * FROM prorations ORDER BY id").map { row in
                try ProrationRecord(
                    licenseID: row["license_id"], supersedes: row["supersedes"],
                    proration: Proration(
                        addedSeats: row["added_seats"], effectiveDate: row.day("effective_date"),
                        termDays: row["term_days"], remainingDays: row["remaining_days"], seatPriceCents: row["seat_price_cents"],
                        amountCents: row["amount_cents"], currency: row["currency"]),
                    recordedAt: row.time("recorded_at"))
            }
        }
    }

    static func license(_ row: SQLRow) throws -> StoredLicense {
        func time(_ column: String) throws -> Date { try row.time(column) }
        return try StoredLicense(
            licenseID: row["license_id"], licensee: row["licensee"], kid: row["kid"], seats: row["seats"],
            seatPriceCents: row["seat_price_cents"], currency: row["currency"], startsAt: time("starts_at"),
            expiresAt: time("expires_at"), termStartsAt: time("term_starts_at"), supersedes: row["supersedes"],
            fileText: row["file_text"], installedAt: time("installed_at"), installedBy: row["installed_by"])
    }
}

import Foundation
import GatehouseDomain
import GatehouseStorage

extension Gatehouse {
    /// The license in force, re-verified against today's configuration, and its state now.
    public func licenseStatus() async throws -> LicenseStatusReport {
        let t = now()
        // Read-only: the time is recorded by the server alone (`observeClock`), bounded, so a
        // command run under a clock set forward does not arm a lockout.
        let latest = try await latestSeenInEffect()
        let stored = try await store.licenseInForce()
        let verification = stored.map { LicenseVerifier.verify($0.fileText, trusted: trustedKeys, instanceHost: instanceHost) }
        let evaluation = LicenseEvaluator.evaluate(verification, now: t, latestSeen: latest)
        let active = try await store.activeSeatCount()
        var warnings = evaluation.warnings
        if let stored { warnings += SeatUsage.warnings(active: active, licensed: stored.seats) }
        return LicenseStatusReport(
            state: evaluation.state, license: stored, seatsActive: active, daysLeft: evaluation.daysLeft,
            graceEndsAt: evaluation.graceEndsAt, warnings: warnings, problems: verification?.problems ?? [])
    }

    /// Installs a license file: it must be genuine, within the rules and in its time window;
    /// an amendment must fit the license in force, and its prorated charge is recorded.
    /// Nothing is written unless everything holds.
    public func installLicense(text: String, actor: String) async throws -> LicenseInstallReport {
        let t = now()
        let verification = LicenseVerifier.verify(text, trusted: trustedKeys, instanceHost: instanceHost)
        guard let file = verification.file, let terms = verification.terms, verification.isValid else {
            throw GatehouseError.licenseRefused(verification.problems)
        }
        let evaluation = LicenseEvaluator.evaluate(verification, now: t, latestSeen: try await store.latestSeen())
        let current = try await store.licenseInForce()
        switch evaluation.state {
        case .clockTampered, .expired:
            throw GatehouseError(evaluation.state == .expired ? .licenseExpired : .licenseClockTampered, "license refused: " + evaluation.warnings.joined(separator: "; "))
        case .notYetValid where current != nil:
            throw GatehouseError(.licenseNotYetValid,
                "license refused: it starts on \(UTC.formatDay(terms.startsAt)); install it on or after that day (the license in force stays until then)")
        default: break
        }
        var termStart = terms.startsAt
        var proration: ProrationRecord?
        if let supersedes = terms.supersedes {
            guard let current else {
                throw GatehouseError.licenseRefused([LicenseProblem(.supersedesMismatch, "the license amends \"\(supersedes)\" but no license is in force")])
            }
            let currentTerms = LicenseVerifier.verify(current.fileText, trusted: trustedKeys, instanceHost: nil).terms
            guard let currentTerms else {
                throw GatehouseError(.licenseInvalid, "the license in force can no longer be read, so it cannot be amended")
            }
            let problems = Amendment.check(terms, amends: currentTerms, termStart: current.termStartsAt)
            guard problems.isEmpty else { throw GatehouseError.licenseRefused(problems) }
            termStart = current.termStartsAt
            do {
                let p = try Proration.compute(
                    addedSeats: terms.seats - current.seats, seatPriceCents: terms.seatPriceCents, currency: terms.currency,
                    termStart: termStart, effective: terms.startsAt, expires: terms.expiresAt)
                proration = ProrationRecord(licenseID: terms.licenseID, supersedes: supersedes, proration: p, recordedAt: t)
            } catch {
                throw GatehouseError.licenseRefused([LicenseProblem(error.code, error.description)])
            }
        }
        let record = StoredLicense(
            licenseID: terms.licenseID, licensee: terms.licensee, kid: file.kid, seats: terms.seats,
            seatPriceCents: terms.seatPriceCents, currency: terms.currency, startsAt: terms.startsAt, expiresAt: terms.expiresAt,
            termStartsAt: termStart, supersedes: terms.supersedes, fileText: file.armored, installedAt: t, installedBy: actor)
        var details: [String: JSONValue] = [
            "licensee": .string(terms.licensee), "seats": .int(terms.seats), "kid": .string(file.kid),
            "starts_at": .string(UTC.format(terms.startsAt)), "expires_at": .string(UTC.format(terms.expiresAt)),
            "supersedes": .optional(terms.supersedes), "replaced": .optional(current?.licenseID),
        ]
        if let proration { details["proration"] = QuoteReport(proration.proration, licenseID: terms.licenseID).json }
        // More seats: pending seat requests are granted, oldest first, up to the new limit, in
        // the transaction that installs the license.
        let grant = try await policyInEffect().seats.grant(licensed: terms.seats)
        var granting: (@Sendable (any PeopleFacts) throws -> PeoplePlan)?
        if let grant {
            granting = { (facts: any PeopleFacts) in try SeatRules.grantPending(grant: grant, actor: actor, facts: facts) }
        }
        do {
            _ = try await store.installLicense(
                record, proration: proration,
                audit: AuditDraft(actor: actor, action: "license.install", subject: terms.licenseID, details: .object(details)), at: t,
                then: granting)
        } catch let error as StoreError where error.code == .conflict {
            throw GatehouseError(.licenseAlreadyInstalled, "license \(terms.licenseID) is already installed")
        }
        // The license changes what memory holds: reload it (seats granted with it included).
        if live.isLoaded { try await refresh() }
        return LicenseInstallReport(status: try await licenseStatus(), proration: proration.map { QuoteReport($0.proration, licenseID: terms.licenseID) })
    }

    /// The prorated charge for adding seats to the license in force on a day (today by default).
    public func quote(add seats: Int64, on day: Date?) async throws -> QuoteReport {
        guard let current = try await store.licenseInForce() else {
            throw GatehouseError(.licenseMissing, "no license is in force: install one first")
        }
        do {
            let p = try Proration.compute(
                addedSeats: seats, seatPriceCents: current.seatPriceCents, currency: current.currency,
                termStart: current.termStartsAt, effective: day ?? now(), expires: current.expiresAt)
            return QuoteReport(p, licenseID: current.licenseID)
        } catch {
            throw GatehouseError(.license(error.code), error.description)
        }
    }
}

extension GatehouseError {
    /// A license refused for one or more reasons, all of them in the message.
    static func licenseRefused(_ problems: [LicenseProblem]) -> GatehouseError {
        let code: GatehouseError.Code = problems.count == 1 ? .license(problems[0].reason) : .own(.licenseInvalid)
        return GatehouseError(code, "license refused: " + problems.map(\.message).joined(separator: "; "))
    }
}
